"""Small file helpers: atomic writes, free-space checks, .npy files row by row, hard links, sha256.

An atomic write never leaves half a file, nor, after the job's next
attempt, a temporary file. A write that does not fit (a full disk or quota, a
file size limit) raises errors.NoSpaceLeft naming the file, the space it
needs and the space free, and leaves no temporary file: a retry cannot fix it.

Temporary files are named `.<stem>.tmp-<host>-<pid><suffix>` beside their
target. A writer removes its own on any exception and, where a long write
happens (`npy_rows`), on SIGTERM. A writer killed outright (SIGKILL, a node
failure) cannot; the next `atomic_path` of the same target removes such a
file when its writer is known to be gone: it ran on this host and its pid is
no longer running (or is this process's own, in a new pid namespace), or the
file has not been written to for STALE_AFTER_S seconds (a writer on another
node, whose pid this host cannot check), or the caller is the only writer of
the target (`only_writer`, the output of a Snakemake job: Snakemake never runs
one job twice at once, so any earlier temporary file of it is an orphan).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import os
import re
import resource
import shutil
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import NoSpaceLeft, SignalExit

logger = logging.getLogger(__name__)

# The host in temporary names; a character that is not safe in a file name becomes "_".
HOST = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"
# A temporary file of another host (or of unknown host) not written to for this long has no live writer: a
# live one writes every few seconds. Ten minutes spares a writer stopped a while (a suspended job).
STALE_AFTER_S = 600
# A write that failed while its folder had less free space than this failed for lack of space, whatever the
# library said (torch's "iostream error", "unexpected pos"): a full disk is left with about one block free.
FULL_BELOW = 16 << 20


def _mb(size: float) -> str:
    return f"{size / 1e6:,.1f} MB"


def _no_space(message: str, code: int = errno.ENOSPC) -> NoSpaceLeft:
    error = NoSpaceLeft(message)
    error.errno = code
    return error


def check_free_space(target: os.PathLike, needed: int) -> None:
    """Raise NoSpaceLeft naming `target`, `needed` and the space free, unless `needed` bytes fit.

    `needed` bytes must fit in the folder of `target`. The free space is what the file system reports (os.statvfs); a user or
    project quota that it does not report is caught when the space is reserved
    or written instead.
    """
    target = Path(target)
    free = shutil.disk_usage(target.parent).free
    if needed > free:
        raise _no_space(f"no space left for {target}: it needs {_mb(needed)}, and {_mb(free)} are free in "
                        f"{target.parent}; free some space (or move the results to a larger file system) and run "
                        "again: a retry on the same disk fails the same way")


def payload_bytes(*objects) -> int:
    """The bytes of the arrays and tensors in nested dicts, lists and tuples.

    At least what a checkpoint needs.

    Anything with an integer `nbytes` counts (numpy arrays, torch tensors).
    """
    total = 0
    stack = list(objects)
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(getattr(item, "nbytes", None), int):
            total += item.nbytes
    return total


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    """`error` and the errors it was raised from or during, each once."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _errnos(error: BaseException) -> set[int]:
    """The errno of `error` and of the errors it was raised from or during."""
    return {e.errno for e in _chain(error) if isinstance(e, OSError) and e.errno is not None}


def _space_failure(target: Path, tmp: Path, error: Exception) -> NoSpaceLeft | None:
    """A NoSpaceLeft naming `target` when `error`, raised writing `tmp`, came from a lack of space.

    None otherwise.
    """
    if isinstance(error, NoSpaceLeft):
        return None
    codes = _errnos(error)
    try:
        written = tmp.stat().st_blocks * 512
    except OSError:
        written = 0
    free = shutil.disk_usage(target.parent).free
    if errno.EFBIG in codes:
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        limit_text = "unlimited" if limit == resource.RLIM_INFINITY else _mb(limit)
        return _no_space(f"{target}: the file is larger than this process may write (file size limit, ulimit -f: "
                         f"{limit_text}) or than its file system allows ({_mb(free)} free in {target.parent}); its "
                         "temporary file is removed: raise the limit or write elsewhere", errno.EFBIG)
    if errno.ENOSPC in codes or errno.EDQUOT in codes or free < FULL_BELOW:
        what = "the disk quota was exceeded" if errno.EDQUOT in codes else "the disk filled up"
        return _no_space(f"no space left for {target}: {what} while writing it ({_mb(written)} written, "
                         f"{_mb(free)} free in {target.parent}; {error.__class__.__name__}: {error}); its temporary "
                         "file is removed: free some space and run again", errno.EDQUOT if errno.EDQUOT in codes
                         else errno.ENOSPC)
    return None


