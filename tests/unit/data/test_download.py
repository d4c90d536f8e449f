"""Resumable, verified downloads against a real local HTTP server that supports Range and cuts connections."""

import hashlib
import os

import pytest

from galaxy_pretraining.data.download import CHUNK_BYTES, DownloadError, fetch_verified, part_path

from helpers.file_server import FileServer

PAYLOAD = os.urandom(3 * 1024 * 1024 + 17)
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


def fetch(server, target, **kwargs):
    return fetch_verified(server.url, target, kwargs.pop("sha256", SHA256), backoff_seconds=0.01, progress=False,
                          **kwargs)


def test_a_dropped_connection_is_continued_with_a_range_request_not_restarted(tmp_path):
    target = tmp_path / "Galaxy10_DECals.h5"
    with FileServer(PAYLOAD, ["drop", "drop", "whole"]) as server:
        fetch(server, target)
    assert target.read_bytes() == PAYLOAD and not part_path(target).exists()
    # each later request asks for the bytes after those on disk: close to where the cut came, never from 0
    starts = [int(r.removeprefix("bytes=").rstrip("-")) for r in server.ranges[1:]]
    sent_before_first_cut = len(PAYLOAD) // 2
    sent_before_second_cut = starts[0] + (len(PAYLOAD) - starts[0]) // 2
    assert len(server.ranges) == 3 and server.ranges[0] is None
    assert sent_before_first_cut - CHUNK_BYTES < starts[0] <= sent_before_first_cut
    assert sent_before_second_cut - CHUNK_BYTES < starts[1] <= sent_before_second_cut


def test_a_part_file_left_by_a_killed_run_is_continued_by_the_next_run(tmp_path):
    target = tmp_path / "Galaxy10_DECals.h5"
    part_path(target).write_bytes(PAYLOAD[:1000])
    with FileServer(PAYLOAD, ["whole"]) as server:
        fetch(server, target)
    assert server.ranges == ["bytes=1000-"] and target.read_bytes() == PAYLOAD


def test_a_server_that_ignores_range_makes_it_start_over(tmp_path):
    target = tmp_path / "Galaxy10_DECals.h5"
    part_path(target).write_bytes(PAYLOAD[:1000])
    with FileServer(PAYLOAD, ["ignore_range"]) as server:
        fetch(server, target)
    assert target.read_bytes() == PAYLOAD


def test_a_wrong_hash_is_an_error_naming_the_file_and_nothing_is_left(tmp_path):
    target = tmp_path / "Galaxy10_DECals.h5"
    with FileServer(PAYLOAD, ["whole"]) as server, pytest.raises(DownloadError) as error:
        fetch(server, target, sha256="0" * 64)
    assert "Galaxy10_DECals.h5.part: sha256 " in str(error.value) and f"{SHA256} is not the expected" in str(error.value)
    assert not target.exists() and not part_path(target).exists()


def test_a_server_that_keeps_failing_gives_up_and_keeps_the_bytes_it_has(tmp_path):
    target = tmp_path / "Galaxy10_DECals.h5"
    part_path(target).write_bytes(PAYLOAD[:1000])
    with FileServer(PAYLOAD, ["missing"]) as server, pytest.raises(DownloadError, match="HTTP 404"):
        fetch(server, target)
    assert part_path(target).read_bytes() == PAYLOAD[:1000] and not target.exists()


def test_an_existing_target_is_verified_not_fetched(tmp_path):
    target = tmp_path / "Galaxy10_DECals.h5"
    target.write_bytes(PAYLOAD[:-1])  # truncated
    with FileServer(PAYLOAD, ["whole"]) as server, pytest.raises(DownloadError, match="is not the expected"):
        fetch(server, target)
    assert server.ranges == []
