"""The Nair & Abraham (2010) catalog from VizieR (J/ApJS/186/427/table2), through astroquery.

The raw table is saved as VizieR returns it (all columns, plus the J2000
positions that VizieR computes when asked), then mapped onto the catalog
schema by `raw_to_ttype_table`. The table has no RAJ2000/DEJ2000 columns: a
galaxy's position comes from the computed `_RAJ2000`/`_DEJ2000` and, where
those are absent, from its designation (`SDSS`, Jhhmmss.ss+ddmmss.ss); where
both exist they must agree within POSITION_TOLERANCE_ARCSEC.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ....io import write_table
from ...classes import UnknownLabelError, ttype_to_class

# VizieR's computed positions, asked for beside every column ("**"); astroquery labels them so.
COMPUTED_POSITIONS = ("_RAJ2000", "_DEJ2000")
# A designation truncates the position to 0.01 s of RA and 0.01" (or 0.1") of Dec: far inside this.
POSITION_TOLERANCE_ARCSEC = 1.0
log = logging.getLogger(__name__)
DESIGNATION = re.compile(r"^J(\d{2})(\d{2})(\d{2}(?:\.\d*)?)([+-])(\d{2})(\d{2})(\d{2}(?:\.\d*)?)$")


class NairAbrahamTableError(ValueError):
    """The VizieR table cannot be used: a missing column, an empty cell, a position that disagrees."""


def fetch_nair_abraham(target: os.PathLike, server: str, table: str) -> pd.DataFrame:
    """Download the whole table (every row, every column, the computed positions) and save it as Parquet."""
    from astroquery.vizier import Vizier

    vizier = Vizier(columns=["**", *COMPUTED_POSITIONS], row_limit=-1, vizier_server=server)
    result = vizier.get_catalogs(table)
    if len(result) == 0:
        raise RuntimeError(f"VizieR server {server} returned no table for {table}")
    raw = result[0].to_pandas()
    write_table(raw, target)
    log.info("vizier: table fetched (table=%s, rows=%d, columns=%s)", table, len(raw), list(raw.columns))
    return raw


def designation_position(designation: str) -> tuple[float, float]:
    """(ra, dec) in degrees of an SDSS designation such as J030105.58+004521.55."""
    match = DESIGNATION.match(designation.strip())
    if match is None:
        raise NairAbrahamTableError(f"galaxy {designation!r}: not a designation of the form Jhhmmss.ss+ddmmss.ss")
    hours, minutes, seconds, sign, degrees, arcmin, arcsec = match.groups()
    ra = 15 * (int(hours) + int(minutes) / 60 + float(seconds) / 3600)
    dec = int(degrees) + int(arcmin) / 60 + float(arcsec) / 3600
    return ra, -dec if sign == "-" else dec


def _separation_arcsec(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Great-circle separation (haversine) of two arrays of positions in degrees, in arcsec."""
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(x, dtype=float)) for x in (ra1, dec1, ra2, dec2))
    h = np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))) * 3600


def _whole_ttypes(values: pd.Series, empty_ttype: int | None, names: list, label: str) -> np.ndarray:
    """The T-types as int64, empty cells set to `empty_ttype`.

    A fraction or a value outside the scheme is an error.
    """
    numbers = pd.to_numeric(values, errors="coerce")
    bad_text = np.flatnonzero(numbers.isna().to_numpy() & values.notna().to_numpy())
    if len(bad_text):
        i = bad_text[0]
        raise NairAbrahamTableError(f"galaxy {names[i]}: {label} {values.iloc[i]!r} is not a number")
    numbers = numbers.fillna(empty_ttype).to_numpy(dtype=float)
    for i, value in enumerate(numbers):
        if value != np.round(value):
            raise NairAbrahamTableError(f"galaxy {names[i]}: {label} {value:g} is not a whole number")
        try:
            ttype_to_class(int(value))
        except UnknownLabelError:
            raise NairAbrahamTableError(
                f"galaxy {names[i]}: {label} {value:g} is outside the paper's T-type scheme (-5 elliptical, "
                "-3 ... 0 lenticular, 1 ... 9 spiral, 10 and 99 irregular+misc)") from None
    return numbers.astype(np.int64)


