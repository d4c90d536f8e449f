"""The labelled sample as one table: one row per galaxy, the same for every data kind.

Columns: id, ra, dec, redshift, size_arcsec, raw_label, class_index,
class_name, image_path. Row order is the order of the array store.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .classes import CLASS_NAMES, classes_from_map, classes_from_ttypes

CATALOG_COLUMNS = [
    "id",
    "ra",
    "dec",
    "redshift",
    "size_arcsec",
    "raw_label",
    "class_index",
    "class_name",
    "image_path",
]


class CatalogError(ValueError):
    """A catalog that cannot be used: missing column, missing image, wrong counts."""


def _require_columns(table: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise CatalogError(f"{source}: missing column(s) {missing}; it has {list(table.columns)}")


def catalog_from_ttypes(raw: pd.DataFrame, image_dir: os.PathLike, source: str = "raw catalog") -> pd.DataFrame:
    """Labelled catalog from a raw Nair & Abraham style table (mock or real).

    `raw` has id, ra, dec, redshift, size_arcsec and ttype; images are
    `<image_dir>/<id>.jpg`.
    """
    _require_columns(raw, ["id", "ra", "dec", "redshift", "size_arcsec", "ttype"], source)
    ids = raw["id"].astype(str).tolist()
    class_index = classes_from_ttypes(raw["ttype"].tolist(), ids=ids)
    return catalog_table(raw, raw["ttype"], class_index, [Path(image_dir) / f"{i}.jpg" for i in ids], CLASS_NAMES)


def catalog_from_folder(
    table_path: os.PathLike,
    class_map: Mapping[str, Sequence],
    class_names: Sequence[str],
    id_column: str,
    label_column: str,
    image_column: str | None,
    image_dir: os.PathLike | None,
    image_pattern: str,
) -> pd.DataFrame:
    """Labelled catalog of a user's own sample: a CSV or Parquet table of ids and labels.

    Image paths come from `image_column` (relative to the table's folder) or
    from `image_dir` and `image_pattern` (formatted with the row's id).
    """
    table_path = Path(table_path)
    if not table_path.exists():
        raise CatalogError(f"sample table {table_path} does not exist")
    table = pd.read_parquet(table_path) if table_path.suffix == ".parquet" else pd.read_csv(table_path)
    _require_columns(table, [id_column, label_column] + ([image_column] if image_column else []), str(table_path))
    ids = table[id_column].astype(str).tolist()
    class_index = classes_from_map(table[label_column].tolist(), class_map, class_names, ids=ids)
    if image_column:
        paths = [table_path.parent / p for p in table[image_column].astype(str)]
    elif image_dir is not None:
        paths = [Path(image_dir) / image_pattern.format(id=i) for i in ids]
    else:
        raise CatalogError(f"{table_path}: give either an image column or an image folder")
    raw = table.rename(columns={id_column: "id"})
    return catalog_table(raw, table[label_column], class_index, paths, class_names)


def _image_exists(path) -> bool:
    from .array_store import hdf5_reference

    reference = hdf5_reference(str(path))
    return Path(reference[0] if reference else path).is_file()


def catalog_table(raw, raw_label, class_index, paths, class_names) -> pd.DataFrame:
    """The workflow's catalog (one row per galaxy, the columns every data kind gives) from a kind's selected rows;
    an image file that is missing is an error naming the first ones."""
    missing = [str(p) for p in paths if not _image_exists(p)]
    if missing:
        raise CatalogError(f"{len(missing)} image file(s) missing, first: {missing[:5]}")
    n = len(raw)
    catalog = pd.DataFrame(
        {
            "id": raw["id"].astype(str).to_numpy(),
            "ra": raw["ra"].to_numpy(dtype=float) if "ra" in raw else np.full(n, np.nan),
            "dec": raw["dec"].to_numpy(dtype=float) if "dec" in raw else np.full(n, np.nan),
            "redshift": raw["redshift"].to_numpy(dtype=float) if "redshift" in raw else np.full(n, np.nan),
            "size_arcsec": raw["size_arcsec"].to_numpy(dtype=float) if "size_arcsec" in raw else np.full(n, np.nan),
            "raw_label": raw_label.astype(str).to_numpy(),
            "class_index": class_index,
            "class_name": [class_names[c] for c in class_index],
            "image_path": [str(p) for p in paths],
        }
    )
    duplicated = catalog["id"][catalog["id"].duplicated()].tolist()
    if duplicated:
        raise CatalogError(f"galaxy ids appear more than once: {duplicated[:5]}")
    return catalog


def class_count_table(catalog: pd.DataFrame, class_names: Sequence[str]) -> pd.Series:
    """Galaxies per class, every configured class listed (zero where absent)."""
    return catalog["class_name"].value_counts().reindex(list(class_names), fill_value=0)


def check_class_counts(catalog: pd.DataFrame, expected: Mapping[str, int]) -> None:
    """Fail, printing both tables, when the class counts differ from the expected ones."""
    found = class_count_table(catalog, list(expected))
    wanted = pd.Series(expected)
    if not found.equals(wanted.astype(found.dtype)):
        both = pd.DataFrame({"expected": wanted, "found": found})
        both.loc["total"] = both.sum()
        raise CatalogError(f"class counts differ from the expected ones:\n{both.to_string()}")


def sample_summary(catalog: pd.DataFrame, class_names: Sequence[str], manifest: pd.DataFrame | None = None) -> pd.DataFrame:
    """Galaxies per class in the sample, with the galaxies dropped for missing cutouts when downloaded."""
    counts = class_count_table(catalog, class_names)
    table = pd.DataFrame({"class_name": counts.index, "galaxies": counts.to_numpy()})
    table["percent"] = (100 * table["galaxies"] / max(len(catalog), 1)).round(2)
    rows = [table, pd.DataFrame({"class_name": ["total"], "galaxies": [len(catalog)], "percent": [100.0]})]
    if manifest is not None:
        missing = int((manifest["status"] != "ok").sum())
        rows.append(pd.DataFrame({"class_name": ["dropped: cutout missing"], "galaxies": [missing],
                                  "percent": [round(100 * missing / max(len(manifest), 1), 2)]}))
    return pd.concat(rows, ignore_index=True)
