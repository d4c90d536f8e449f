"""The labelled sample as one table: one row per galaxy, the same for every data kind.

Columns: id, ra, dec, redshift, size_arcsec, raw_label, class_index,
class_name, image_path. Row order is the order of the array store.
"""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import BadData
from .classes import CLASS_NAMES, UnknownLabelError, classes_from_map, classes_from_ttypes

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


class CatalogError(BadData):
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


def nfc(text: str) -> str:
    """`text` in Unicode normal form NFC.

    NFC is how editors and tables write accents; a Mac's file names are NFD.
    """
    return unicodedata.normalize("NFC", text)


def _cell_text(value) -> str:
    """A table cell as text in NFC.

    A str as it is, bytes decoded as UTF-8 (as astropy writes them), a missing value as "".
    """
    if isinstance(value, bytes | np.bytes_):
        return nfc(bytes(value).decode("utf-8"))
    if value is None or value is pd.NA or (isinstance(value, float | np.floating) and np.isnan(value)):
        return ""
    return nfc(str(value))


def on_disk(path: os.PathLike, listings: dict | None = None) -> Path:
    """`path` as the file system spells it.

    Each part that does not exist as written is matched, after Unicode normalisation (NFC), with a name in its
    folder (a file named on a Mac, NFD, is found from its NFC name).

    `listings` caches folder listings between calls. A path with no such match, or with two, comes back as
    written (the caller reports it missing).
    """
    path = Path(path)
    if path.exists():
        return path
    listings = {} if listings is None else listings
    parts = path.parts[1:] if path.is_absolute() else path.parts
    found = Path(path.anchor) if path.is_absolute() else Path()
    for part in parts:
        if not (found / part).exists() and found.is_dir():
            if found not in listings:
                names: dict[str, list[str]] = {}
                for name in os.listdir(found):
                    names.setdefault(nfc(name), []).append(name)
                listings[found] = names
            matches = listings[found].get(nfc(part), [])
            if len(matches) != 1:
                return path
            part = matches[0]
        found = found / part
    return found if found.exists() else path


# What a table file may be, by its first bytes: told apart so that a wrong name gets a message, not a traceback.
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


def _read_text_table(table_path: Path, encoding: str, separator: str | None,
                     encoding_key: str = "data.folder.encoding") -> pd.DataFrame:
    """A CSV or tab-separated table, every cell as the text written, decoded with `encoding`.

    A CSV or tab-separated table, every cell as the text written, decoded with `encoding` (CatalogError naming the
    line, the byte and the config key `encoding_key` where it is not); `separator` None: comma or semicolon, as the
    header row has them.
    """
    data = table_path.read_bytes()
    if data.startswith(_ZIP) or data.startswith(_OLE):
        raise CatalogError(f"{table_path}: is an Excel workbook ({'xlsx, a zip' if data.startswith(_ZIP) else 'xls'}), "
                           f"not a text table: name it .xlsx (read as a workbook), or save it as 'CSV UTF-8'")
    try:
        text = data.decode("utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CatalogError(f"{table_path}: line {line} is not {encoding} (byte 0x{data[error.start]:02x} at byte "
                           f"{error.start} of the file): save the table as 'CSV UTF-8', or set {encoding_key} "
                           f"to the encoding it was saved in (Excel on Windows: cp1252)") from None
    if separator is None:
        header = text.split("\n", 1)[0]
        separator = ";" if header.count(";") > header.count(",") else ","
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False, sep=separator)


