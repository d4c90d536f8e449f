"""Writes nair_abraham_table2_sample.vot: 14 rows shaped like VizieR's J/ApJS/186/427/table2 as astroquery gets it.

What is known, from VizieR's own export of the table (62 column labels, 80 real rows read; see the Nair & Abraham
study page of the docs): the column labels and their order; `SDSS` designations of the form Jhhmmss.ss+ddmmss.ss;
the T-type in `TT`, served as a float (-2.0), and EMPTY where the authors' files have 99 (4 of the 80 rows, none
with 99 or 10); `Tt` a different column (RC3); the redshift in `zs`; the Petrosian radius in `Rp` (arcsec); no
RAJ2000/DEJ2000 columns; computed positions within 0.02 arcsec of the designations.

Real rows: the last two, J084900.23+461503.37 and J132109.07+590605.59, are galaxies of the real table with
`TT`, `Tt` and `RC3` empty and `Int` 16, as VizieR serves them; their positions are their designations'.
The values of their other columns are not known here and are filled like the rest.

Invented, and said so: the first 12 designations and their T-types, redshifts and radii (chosen to cover every
class, negative declinations, an empty redshift, TT 10, an empty TT, a `Tt` that differs from `TT`); the values
of the columns the workflow does not read; the labels of the two computed positions, `_RAJ2000`/`_DEJ2000`
(what astroquery gives when asked for them; a VizieR export labels them `_RA`/`_DE`).

    .venv/bin/python tests/data/make_nair_abraham_fixture.py
"""

from pathlib import Path

import numpy as np
from astropy.table import MaskedColumn, Table

COLUMNS = (
    "recno SDSS zs q_zs g'mag r'mag g'MAG logLg' Rp Rp50 Rp90 spID log(M) Age g'-r' SFRT SFRM mug muM M/L Area "
    "b/a Seeing NYU-ID ng nr chi2g chi2r R50n R90n sigma e_sigma V/Vmax AGN1 AGN2 GrID Ngr BiG LiG log(Lgr) "
    "log(Mgr) log(Mh1) log(Mh2) rhoNYU <rho> rho4 rho5 TT Bar Ring f_Ring Lens TTq Pair f_Pair Int Nt RC3 Tt "
    "SimbadName _RAJ2000 _DEJ2000"
).split()
TEXT = {"SDSS", "spID", "f_Ring", "f_Pair", "RC3", "SimbadName"}
INTEGER = {"recno", "q_zs", "NYU-ID", "AGN1", "AGN2", "GrID", "Ngr", "BiG", "LiG", "Bar", "Ring", "Lens",
           "TTq", "Pair", "Int", "Nt", "Tt"}

# designation, T-type (None: the cell is empty, as VizieR serves the authors' 99), redshift (None: empty),
# Petrosian radius (arcsec)
GALAXIES = [
    ("J000011.47+155502.20", -5, 0.044, 9.71),
    ("J000020.84-001009.52", -3, 0.071, 4.12),
    ("J000022.42+003400.13", -2, 0.080, 6.30),
    ("J000024.15+143513.00", 0, 0.035, 11.55),
    ("J000035.97-010917.60", 1, None, 7.02),
    ("J000041.54+000300.90", 4, 0.060, 5.55),
    ("J000048.26-102946.90", 9, 0.032, 13.80),
    ("J000058.69+152437.80", 10, 0.051, 8.40),
    ("J000103.20-003217.10", None, 0.066, 5.10),
    ("J000110.52+142846.40", -5, 0.029, 15.20),
    ("J000117.11-095628.30", 7, 0.074, 4.80),
    ("J000125.75+002358.90", -3, 0.058, 6.75),
]
# Real galaxies of the table with an empty TT (radius and redshift not known here: invented)
REAL_EMPTY_TTYPE = ["J084900.23+461503.37", "J132109.07+590605.59"]
GALAXIES += [(name, None, 0.045, 7.5) for name in REAL_EMPTY_TTYPE]


