"""io: a write that does not fit stops naming the file, the space it needs and the space free, and leaves no
temporary file; a killed writer's temporary file does not outlive the next attempt (disk-full,
killed-store-orphans)."""

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import galaxy_pretraining
from galaxy_pretraining.data.array_store import load_image
from galaxy_pretraining.errors import NoSpaceLeft, NotRetryable
from galaxy_pretraining.io import HOST, STALE_AFTER_S, atomic_path, npy_rows, write_table
from galaxy_pretraining.progress import read_record

from helpers.training import settings, train_tiny

SRC = str(Path(galaxy_pretraining.__file__).parents[1])

# A child process that writes an array store of the images listed in argv[1] (JSON) to argv[2] at size argv[3].
STORE_SCRIPT = f"""
import json, sys
sys.path.insert(0, {SRC!r})
from galaxy_pretraining.data.array_store import write_array_store
paths = json.loads(open(sys.argv[1]).read())
# the rows repeat a few images (a test of writing, not of the sample): identical rows are kept
write_array_store(paths, sys.argv[2], int(sys.argv[3]), threads=1, duplicates="warn")
"""


@contextlib.contextmanager
def small_disk(folder: Path, size_kb: int):
    """A tmpfs of `size_kb` KB mounted on `folder` for the block; the test is skipped where mounting is refused."""
    folder.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("a small file system is needed, and there is no mount command")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"a small file system is needed; mount -t tmpfs was refused (root only): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def galaxies(folder: Path, n: int, distinct: int = 5, side: int = 160) -> list[str]:
    """`n` image paths cycling over `distinct` noisy JPEGs of side x side pixels."""
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    files = []
    for k in range(distinct):
        path = folder / f"g{k}.jpg"
        Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(path, quality=95)
        files.append(str(path))
    return [files[i % distinct] for i in range(n)]