def read_table_file(table_path: os.PathLike, encoding: str = "utf-8",
                    encoding_key: str = "data.folder.encoding") -> pd.DataFrame:
    """A sample table as people keep them.

    Parquet, an Excel workbook (.xlsx, its first sheet), tab-separated (.tsv, .tab) or CSV (any other name; comma-
    or semicolon-separated), text in `encoding`. Cells of text tables and workbooks come back as the text written
    (no number parsing, no NA guessing); column names in NFC.

    Raises CatalogError naming the file: a missing file, an old .xls or .ods workbook, a workbook named as a CSV,
    or a line that is not in `encoding` (naming the line, the byte and `encoding_key`, the config key to set).
    """
    table_path = on_disk(table_path)
    if not table_path.exists():
        raise CatalogError(f"sample table {table_path} does not exist")
    suffix = table_path.suffix.lower()
    if suffix == ".parquet":
        table = pd.read_parquet(table_path)
    elif suffix in (".xlsx", ".xlsm"):
        try:
            table = pd.read_excel(table_path, sheet_name=0, dtype=str, keep_default_na=False, na_filter=False,
                                  engine="openpyxl")
        except (ValueError, OSError, KeyError) as error:
            raise CatalogError(f"{table_path}: cannot read it as an Excel workbook ({error}); save it as .xlsx, "
                               f"'CSV UTF-8' or Parquet") from None
    elif suffix in (".xls", ".ods", ".numbers"):
        raise CatalogError(f"{table_path}: {suffix} workbooks are not read; save it as .xlsx, 'CSV UTF-8' or Parquet")
    else:
        table = _read_text_table(table_path, encoding, "\t" if suffix in (".tsv", ".tab") else None, encoding_key)
    table.columns = [_cell_text(c) for c in table.columns]
    return table


def _text_column(table: pd.DataFrame, column: str, what: str, table_path: Path) -> list[str]:
    """A column's cells as text, exactly as written; an empty cell is a CatalogError naming its row.

    A floating-point id column is refused: a float cannot hold an 18-digit SDSS
    objid whole (it keeps about 16 digits).
    """
    values = table[column]
    texts = [_cell_text(value) for value in values]
    for i, text in enumerate(texts):  # first: an integer column with an empty cell reads as floats
        if not text.strip():
            where = f"data row {i + 1} (line {i + 2})" if table_path.suffix != ".parquet" else f"row {i} (from 0)"
            raise CatalogError(f"{table_path}: {where} has an empty {what} cell (column {column!r})")
    if what == "id" and pd.api.types.is_float_dtype(values.dtype):
        raise CatalogError(f"{table_path}: id column {column!r} holds floating-point numbers ({values.dtype}), which "
                           f"cannot keep long ids whole; store the ids as text or integers")
    return texts


def read_sample_table(table_path: os.PathLike, columns: Mapping[str, str], encoding: str = "utf-8",
                      encoding_key: str = "data.folder.encoding") -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """A user's sample table and its named columns, each as a list of text cells in NFC.

    A user's sample table (read_table_file: CSV, tab-separated, Excel or Parquet), and its named columns each as a
    list of text cells in NFC.

    `columns` maps a role (id, label, image) to the table's column name. Cells
    are read as text exactly as written: `000001` stays `000001`, an 18-digit
    id stays whole, bytes (as astropy writes string columns to Parquet) are
    decoded as UTF-8, and an integer Parquet column gives its digits. The
    table itself comes back as read (a CSV's cells all strings).
    Raises CatalogError naming the file and the row for a missing table or
    column, a floating-point id column or an empty (or blank) cell; a text table not in `encoding` names
    `encoding_key`, the config key that sets it.
    """
    table_path = Path(table_path)
    table = read_table_file(table_path, encoding, encoding_key)
    columns = {role: nfc(column) for role, column in columns.items()}
    _require_columns(table, list(columns.values()), str(table_path))
    return table, {role: _text_column(table, column, role, table_path) for role, column in columns.items()}


