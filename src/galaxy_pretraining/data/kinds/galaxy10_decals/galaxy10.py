"""Galaxy10 DECaLS (Leung & Bovy; the sample of Fu's study): one HDF5 file, 17,736 galaxies of ten classes.

The file (`Galaxy10_DECals.h5`, 2.54 GB on Zenodo) holds the datasets
`images` (N x 256 x 256 x 3), `ans` (class 0-9), `ra`, `dec`, `redshift`
and `pxscale` (arcsec per pixel). The catalog is built from those
datasets; the images go into the array store straight from the file, a
chunk of rows at a time (data/array_store.py), never all 3.5 GB at once. A
catalog row's image_path is `<file>#images/<row>`.

`write_mock_galaxy10` writes a small file of the same layout with rendered
galaxies of the ten classes (data/synthetic.py), for the tests and an offline demo.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from tqdm import tqdm

from ....io import atomic_path
from ...catalog import CatalogError, catalog_table
from ...synthetic import class_counts, observe, render_mock_galaxy

# Class 0-9 of `ans`, in order; the names used in file names, tables and figure legends.
CLASS_NAMES = (
    "disturbed",
    "merging",
    "round_smooth",
    "in_between_round_smooth",
    "cigar_shaped_smooth",
    "barred_spiral",
    "unbarred_tight_spiral",
    "unbarred_loose_spiral",
    "edge_on_without_bulge",
    "edge_on_with_bulge",
)
# The real file's class counts (Galaxy10 DECaLS on Zenodo, record 10845026): 17,736 galaxies.
CLASS_COUNTS = (1081, 1853, 2645, 2027, 334, 2043, 1829, 2628, 1423, 1873)
DATASETS = ("images", "ans", "ra", "dec", "redshift", "pxscale")
IMAGE_DATASET = "images"


def _read_datasets(h5_path: os.PathLike) -> dict[str, np.ndarray]:
    import h5py

    try:
        handle = h5py.File(h5_path, "r")
    except OSError as error:
        raise CatalogError(f"{h5_path}: not a readable HDF5 file ({error})") from None
    with handle:
        missing = [name for name in DATASETS if name not in handle]
        if missing:
            raise CatalogError(f"{h5_path}: no dataset {missing} (it has {sorted(handle)}); "
                               f"a Galaxy10 DECaLS file has {list(DATASETS)}")
        images = handle[IMAGE_DATASET]
        if images.ndim != 4 or images.shape[3] != 3:
            raise CatalogError(f"{h5_path}: dataset images has shape {images.shape}, not N x H x W x 3")
        columns = {name: handle[name][()] for name in DATASETS if name != IMAGE_DATASET}
        columns["n_images"] = images.shape[0]
        columns["image_size"] = images.shape[1]
    for name, values in columns.items():
        if name not in ("n_images", "image_size") and len(values) != columns["n_images"]:
            raise CatalogError(f"{h5_path}: dataset {name} has {len(values)} rows, images has {columns['n_images']}")
    return columns


def catalog_from_hdf5(h5_path: os.PathLike, class_names, source: str | None = None) -> pd.DataFrame:
    """The labelled catalog (catalog.CATALOG_COLUMNS) of a Galaxy10 DECaLS file, one row per image, in order."""
    columns = _read_datasets(h5_path)
    answers = np.asarray(columns["ans"])
    bad = np.flatnonzero((answers < 0) | (answers >= len(CLASS_NAMES)) | (answers != np.round(answers)))
    if len(bad):
        raise CatalogError(f"{h5_path}: ans[{bad[0]}] = {answers[bad[0]]} is not a class index 0-9 "
                           f"({len(bad)} such rows)")
    n = columns["n_images"]
    raw = pd.DataFrame({
        "id": [f"galaxy10_{i:05d}" for i in range(n)],
        "ra": np.asarray(columns["ra"], dtype=float),
        "dec": np.asarray(columns["dec"], dtype=float),
        "redshift": np.asarray(columns["redshift"], dtype=float),
        # the image's field of view: pixels x arcsec per pixel
        "size_arcsec": np.asarray(columns["pxscale"], dtype=float) * columns["image_size"],
    })
    class_index = answers.astype(np.int64)
    paths = [f"{h5_path}#{IMAGE_DATASET}/{i}" for i in range(n)]
    return catalog_table(raw, pd.Series(class_index), class_index, paths, list(class_names))


def write_mock_galaxy10(path: os.PathLike, n_galaxies: int, seed: int = 0, image_size: int = 64) -> None:
    """A Galaxy10 DECaLS file in the real layout (the six datasets), of rendered galaxies, written atomically.

    Class counts follow the real file's proportions (each class at least one).
    """
    import h5py

    fractions = np.array(CLASS_COUNTS) / sum(CLASS_COUNTS)
    counts = np.maximum(class_counts(n_galaxies - len(CLASS_NAMES), fractions), 0) + 1
    rng = np.random.default_rng([seed, 10])
    answers = rng.permutation(np.repeat(np.arange(len(CLASS_NAMES)), counts)).astype(np.uint8)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        images = handle.create_dataset("images", (len(answers), image_size, image_size, 3), dtype=np.uint8,
                                       chunks=(1, image_size, image_size, 3))
        for i, answer in enumerate(tqdm(answers, desc="mock Galaxy10", unit="img")):
            galaxy_rng = np.random.default_rng([seed, 11, i])
            images[i] = observe(render_mock_galaxy(int(answer), image_size, galaxy_rng), galaxy_rng)
        handle["ans"] = answers
        handle["ra"] = rng.uniform(0, 360, len(answers))
        handle["dec"] = rng.uniform(-20, 60, len(answers))
        handle["redshift"] = rng.uniform(0.01, 0.2, len(answers))
        handle["pxscale"] = np.full(len(answers), 0.262)  # DECaLS' arcsec per pixel


__all__ = ["CLASS_COUNTS", "CLASS_NAMES", "catalog_from_hdf5", "write_mock_galaxy10"]