def store_child(tmp_path: Path, paths: list[str], target: Path, size: int, **popen) -> subprocess.Popen:
    listing = tmp_path / "paths.json"
    listing.write_text(json.dumps(paths))
    return subprocess.Popen([sys.executable, "-c", STORE_SCRIPT, str(listing), str(target), str(size)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def assert_store_of(target: Path, paths: list[str], size: int) -> None:
    store = np.load(target)
    assert store.shape == (len(paths), 3, size, size)
    images = {p: load_image(p, size) for p in set(paths)}
    for i, path in enumerate(paths):
        np.testing.assert_array_equal(store[i], images[path], err_msg=f"row {i}")


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())  # hidden files included


def test_a_store_larger_than_the_free_space_stops_at_once_naming_the_file_and_the_space(tmp_path):
    """The disk-full case: 40 images at 128 px (a 2 MB store) on 1.5 MB: no SIGBUS, no file, the disk free again."""
    paths = galaxies(tmp_path / "images", 40)
    with small_disk(tmp_path / "disk", 1500) as disk:
        free_before = shutil.disk_usage(disk).free
        target = disk / "results" / "images.npy"
        child = store_child(tmp_path, paths, target, 128)
        _, stderr = child.communicate(timeout=300)
        assert child.returncode == 1, f"the store job died with {child.returncode}: {stderr[-2000:]}"
        message = stderr.strip().splitlines()[-1]
        assert f"no space left for {target}" in message
        assert re.search(r"needs 2\.0 MB, and 1\.[45] MB are free", message), message
        assert "NoSpaceLeft" in message
        assert names(target.parent) == []  # no temporary file
        assert shutil.disk_usage(disk).free == free_before


def test_a_store_beyond_the_file_size_limit_says_so_and_leaves_no_temporary_file(tmp_path):
    """RLIMIT_FSIZE (ulimit -f) is not a full disk: the message names the limit, and nothing stays behind."""
    paths = galaxies(tmp_path / "images", 40)
    target = tmp_path / "results" / "images.npy"

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    child = store_child(tmp_path, paths, target, 128, preexec_fn=limit_file_size)
    _, stderr = child.communicate(timeout=300)
    assert child.returncode == 1, f"the store job died with {child.returncode}: {stderr[-2000:]}"
    message = stderr.strip().splitlines()[-1]
    assert str(target) in message and "ulimit -f: 1.0 MB" in message
    assert names(target.parent) == []


def test_a_checkpoint_larger_than_the_free_space_stops_before_writing_it(tiny_study, tmp_path):
    """last.pt of resnet18 (weights, momentum and the best epoch's weights: 134.3 MB written) on a 40 MB disk:
    stopped before torch.save, not retried (NotRetryable), naming last.pt and both sizes."""
    with small_disk(tmp_path / "disk", 40_000) as disk:
        out = disk / "run0"
        with pytest.raises(NoSpaceLeft) as raised:
            train_tiny(tiny_study, out, settings(epochs=2))
        assert isinstance(raised.value, NotRetryable)
        message = str(raised.value)
        assert f"no space left for {out / 'last.pt'}: it needs" in message
        needed, free = (float(x.replace(",", "")) for x in re.findall(r"([\d,.]+) MB", message)[:2])
        assert 130 < needed < 135 and 40 < free <= 41
        # Only the run's live files, complete: progress.csv (epochs before the failed save) and record.json (failed).
        assert names(out) == ["progress.csv", "record.json"]
        assert read_record(out)["state"] == "failed" and "NoSpaceLeft" in read_record(out)["attempts"][-1]["error"]


def test_a_torch_save_that_fills_the_disk_says_no_space_left_and_leaves_the_disk_free(tmp_path):
    """torch's own error on a full disk ("unexpected pos", "iostream error") names neither space nor file."""
    with small_disk(tmp_path / "disk", 3000) as disk:
        target = disk / "last.pt"
        target.write_bytes(b"the previous checkpoint")
        free_before = shutil.disk_usage(disk).free
        with pytest.raises(NoSpaceLeft, match=rf"no space left for {re.escape(str(target))}: the disk filled up"):
            with atomic_path(target) as tmp:
                torch.save({"model": torch.zeros(1_000_000)}, tmp)  # 4 MB
        assert names(disk) == ["last.pt"] and target.read_bytes() == b"the previous checkpoint"
        assert shutil.disk_usage(disk).free == free_before


def kill_while_writing(tmp_path, paths, target, size, signum) -> subprocess.Popen:
    """Start a store child, wait until it is writing its temporary file, send it `signum`; the finished child."""
    child = store_child(tmp_path, paths, target, size)
    deadline = time.time() + 120
    while time.time() < deadline and child.poll() is None and not list(target.parent.glob(".images.tmp-*")):
        time.sleep(0.01)
    time.sleep(0.3)
    assert child.poll() is None, "the store was written before the kill: give it more images"
    os.kill(child.pid, signum)
    child.communicate(timeout=120)
    return child


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_store_leaves_no_temporary_file_after_the_next_attempt(tmp_path, signum):
    """The killed-store-orphans case: a store job stopped by its time limit (SIGTERM) or the OOM killer (SIGKILL),
    then run again: one images.npy, right row for row, and no hidden copy beside it."""
    paths = galaxies(tmp_path / "images", 3000, side=256)
    target = tmp_path / "results" / "images.npy"
    child = kill_while_writing(tmp_path, paths, target, 64, signum)
    if signum == signal.SIGTERM:
        assert child.returncode == 128 + signal.SIGTERM  # caught: cleaned up, then stopped
        assert names(target.parent) == []
    else:
        assert child.returncode == -signal.SIGKILL
        [orphan] = target.parent.iterdir()
        assert orphan.name == f".images.tmp-{HOST}-{child.pid}.npy"
        assert orphan.stat().st_blocks * 512 >= 3000 * 3 * 64 * 64  # its space was reserved, not sparse
    again = store_child(tmp_path, paths, target, 64)
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr[-2000:]
    assert names(target.parent) == ["images.npy"]
    assert_store_of(target, paths, 64)


TABLE_WRITER = f"""
import sys, time
sys.path.insert(0, {SRC!r})
from galaxy_pretraining.io import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half a table")
    print("writing", flush=True)
    time.sleep(600)
"""


def test_a_table_writer_killed_outright_leaves_nothing_after_the_next_write(tmp_path):
    target = tmp_path / "metrics.parquet"
    child = subprocess.Popen([sys.executable, "-c", TABLE_WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "writing\n"
    child.kill()
    child.wait()
    assert names(tmp_path) == [f".metrics.tmp-{HOST}-{child.pid}.parquet"]
    write_table(pd.DataFrame({"epoch": [1, 2]}), target)
    assert names(tmp_path) == ["metrics.parquet"]
    assert pd.read_parquet(target)["epoch"].tolist() == [1, 2]


def test_temporary_files_of_live_or_recent_writers_elsewhere_are_kept(tmp_path):
    """A writer still running on this host, or one on another node (whose pid this host cannot check) that wrote
    within STALE_AFTER_S, keeps its temporary file; another node's file idle longer, and files of killed writers
    by the names of earlier versions, are removed."""
    target = tmp_path / "metrics.parquet"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        kept = [f".metrics.tmp-{HOST}-{live.pid}.parquet", ".metrics.tmp-other-node-12.parquet"]
        old = [".metrics.tmp-other-node-13.parquet", ".metrics.tmp-14.parquet"]
        for name in kept + old:
            (tmp_path / name).write_bytes(b"partial")
        for name in old:
            idle = time.time() - STALE_AFTER_S - 60
            os.utime(tmp_path / name, (idle, idle))
        (tmp_path / ".other.tmp-x-1.parquet").write_bytes(b"another target's")
        write_table(pd.DataFrame({"epoch": [1]}), target)
        assert names(tmp_path) == sorted(kept + [".other.tmp-x-1.parquet", "metrics.parquet"])
        # The only writer of a target (a job's output, here the store) removes them all.
        with atomic_path(target, only_writer=True) as tmp:
            tmp.write_bytes(b"x")
        assert names(tmp_path) == [".other.tmp-x-1.parquet", "metrics.parquet"]
    finally:
        live.kill()
        live.wait()


def test_an_npy_file_with_a_row_never_written_is_not_kept(tmp_path):
    target = tmp_path / "images.npy"
    with pytest.raises(ValueError, match=r"1 of its 3 rows were never written"):
        with npy_rows(target, (3, 2, 2), np.uint8) as rows:
            rows[0] = np.ones((2, 2))
            rows[2] = np.full((2, 2), 7)
    assert names(tmp_path) == []
    with npy_rows(target, (3, 2, 2), np.uint8) as rows:
        for i in (2, 0, 1):
            rows[i] = np.full((2, 2), i)
    np.testing.assert_array_equal(np.load(target), np.arange(3)[:, None, None] * np.ones((3, 2, 2), np.uint8))
