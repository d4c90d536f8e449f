"""Small file helpers: atomic writes so a killed job never leaves half a file; a second name for a file; a file's
sha256."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd


def sha256_of(path: os.PathLike) -> str:
    """The hex sha256 of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(target: os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` on success.

    On any exception the temporary file is removed and `target` is untouched.
    The temporary name keeps the suffix so libraries that infer the format
    from it (PIL, numpy) still work.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.tmp-{os.getpid()}{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def link_or_copy(source: os.PathLike, target: os.PathLike) -> bool:
    """Make `target` a second name of the file `source` (a hard link: one copy on disk), replacing `target`
    atomically; True if linked.

    Where the file system has no hard links (os.link raises OSError: EPERM,
    EXDEV, ENOTSUP), `target` becomes an atomically written copy, False is
    returned, and the caller says so. Raises FileNotFoundError when `source`
    does not exist.
    """
    with atomic_path(target) as tmp:
        try:
            os.link(source, tmp)
            linked = True
        except FileNotFoundError:
            raise
        except OSError:
            shutil.copyfile(source, tmp)
            linked = False
    return linked


def write_table(table: pd.DataFrame, path: os.PathLike) -> None:
    """Write a table atomically: Parquet, or CSV / Markdown by the file's suffix."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        elif path.suffix == ".csv":
            table.to_csv(tmp, index=False)
        elif path.suffix == ".md":
            tmp.write_text(table.to_markdown(index=False) + "\n")
        else:
            raise ValueError(f"{path}: unknown table format {path.suffix!r} (use .parquet, .csv or .md)")