def position(designation: str) -> tuple[float, float]:
    """The J2000 position (degrees) that a designation truncates; the fixture's computed columns."""
    ra = int(designation[1:3]) * 15 + int(designation[3:5]) / 4 + float(designation[5:10]) / 240
    sign = -1 if designation[10] == "-" else 1
    dec = sign * (int(designation[11:13]) + int(designation[13:15]) / 60 + float(designation[15:]) / 3600)
    return ra + 0.004 / 3600, dec + sign * 0.003 / 3600  # a few mas beyond the truncated digits


def main(target: Path) -> None:
    rng = np.random.default_rng(186427)
    n = len(GALAXIES)
    table = Table()
    for name in COLUMNS:
        if name in TEXT:
            values, mask = [f"{name}{i}" for i in range(n)], [False] * n
        elif name in INTEGER:
            values, mask = list(rng.integers(0, 3, n)), [False] * n
        else:
            values, mask = list(np.round(rng.normal(1.0, 0.3, n), 3)), [False] * n
        table[name] = MaskedColumn(values, mask=mask)
    designations = [g[0] for g in GALAXIES]
    table["recno"] = MaskedColumn(np.arange(1, n + 1))
    table["SDSS"] = MaskedColumn(designations)
    table["spID"] = MaskedColumn([f"{51700 + i}-{300 + i}-{100 + 7 * i:03d}" for i in range(n)])
    table["zs"] = MaskedColumn([g[2] or 0.0 for g in GALAXIES], mask=[g[2] is None for g in GALAXIES], dtype=float)
    table["g'mag"] = MaskedColumn(np.round(rng.uniform(14.5, 16.0, n), 2))
    table["r'mag"] = MaskedColumn(np.round(table["g'mag"] - rng.uniform(0.4, 0.9, n), 2))
    table["Rp"] = MaskedColumn([g[3] for g in GALAXIES], dtype=float)
    table["Rp50"] = MaskedColumn(np.round(table["Rp"] * 0.45, 2))
    table["Rp90"] = MaskedColumn(np.round(table["Rp"] * 0.95, 2))
    empty_ttype = [g[1] is None for g in GALAXIES]
    table["TT"] = MaskedColumn([float(g[1] or 0) for g in GALAXIES], dtype=float, mask=empty_ttype)  # -2.0, as served
    table["Tt"] = MaskedColumn([g[1] if g[1] is not None else 9 for g in GALAXIES], dtype=np.int16,
                               mask=[i % 4 == 1 or empty for i, empty in enumerate(empty_ttype)])  # RC3: not TT
    table["RC3"] = MaskedColumn([f"RC3{i}" for i in range(n)], mask=empty_ttype)
    table["Int"] = MaskedColumn([16 if g[0] in REAL_EMPTY_TTYPE else 0 for g in GALAXIES])
    table["Bar"] = MaskedColumn(rng.integers(0, 2, n), mask=[i % 3 == 0 for i in range(n)])
    table["f_Ring"] = MaskedColumn([""] * n, mask=[True] * n)
    table["SimbadName"] = MaskedColumn([f"SDSS {d}" for d in designations], mask=[i % 5 == 2 for i in range(n)])
    positions = [position(d) for d in designations]
    table["_RAJ2000"] = MaskedColumn([round(p[0], 7) for p in positions], unit="deg")
    table["_DEJ2000"] = MaskedColumn([round(p[1], 7) for p in positions], unit="deg")
    table.meta["name"] = "J/ApJS/186/427/table2"
    table = table[COLUMNS]
    table.write(target, format="votable", overwrite=True)
    print(f"wrote {target}: {len(table)} rows, {len(table.columns)} columns")  # noqa: T201 (run by hand: its output)


if __name__ == "__main__":
    main(Path(__file__).with_name("nair_abraham_table2_sample.vot"))
