"""The image digest: one line that stands for every image file of a catalog.

It is the array store's input in place of the images.

The image files are not inputs one by one (28,790 for Zhu et al.): the digest
file is, and it is rewritten when an image changes, so Snakemake rebuilds the
store and what depends on it. The study names the files (Study.paths).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from ..io import atomic_path

logger = logging.getLogger(__name__)


def image_digest(catalog_path: os.PathLike) -> str:
    """One line naming the state of every image file of a catalog.

    The count of files and the sha256 of their (path, size, mtime_ns).

    Reads the catalog's `image_path` column (an HDF5 member,
    `<file>#<dataset>/<row>`, counts as its file); a missing file counts as
    size -1. One stat per image, so well under a second for tens of
    thousands of files on a local disk.
    """
    import pyarrow.parquet as pq

    paths = dict.fromkeys(str(p).split("#")[0] for p in pq.read_table(catalog_path, columns=["image_path"]).column(0)
                          .to_pylist())
    digest = hashlib.sha256()
    for path in paths:
        try:
            stat = os.stat(path)
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except FileNotFoundError:
            digest.update(f"{path}\0-1\n".encode())
    return f"{len(paths)} image files, sha256 of path, size and mtime_ns: {digest.hexdigest()}\n"


def write_image_digest(catalog_path: os.PathLike, target: os.PathLike, digest: str | None = None) -> None:
    """Write `digest` (default: `image_digest(catalog_path)`) to `target` under a temporary name."""
    with atomic_path(target) as tmp:
        tmp.write_text(digest if digest is not None else image_digest(catalog_path))


def refresh_image_digest(catalog_path: os.PathLike, target: os.PathLike) -> bool:
    """Rewrite the image digest `target` when an image file changed since it was written; True if it did.

    The digest file (an output of the catalog rule, an input of the array
    store) is a few bytes, so Snakemake records its checksum: rewritten with
    other content, it rebuilds the store and what depends on it; unchanged, it
    rebuilds nothing. The workflow calls this when it starts (in its main
    process, not in each cluster job), so a re-downloaded or corrected image
    is seen, by a dry run too. Does nothing before the catalog exists; a
    catalog made before the digest existed gets one (its study's runs are kept
    with one `snakemake --touch`, see docs/training.md).
    """
    target, catalog = Path(target), Path(catalog_path)
    if not catalog.exists():
        return False
    digest = image_digest(catalog)
    if target.exists() and target.read_text() == digest:
        return False
    write_image_digest(catalog, target, digest)
    logger.warning("image digest: image files changed, the array store will be rebuilt (digest=%s)", target)
    return True