def process_alive(pid: int) -> bool:
    """Whether a process `pid` runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def temporary_path(target: os.PathLike) -> Path:
    """This process's temporary name for `target`: `.<stem>.tmp-<host>-<pid><suffix>` beside it."""
    target = Path(target)
    return target.with_name(f".{target.stem}.tmp-{HOST}-{os.getpid()}{target.suffix}")


# The names holding ".tmp-" in each folder this process has written to, listed once: a folder of 14,034 cutouts
# written one by one is listed once, not 14,034 times. Temporary files of writers killed since are another
# process's to find (the next attempt's).
_TEMPORARY_NAMES: dict[str, list[str]] = {}


def _temporary_names(folder: Path) -> list[str]:
    key = os.path.abspath(folder)
    if key not in _TEMPORARY_NAMES:
        with os.scandir(key) as entries:
            _TEMPORARY_NAMES[key] = [entry.name for entry in entries if ".tmp-" in entry.name]
    return _TEMPORARY_NAMES[key]


def stale_temporaries(target: os.PathLike, only_writer: bool = False) -> list[Path]:
    """The temporary files of `target` whose writer is gone (the rule: the module docstring).

    Names of earlier versions (`.<stem>.tmp-<pid><suffix>`) count too.
    `only_writer`: no other process writes `target` now, so all of them are.
    """
    target = Path(target)
    prefix, suffix = f".{target.stem}.tmp-", target.suffix
    if not target.parent.is_dir():
        return []
    stale = []
    for name in _temporary_names(target.parent):
        if not (name.startswith(prefix) and name.endswith(suffix)) or len(name) <= len(prefix) + len(suffix):
            continue
        host, _, pid = name[len(prefix) : len(name) - len(suffix)].rpartition("-")
        if not pid.isdigit():
            continue
        sibling = target.parent / name
        with contextlib.suppress(FileNotFoundError):
            idle = time.time() - sibling.stat().st_mtime
            if (only_writer or idle > STALE_AFTER_S
                    or host == HOST and (int(pid) == os.getpid() or not process_alive(int(pid)))):
                stale.append(sibling)
    return sorted(stale)


def remove_stale_temporaries(target: os.PathLike, only_writer: bool = False) -> list[Path]:
    """Remove stale_temporaries(target), each said in the log; the ones removed."""
    removed = []
    for path in stale_temporaries(target, only_writer):
        with contextlib.suppress(ValueError):
            _temporary_names(path.parent).remove(path.name)
        with contextlib.suppress(FileNotFoundError):
            size = path.stat().st_blocks * 512
            path.unlink()
            removed.append(path)
            logger.warning("atomic write: removed the temporary file of an earlier, killed writer (path=%s, "
                           "size=%s)", path, _mb(size))
    return removed