def raw_to_ttype_table(raw: pd.DataFrame, columns: Mapping[str, str], empty_ttype: int | None) -> pd.DataFrame:
    """The raw VizieR table as id, ra, dec, redshift, size_arcsec, ttype, one row per galaxy.

    The positions come from the `ra`/`dec` columns where the table has them, else from the designation in the
    `id` column; with both, every galaxy's two positions must agree within POSITION_TOLERANCE_ARCSEC. VizieR
    serves `TT` as a float and leaves it empty where the authors' own files have 99 (docs/data.md, "The catalog
    from VizieR").

    Args:
        raw: the table as `fetch_nair_abraham` saved it (VizieR's column labels).
        columns: ours -> VizieR's column names (config data.nair_abraham.columns).
        empty_ttype: the T-type an empty `TT` is read as (config data.nair_abraham.empty_ttype); None makes an
            empty one an error.

    Returns:
        id (str), ra and dec (float64, degrees J2000), redshift (float64, NaN where empty), size_arcsec
        (float64) and ttype (int64).

    Raises:
        NairAbrahamTableError: a missing column; an empty id or size (or T-type when `empty_ttype` is None); a
            T-type that is not a whole number or is outside the paper's scheme (classes.ttype_to_class); a
            position that disagrees with its designation. The message names the galaxy.
    """
    needed = {ours: theirs for ours, theirs in columns.items() if ours not in ("ra", "dec")}
    missing = {ours: theirs for ours, theirs in needed.items() if theirs not in raw.columns}
    if missing:
        raise NairAbrahamTableError(
            f"the Nair & Abraham table lacks column(s) {missing} (ours: theirs); it has {list(raw.columns)}. "
            "Set data.nair_abraham.columns to map them."
        )
    if empty_ttype is not None:
        try:
            ttype_to_class(empty_ttype)
        except UnknownLabelError:
            raise NairAbrahamTableError(f"data.nair_abraham.empty_ttype: {empty_ttype} is outside the paper's T-type "
                                        "scheme (-5, -3 ... 9, 10, 99); 99 reads an empty TT as the authors' 99") from None
    table = raw[list(needed.values())].rename(columns={theirs: ours for ours, theirs in needed.items()})
    for ours in table.columns:  # a cell of blanks, as a text export has it, is an empty cell
        if table[ours].dtype == object or pd.api.types.is_string_dtype(table[ours]):
            table[ours] = table[ours].astype("string").str.strip().replace("", pd.NA)
    names = [f"row {i}" if pd.isna(name) else name for i, name in enumerate(table["id"])]  # for messages
    for ours in ("id", "ttype", "size_arcsec"):
        empty = [names[i] for i in np.flatnonzero(table[ours].isna().to_numpy())]
        galaxies = f"{len(empty)} galax{'y has' if len(empty) == 1 else 'ies have'} an empty {columns[ours]}"
        if empty and ours == "ttype" and empty_ttype is not None:
            log.warning("nair_abraham: %s, read as T-type %s (data.nair_abraham.empty_ttype=%s, first=%s)",
                        galaxies, empty_ttype, empty_ttype, empty[:5])
            continue
        if empty:
            hint = " and data.nair_abraham.empty_ttype is null (99 reads it as the authors' 99)" if ours == "ttype" else ""
            raise NairAbrahamTableError(f"{galaxies} ({ours}){hint}, first: {empty[:5]}")
    table["ttype"] = _whole_ttypes(table["ttype"], empty_ttype, names, columns["ttype"])
    table["id"] = table["id"].astype(str)
    from_designation = np.array([designation_position(d) for d in table["id"]]).reshape(-1, 2)
    computed = [columns["ra"], columns["dec"]]
    if all(c in raw.columns for c in computed) and raw[computed].notna().all(axis=None):
        ra, dec = raw[computed[0]].to_numpy(dtype=float), raw[computed[1]].to_numpy(dtype=float)
        apart = _separation_arcsec(ra, dec, from_designation[:, 0], from_designation[:, 1])
        worst = int(np.argmax(apart)) if len(apart) else 0
        if len(apart) and apart[worst] > POSITION_TOLERANCE_ARCSEC:
            raise NairAbrahamTableError(
                f"galaxy {table['id'].iloc[worst]}: {computed} ({ra[worst]:.6f}, {dec[worst]:.6f}) and its designation "
                f"differ by {apart[worst]:.2f} arcsec (more than {POSITION_TOLERANCE_ARCSEC}); "
                f"{int((apart > POSITION_TOLERANCE_ARCSEC).sum())} galaxies disagree"
            )
    else:
        log.info("nair_abraham: positions from the designations (column=%s, missing=%s)", columns["id"], computed)
        ra, dec = from_designation[:, 0], from_designation[:, 1]
    table.insert(1, "ra", ra)
    table.insert(2, "dec", dec)
    return table[["id", "ra", "dec", "redshift", "size_arcsec", "ttype"]]
