"""The Nair & Abraham (2010) catalog from VizieR (J/ApJS/186/427), through astroquery.

The raw table is saved as VizieR returns it (all columns), then mapped onto
the catalog schema by `raw_to_ttype_table`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd

from .io import write_table


def fetch_nair_abraham(target: os.PathLike, server: str, table: str) -> pd.DataFrame:
    """Download the whole table (every row, every column) and save it as Parquet."""
    from astroquery.vizier import Vizier

    vizier = Vizier(columns=["**"], row_limit=-1, vizier_server=server)
    result = vizier.get_catalogs(table)
    if len(result) == 0:
        raise RuntimeError(f"VizieR server {server} returned no table for {table}")
    raw = result[0].to_pandas()
    write_table(raw, target)
    print(f"{table}: {len(raw)} rows, columns {list(raw.columns)}", flush=True)
    return raw


def raw_to_ttype_table(raw: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """The raw VizieR table renamed to id, ra, dec, redshift, size_arcsec, ttype.

    `columns` maps ours to VizieR's (config: data.nair_abraham.columns, defaults in the schema).
    """
    missing = {ours: theirs for ours, theirs in columns.items() if theirs not in raw.columns}
    if missing:
        raise KeyError(
            f"the Nair & Abraham table lacks column(s) {missing} (ours: theirs); it has {list(raw.columns)}. "
            "Set data.nair_abraham.columns to map them."
        )
    table = raw[list(columns.values())].rename(columns={theirs: ours for ours, theirs in columns.items()})
    table["id"] = table["id"].astype(str).str.strip()
    return table