@contextlib.contextmanager
def atomic_path(target: os.PathLike, needed: int = 0, only_writer: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` on success.

    On any exception the temporary file is removed and `target` is untouched.
    The temporary name keeps the suffix so libraries that infer the format
    from it (PIL, numpy) still work. Temporary files of `target` left by
    killed writers are removed first (module docstring; `only_writer`: the
    caller is the only process that writes `target`, e.g. a job's output).

    Raises:
        NoSpaceLeft: before the write when `needed` (bytes, when known) is more
            than the free space; during it when it fails for lack of space or
            a file size limit (torch's "iostream error" included), naming the
            file and the space free.

    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target, only_writer)
    if needed:
        check_free_space(target, needed)
    tmp = temporary_path(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except Exception as error:
        no_space = _space_failure(target, tmp, error)
        if no_space is not None:
            # The failed writer's frames hold its open file (torch's): freed with them, the space is free again.
            for failed in _chain(error):
                traceback.clear_frames(failed.__traceback__)
            raise no_space from error
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class WriteInterrupted(SignalExit):
    """A long write stopped by a signal, its temporary file removed; exits with 128 + the signal's number."""


@contextlib.contextmanager
def stopped_on_term(what: str) -> Iterator[None]:
    """For the block, SIGTERM raises WriteInterrupted.

    Then `finally` blocks run before the process ends.

    SIGTERM is a time limit, preemption or scancel; the `finally` that
    matters is atomic_path's removal of its temporary file. Outside the main
    thread (where no handler can be installed) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        message = f"{what}: stopped by {signal.Signals(signum).name}; its temporary file is removed"
        # Not `logging`: the interrupted code may hold a handler's lock, and a handler that waits for it hangs.
        print(message, file=sys.stderr, flush=True)  # noqa: T201
        raise WriteInterrupted(signum, message)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def reserve(fd: int, size: int) -> None:
    """Make the open file `fd` `size` bytes long with its blocks allocated (posix_fallocate).

    A full disk or quota then fails here (ENOSPC, EDQUOT), not in the middle
    of the write. Where the file system allocates nothing ahead (ZFS, some
    network file systems) the file is made sparse, and the writes find out.
    """
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as error:
        if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
        os.ftruncate(fd, size)
    except AttributeError:  # no posix_fallocate (macOS)
        os.ftruncate(fd, size)


class NpyRows:
    """The rows of an .npy file being written (`npy_rows`): `rows[i] = array` writes row i.

    Plain writes, not a memory map: a write that does not fit raises an
    OSError where a memory map's would kill the process with SIGBUS.
    """

    def __init__(self, fd: int, offset: int, shape: tuple[int, ...], dtype: np.dtype):
        self.fd, self.offset, self.shape, self.dtype = fd, offset, shape, dtype
        self.row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        self.written = np.zeros(shape[0], dtype=bool)
        self.kept = shape[0]

    def keep_first(self, rows: int) -> None:
        """Keep only the first `rows` rows.

        When the write ends, the file is cut after them and its header says so.
        """
        if not 0 <= rows <= self.shape[0]:
            raise ValueError(f"cannot keep {rows} of {self.shape[0]} rows")
        self.kept = rows

    def __len__(self) -> int:
        return self.shape[0]

    def __setitem__(self, row: int, value) -> None:
        data = np.ascontiguousarray(value, dtype=self.dtype)
        if data.shape != self.shape[1:]:
            raise ValueError(f"row {row}: expected shape {self.shape[1:]}, found {data.shape}")
        if not 0 <= row < self.shape[0]:
            raise IndexError(f"row {row} outside the {self.shape[0]} rows")
        view, position = memoryview(data).cast("B"), self.offset + row * self.row_bytes
        while view:
            count = os.pwrite(self.fd, view, position)
            view, position = view[count:], position + count
        self.written[row] = True


def _cut_rows(fd: int, offset: int, shape: tuple[int, ...], dtype: np.dtype, row_bytes: int) -> None:
    """Make an open .npy file (version 1.0 header ending at `offset`) hold only `shape[0]` rows.

    A header of the same length with the new shape, and the file truncated after the last row.
    """
    start = 10  # magic string, version and header length: the header's length stays, so they do too
    text = repr({"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape})
    os.pwrite(fd, (text.ljust(offset - start - 1) + "\n").encode("latin1"), start)
    os.ftruncate(fd, offset + shape[0] * row_bytes)


@contextlib.contextmanager
def npy_rows(target: os.PathLike, shape: tuple[int, ...], dtype, only_writer: bool = True) -> Iterator[NpyRows]:
    """An .npy file of `shape` and `dtype`, written row by row and atomically, its space reserved first.

    For a long write: the free space is checked (NoSpaceLeft names the file,
    the space needed and the space free) and the file's blocks are reserved
    before the first row, SIGTERM removes the temporary file before the
    process ends (stopped_on_term), and every row must be written. By default
    the caller is the only writer of `target` (a job's output), so temporary
    files of earlier attempts are removed first.
    """
    target, dtype, shape = Path(target), np.dtype(dtype), tuple(int(n) for n in shape)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape})
    size = header.tell() + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    with atomic_path(target, needed=size, only_writer=only_writer) as tmp, stopped_on_term(str(target)):
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            reserve(fd, size)
            os.pwrite(fd, header.getvalue(), 0)
            rows = NpyRows(fd, header.tell(), shape, dtype)
            logger.info("npy write: space reserved (path=%s, size=%s, free=%s)", target, _mb(size),
                        _mb(shutil.disk_usage(target.parent).free))
            yield rows
            if not rows.written[:rows.kept].all():
                missing = int((~rows.written[:rows.kept]).sum())
                raise ValueError(f"{target}: {missing} of its {rows.kept} rows were never written")
            if rows.kept < shape[0]:
                _cut_rows(fd, header.tell(), (rows.kept, *shape[1:]), dtype, rows.row_bytes)
        finally:
            os.close(fd)


def sha256_of(path: os.PathLike) -> str:
    """The hex sha256 of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def link_or_copy(source: os.PathLike, target: os.PathLike) -> bool:
    """Make `target` a hard link to `source`, replacing `target` atomically; True if linked.

    Make `target` a second name of the file `source` (a hard link: one copy on disk), replacing `target` atomically;
    True if linked.

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
