"""A prediction set's catalog and array store, built as the study's are.

With data.catalog and data.array_store.

The set's table is read as a `folder` sample's (read_sample_table: text ids,
NFC names); its images go through the same decoding, resizing and no-data
screening as the study's, into an array store of the study's image_size.
An image of a pixel size or mode that none of the study's images has is
refused by name (predict.<set>.images.other_images).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..data.array_store import hdf5_reference, write_array_store
from ..data.catalog import CatalogError, nfc, on_disk, read_sample_table, spaced_id_note
from ..data.classes import UnknownLabelError, classes_from_map
from ..errors import BadData

log = logging.getLogger(__name__)

UNLABELLED = -1  # class_index of a galaxy of an unlabelled set


def set_catalog(name: str, images: Mapping, class_names: Sequence[str]) -> pd.DataFrame:
    """The set's catalog: id, raw_label, class_index, class_name (-1 and "" when unlabelled), image_path.

    Raises CatalogError naming the set and the file for a missing column or image, a duplicated id, or a label
    outside the class map. A column named `label` (or the study's label column) in an unlabelled set's table is
    ignored, and the log says so.
    """
    table_path = Path(images["table"])
    labelled = images["label_column"] is not None
    columns = {"id": images["id_column"], **({"label": images["label_column"]} if labelled else {}),
               **({"image": images["image_column"]} if images["image_column"] else {})}
    try:
        table, cells = read_sample_table(table_path, columns, images["encoding"],
                                         encoding_key=f"predict.{name}.images.encoding")
    except CatalogError as error:
        raise CatalogError(f"predict.{name}.images: {error}") from None
    ids = cells["id"]
    if labelled:
        try:
            class_index = classes_from_map(cells["label"], images["class_map"], list(class_names), ids=ids)
        except UnknownLabelError as error:
            raise UnknownLabelError(f"predict.{name}.images.label_column: {table_path}: {error}") from None
        raw = cells["label"]
        log.info("predict %s: labelled set (label_column=%s): its labels score the predictions (accuracy, "
                 "calibration) and are never shown to the network", name, images["label_column"])
    else:
        class_index, raw = np.full(len(ids), UNLABELLED), [""] * len(ids)
        present = [c for c in table.columns if str(c).lower() in ("label", "class", "class_name", "labels")]
        if present:
            log.warning("predict %s: column(s) %s of %s ignored (label_column is null: an unlabelled set); set "
                        "predict.%s.images.label_column to score the set with them", name, present, table_path, name)
    folder = Path(images["image_dir"]) if images["image_dir"] is not None else on_disk(table_path).parent
    names = cells["image"] if images["image_column"] else [nfc(images["image_pattern"]).format(id=i) for i in ids]
    listings: dict = {}
    paths = [str(on_disk(folder / n, listings)) for n in names]
    missing = [(i, p) for i, p in zip(ids, paths) if not Path(p).is_file()]
    if missing:
        raise CatalogError(f"predict.{name}.images: {len(missing)} image file(s) missing, first: galaxy "
                           f"{missing[0][0]} ({missing[0][1]})" + (f"; and {', '.join(i for i, _ in missing[1:5])}"
                                                                   if len(missing) > 1 else "")
                           + spaced_id_note([i for i, _ in missing]))
    catalog = pd.DataFrame({"id": ids, "raw_label": raw, "class_index": np.asarray(class_index, dtype=np.int64),
                            "class_name": [class_names[c] if c >= 0 else "" for c in class_index],
                            "image_path": paths})
    duplicated = catalog["id"][catalog["id"].duplicated()].unique().tolist()
    if duplicated:
        raise CatalogError(f"predict.{name}.images: galaxy ids appear more than once in {table_path}: {duplicated[:5]}")
    return catalog


def image_format(path: str) -> tuple[int, int, str]:
    """(width, height, PIL mode) of an image file, read from its header; an HDF5 member's mode is `hdf5`."""
    if hdf5_reference(path):
        return (0, 0, "hdf5")
    with Image.open(path) as image:
        return (image.width, image.height, image.mode)


def _formats_text(formats: set[tuple[int, int, str]]) -> str:
    """The study's image formats in words: each when few, else their count and range."""
    if len(formats) <= 3:
        return "the study's: " + ", ".join(f"{w}x{h} {m}" for w, h, m in sorted(formats))
    sizes = sorted({(w, h) for w, h, _ in formats}, key=lambda size: (size[0] * size[1], size))
    modes = "/".join(sorted({m for _, _, m in formats}))
    return (f"the study's {len(formats)} formats, {sizes[0][0]}x{sizes[0][1]} to {sizes[-1][0]}x{sizes[-1][1]} "
            f"{modes}")


def _preparation_text(size: int, crop: int | None, square: str) -> str:
    """How the array store prepares any image with the study's settings (array_store._resized), in words."""
    shape = (f"its central {crop}x{crop} of its own pixels taken (image_crop; a larger image then shows less sky)"
             if crop is not None else
             "made square when it is not (non_square_images: "
             + ("padded with black" if square == "pad" else "its central square") + ")")
    return f"converted to RGB, {shape} and resized to {size}x{size} (image_size)"


def check_formats(name: str, catalog: pd.DataFrame, study_paths: Sequence[str], on_other: str,
                  size: int, crop: int | None = None, square: str = "pad") -> None:
    """Refuse (on_other "error") or warn about galaxies whose image size or mode none of the study's has.

    The study's formats are read from the headers of its images (for an HDF5 sample, its store's shape is the
    only size known, and the check is skipped). `size`, `crop` and `square` are the study's image_size,
    image_crop and non_square_images, which the message says are applied to such images under `warn`. Raises
    BadData naming the set, the galaxy, its file and both formats.
    """
    study = {image_format(p) for p in study_paths}
    if any(mode == "hdf5" for _, _, mode in study):
        log.info("predict %s: the study's images are inside an HDF5 file; sizes and modes not compared", name)
        return
    strangers = []
    for galaxy, path in zip(catalog["id"], catalog["image_path"]):
        found = image_format(path)
        if found not in study:
            strangers.append((galaxy, path, found))
    if not strangers:
        return
    galaxy, path, (w, h, mode) = strangers[0]
    message = (f"predict.{name}.images: {len(strangers)} image(s) of a size or mode none of the study's images has, "
               f"first galaxy {galaxy} ({path}: {w}x{h} {mode}; {_formats_text(study)}); the network may see "
               "galaxies at another scale or colour than it learnt")
    preparation = _preparation_text(size, crop, square)
    if on_other == "error":
        raise BadData(message + f". Cut them as the study's were, or set predict.{name}.images.other_images: warn "
                      f"to predict them as the study's own images are prepared: each {preparation}")
    log.warning("%s (other_images: warn: each %s, as the study's own images)", message, preparation)


def build_set_store(name: str, params: Mapping, listed: pd.DataFrame, study_catalog: os.PathLike,
                    catalog_path: os.PathLike, store_path: os.PathLike, checks_path: os.PathLike,
                    threads: int = 1) -> pd.DataFrame:
    """Write a set's catalog, array store and image checks with the study's store settings.

    Returns the catalog.

    `params` is predict.sets.store_params, `listed` the set's catalog (set_catalog). The catalog written holds
    the galaxies the store kept, row i being store row i.
    """
    from ..io import write_table

    images = params["images"]
    check_formats(name, listed, pd.read_parquet(study_catalog, columns=["image_path"])["image_path"].tolist(),
                  images["other_images"], params["size"], params["crop"], params["square"])
    checks = write_array_store(listed["image_path"].tolist(), store_path, params["size"], threads, params["crop"],
                               square=params["square"], duplicates="warn", screen=params["screen"],
                               ids=listed["id"].tolist())
    kept = (checks["dropped"] == "").to_numpy()
    catalog = listed[kept].reset_index(drop=True)
    write_table(checks, checks_path)
    write_table(catalog, catalog_path)
    log.info("predict %s: stored (galaxies=%d, dropped=%d, labelled=%s)", name, len(catalog), int((~kept).sum()),
             images["label_column"] is not None)
    return catalog
