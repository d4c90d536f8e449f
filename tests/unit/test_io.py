"""io: a file's second name (a hard link, or a copy where the file system makes none), written atomically."""

import errno
import os

import pytest

from galaxy_pretraining.io import link_or_copy


def test_link_or_copy_makes_a_second_name_of_the_same_file_and_replaces_an_old_one(tmp_path):
    source, target = tmp_path / "best.pt", tmp_path / "best-kept.pt"
    source.write_bytes(b"new weights")
    target.write_bytes(b"old weights")
    assert link_or_copy(source, target)
    assert target.samefile(source) and os.stat(source).st_nlink == 2
    source.unlink()  # as Snakemake removes an output before it runs the job again
    assert target.read_bytes() == b"new weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best-kept.pt"]  # no temporary file left


def test_link_or_copy_copies_where_the_file_system_makes_no_hard_links(tmp_path, monkeypatch):
    def no_links(source, target):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    source, target = tmp_path / "best.pt", tmp_path / "best-kept.pt"
    source.write_bytes(b"weights")
    assert not link_or_copy(source, target)
    assert target.read_bytes() == b"weights" and not target.samefile(source)


def test_link_or_copy_of_a_missing_file_raises_and_leaves_the_target(tmp_path):
    target = tmp_path / "best-kept.pt"
    target.write_bytes(b"old weights")
    with pytest.raises(FileNotFoundError):
        link_or_copy(tmp_path / "gone.pt", target)
    assert target.read_bytes() == b"old weights" and len(list(tmp_path.iterdir())) == 1
