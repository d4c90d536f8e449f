"""`nair_abraham`: the paper's sample, VizieR J/ApJS/186/427/table2 plus SDSS cutouts.

vizier.py reads the table; sdss.py fetches the cutouts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ...classes import CLASS_NAMES

FIXED_CLASSES = CLASS_NAMES  # the paper's four classes (data/classes.py maps TType onto them)
RAW_TABLE = "resources/nair_abraham/table2.parquet"
CUTOUT_DIR = "resources/sdss/cutouts"

log = logging.getLogger(__name__)


def manifest(results: str) -> str:
    return f"{results}/download_manifest.parquet"


def check(config: Mapping) -> None:
    pass  # everything about this block is in the schema


def catalog_inputs(config: Mapping, results: str) -> dict[str, str]:
    return {"raw": RAW_TABLE, "manifest": manifest(results)}


def summary_inputs(config: Mapping, results: str) -> dict[str, str]:
    return {"manifest": manifest(results)}


def build_catalog(settings: Mapping, class_names: list[str], inputs: Mapping[str, str]):
    """Check the class counts of the whole VizieR table, then drop (and count) galaxies without a cutout."""
    import pandas as pd

    from ...catalog import catalog_from_ttypes, check_class_counts
    from ...classes import classes_from_ttypes
    from .vizier import raw_to_ttype_table

    raw = raw_to_ttype_table(pd.read_parquet(inputs["raw"]), settings["columns"], settings["empty_ttype"])
    if settings["expected_class_counts"]:
        labels = classes_from_ttypes(raw["ttype"].tolist(), ids=raw["id"].tolist())
        check_class_counts(pd.DataFrame({"class_name": [class_names[c] for c in labels]}),
                           settings["expected_class_counts"])
    downloads = pd.read_parquet(inputs["manifest"])
    ok = set(downloads.loc[downloads["status"] == "ok", "id"].astype(str))
    kept = raw[raw["id"].isin(ok)]
    log.info("catalog: galaxies read (galaxies=%d, dropped_missing_cutouts=%d, manifest=%s)",
             len(raw), len(raw) - len(kept), inputs["manifest"])
    return catalog_from_ttypes(kept.reset_index(drop=True), CUTOUT_DIR, source=inputs["raw"])