def catalog_from_folder(
    table_path: os.PathLike,
    class_map: Mapping[str, Sequence],
    class_names: Sequence[str],
    id_column: str,
    label_column: str,
    image_column: str | None,
    image_dir: os.PathLike | None,
    image_pattern: str,
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Labelled catalog of a user's own sample: a table of ids and labels (read_table_file).

    Args:
        table_path: the sample table (CSV, tab-separated, Excel or Parquet).
        class_map: {class name: the labels of the table that belong to it}.
        class_names: the study's classes, in order.
        id_column: the table's column of galaxy ids.
        label_column: the table's column of labels.
        image_column: a column of image paths, or None to build them from `image_pattern`.
        image_dir: the folder image paths are relative to; None: the table's folder.
        image_pattern: an image's file name, `{id}` standing for the row's id.
        encoding: the text table's encoding.

    Ids and labels are text as written (read_sample_table). Each image path is
    the row's `image_column` cell, or `image_pattern` formatted with the row's
    id (`{id}` only: datakinds.folder.check refuses anything else), taken
    relative to `image_dir`, or to the table's folder when `image_dir` is None
    (an absolute path in `image_column` stays as it is). Ids, labels and file
    names are compared after Unicode normalisation (NFC; on_disk finds a file
    whose name the file system spells in NFD). Returns the catalog
    (CATALOG_COLUMNS); raises CatalogError (empty cell, missing image, ...) or
    UnknownLabelError (a label outside the class map), naming the file and row.
    """
    table_path = Path(table_path)
    columns = {"id": id_column, "label": label_column, **({"image": image_column} if image_column else {})}
    table, cells = read_sample_table(table_path, columns, encoding)
    ids, labels = cells["id"], cells["label"]
    try:
        class_index = classes_from_map(labels, class_map, class_names, ids=ids)
    except UnknownLabelError as error:
        raise UnknownLabelError(f"{table_path}: {error}") from None
    folder = Path(image_dir) if image_dir is not None else on_disk(table_path).parent
    names = cells["image"] if image_column else [nfc(image_pattern).format(id=i) for i in ids]
    listings: dict = {}
    paths = [on_disk(folder / name, listings) for name in names]
    raw = pd.DataFrame({"id": ids})
    for column in ("ra", "dec", "redshift", "size_arcsec"):  # optional numeric columns, used when present
        if column in table.columns:
            try:
                raw[column] = pd.to_numeric(table[column].replace("", np.nan)).to_numpy(dtype=float)
            except (ValueError, TypeError) as error:
                raise CatalogError(f"{table_path}: column {column!r} is not numeric ({error})") from None
    return catalog_table(raw, pd.Series(labels), class_index, paths, class_names)


def _image_exists(path) -> bool:
    from .array_store import hdf5_reference

    reference = hdf5_reference(str(path))
    return Path(reference[0] if reference else path).is_file()


def spaced_id_note(ids: Sequence[str]) -> str:
    """"; id '587 ' has a trailing space ..." for the first id with a space around it, else "".

    Ids are kept exactly as written (never stripped), so a space a spreadsheet left around an id makes its file
    name unfindable; this says why, for a missing-image message.
    """
    for galaxy in ids:
        galaxy = str(galaxy)
        where = [side for side, spaced in (("leading", galaxy != galaxy.lstrip()),
                                           ("trailing", galaxy != galaxy.rstrip())) if spaced]
        if where:
            return (f"; id {galaxy!r} has a {' and a '.join(where)} space (ids are read exactly as written): "
                    "remove the spaces around the ids in the table")
    return ""


def catalog_table(raw: pd.DataFrame, raw_label: pd.Series, class_index: Sequence[int], paths: Sequence[os.PathLike | str],
                  class_names: Sequence[str]) -> pd.DataFrame:
    """The workflow's catalog (one row per galaxy, the columns every kind gives) from a kind's rows.

    Args:
        raw: the kind's selected rows; `id` is required, `ra`, `dec`, `redshift` and `size_arcsec` are taken
            where present (NaN otherwise).
        raw_label: each row's label as the source writes it (kept as text in `raw_label`).
        class_index: each row's class, an index into `class_names`.
        paths: each row's image file (or `<file>#<dataset>/<row>` inside an HDF5 file).
        class_names: the study's classes, in order.

    Returns:
        The catalog, columns CATALOG_COLUMNS, in the rows' order.

    Raises:
        CatalogError: an image file is missing (naming the first ones) or an id appears twice (naming the rows).
    """
    absent = [i for i, p in enumerate(paths) if not _image_exists(p)]
    if absent:
        missing = [str(paths[i]) for i in absent]
        raise CatalogError(f"{len(missing)} image file(s) missing, first: {missing[:5]}"
                           + spaced_id_note([raw["id"].iloc[i] for i in absent]))
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
        rows = [int(i) for i in np.flatnonzero(catalog["id"].isin(duplicated).to_numpy())]
        raise CatalogError(f"galaxy ids appear more than once: {duplicated[:5]} (catalog rows from 0: {rows[:10]})")
    return catalog


def stored_catalog(listed: pd.DataFrame, image_checks: pd.DataFrame) -> pd.DataFrame:
    """The catalog of the rows the array store kept (image_checks' `dropped` empty), in store order.

    What the splits, the training jobs and the tables read, row i being the store's row i.
    """
    if image_checks["id"].tolist() != listed["id"].astype(str).tolist():
        raise CatalogError("the array store's image checks do not list the catalog's galaxies in its order")
    kept = (image_checks["dropped"] == "").to_numpy()
    emptied = [name for name in listed["class_name"].unique() if not (kept & (listed["class_name"] == name).to_numpy()).any()]
    if emptied:
        reasons = image_checks.loc[listed["class_name"].isin(emptied).to_numpy(), "dropped"].value_counts()
        raise CatalogError(f"class {', '.join(map(repr, emptied))}: every one of its galaxies was dropped by the array "
                           f"store ({', '.join(f'{n} {why}' for why, n in reasons.items())}), so no run could learn or "
                           "test it; look at image_checks.parquet, fix or replace those images, or remove the class")
    return listed[kept].reset_index(drop=True)


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


def sample_summary(catalog: pd.DataFrame, class_names: Sequence[str], image_checks: pd.DataFrame | None = None,
                   manifest: pd.DataFrame | None = None) -> pd.DataFrame:
    """Galaxies per class in the sample, and what the downloads and the array store's checks left out.

    Galaxies per class in the sample, with the galaxies dropped for missing cutouts when downloaded, and what the
    array store's checks (`image_checks`, array_store.image_checks) found: images identical to another galaxy's and
    images with no data, kept or dropped (per cent of the galaxies listed before the checks), transparent images
    composited onto black and non-square images made square (among those kept).
    """
    counts = class_count_table(catalog, class_names)
    table = pd.DataFrame({"class_name": counts.index, "galaxies": counts.to_numpy()})
    table["percent"] = (100 * table["galaxies"] / max(len(catalog), 1)).round(2)
    rows = [table, pd.DataFrame({"class_name": ["total"], "galaxies": [len(catalog)], "percent": [100.0]})]
    if image_checks is not None:
        kept = image_checks["dropped"] == ""
        found = {"identical image of another galaxy, kept": int(((image_checks["copy_of"] != "") & kept).sum()),
                 "dropped: identical image of another galaxy":
                     int((image_checks["dropped"] == "identical image of another galaxy").sum()),
                 "no data (blank, or none in the centre), kept": int(((image_checks["no_data"] != "") & kept).sum()),
                 "dropped: no data": int((image_checks["dropped"] == "no data").sum()),
                 "transparent: composited onto black": int(((image_checks["transparent_pixels"] > 0) & kept).sum()),
                 "non-square: made square": int(((image_checks["squared"] != "") & kept).sum())}
        rows.append(pd.DataFrame({"class_name": list(found), "galaxies": list(found.values()),
                                  "percent": [round(100 * n / max(len(image_checks), 1), 2) for n in found.values()]}))
    if manifest is not None:
        missing = int((manifest["status"] != "ok").sum())
        rows.append(pd.DataFrame({"class_name": ["dropped: cutout missing"], "galaxies": [missing],
                                  "percent": [round(100 * missing / max(len(manifest), 1), 2)]}))
    return pd.concat(rows, ignore_index=True)
