"""Galaxy10 DECaLS (Leung & Bovy), the sample of Fu's study.

One HDF5 file of 17,736 galaxies of ten classes.

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
import warnings

import numpy as np
import pandas as pd
from tqdm import tqdm

from ....io import atomic_path
from ...catalog import CatalogError, catalog_table
from ...synthetic import class_counts, observe, render_mock_galaxy
from .classes import CLASS_COUNTS, CLASS_NAMES

DATASETS = ("images", "ans", "ra", "dec", "redshift", "pxscale")
IMAGE_DATASET = "images"
# How many offending rows a sanity message lists by index (it always gives the count too).
ROWS_NAMED = 10


class RedshiftWarning(UserWarning):
    """Redshifts of a Galaxy10 DECaLS file that cannot be redshifts (negative or infinite)."""


def _rows(rows: np.ndarray, n: int) -> str:
    """'rows 3, 17 (2 of 300)': the first ROWS_NAMED file rows (0-based, as in the ids) and the count."""
    named = ", ".join(str(int(r)) for r in rows[:ROWS_NAMED]) + (", ..." if len(rows) > ROWS_NAMED else "")
    return f"row{'s' if len(rows) > 1 else ''} {named} ({len(rows):,} of {n:,})"


def check_pxscale_and_redshift(pxscale: np.ndarray, redshift: np.ndarray, source: str,
                               dec: np.ndarray | None = None) -> np.ndarray:
    """Sanity of a Galaxy10 DECaLS file's `pxscale` and `redshift` datasets (1-D, one value per image).

    `pxscale` (arcsec per pixel, float) must be finite and positive in every
    row: it makes size_arcsec. Otherwise a CatalogError names `source` and the
    rows. `redshift` must be non-negative or missing (NaN). A public coordinate
    export of the data set (Galaxy10_coord.csv) has `redshift` equal to `dec`,
    negative in 1,741 of 17,736 rows; the study does not use redshift, so a bad
    one is a RedshiftWarning naming the rows, not an error, and is recorded as
    missing. With `dec` (degrees, one per image), a redshift equal to its
    row's declination is bad too: that is the export's fault, which a sign
    check alone would pass in the 15,995 rows of positive declination.

    Returns the redshifts (float64) with the bad ones set to NaN.
    """
    pxscale = np.asarray(pxscale, dtype=float)
    bad = np.flatnonzero(~(np.isfinite(pxscale) & (pxscale > 0)))
    if len(bad):
        raise CatalogError(f"{source}: pxscale (arcsec per pixel) is not a positive number in "
                           f"{_rows(bad, len(pxscale))}, e.g. pxscale[{bad[0]}] = {pxscale[bad[0]]}")
    redshift = np.asarray(redshift, dtype=float).copy()
    checks = [("negative or infinite", ~(np.isnan(redshift) | (np.isfinite(redshift) & (redshift >= 0))))]
    if dec is not None:
        checks.append(("equal to the row's dec", np.isfinite(redshift) & (redshift == np.asarray(dec, dtype=float))))
    for what, mask in checks:
        bad = np.flatnonzero(mask & ~np.isnan(redshift))
        if len(bad):
            warnings.warn(f"{source}: redshift is {what} in {_rows(bad, len(redshift))}, "
                          f"e.g. redshift[{bad[0]}] = {redshift[bad[0]]}; the catalog records these as missing "
                          f"(the study trains on images only and does not use redshift)",
                          RedshiftWarning, stacklevel=2)
            redshift[bad] = np.nan
    return redshift


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
    """The labelled catalog of a Galaxy10 DECaLS file, one row per image, in order.

    Its columns are catalog.CATALOG_COLUMNS.

    Raises CatalogError naming the file (and rows) for a missing dataset, an
    `ans` outside 0-9 or a `pxscale` that is not positive; warns
    (RedshiftWarning) for redshifts that are negative, which the catalog then
    holds as missing (check_pxscale_and_redshift).
    """
    columns = _read_datasets(h5_path)
    answers = np.asarray(columns["ans"])
    bad = np.flatnonzero((answers < 0) | (answers >= len(CLASS_NAMES)) | (answers != np.round(answers)))
    if len(bad):
        raise CatalogError(f"{h5_path}: ans[{bad[0]}] = {answers[bad[0]]} is not a class index 0-9 "
                           f"({len(bad)} such rows)")
    n = columns["n_images"]
    redshift = check_pxscale_and_redshift(columns["pxscale"], columns["redshift"], str(h5_path), columns["dec"])
    raw = pd.DataFrame({
        "id": [f"galaxy10_{i:05d}" for i in range(n)],
        "ra": np.asarray(columns["ra"], dtype=float),
        "dec": np.asarray(columns["dec"], dtype=float),
        "redshift": redshift,
        # the image's field of view: pixels x arcsec per pixel
        "size_arcsec": np.asarray(columns["pxscale"], dtype=float) * columns["image_size"],
    })
    class_index = answers.astype(np.int64)
    paths = [f"{h5_path}#{IMAGE_DATASET}/{i}" for i in range(n)]
    return catalog_table(raw, pd.Series(class_index), class_index, paths, list(class_names))


def write_mock_galaxy10(path: os.PathLike, n_galaxies: int, seed: int = 0, image_size: int = 64) -> None:
    """A Galaxy10 DECaLS file of rendered galaxies in the real layout, written atomically.

    The real layout has six datasets.

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


__all__ = ["CLASS_COUNTS", "CLASS_NAMES", "RedshiftWarning", "catalog_from_hdf5", "check_pxscale_and_redshift",
           "write_mock_galaxy10"]
