"""Large files fetched once, resumable, and verified before any use.

Galaxy10 DECaLS' 2.54 GB HDF5 file is one.

`fetch_verified(url, target, sha256)` downloads into `<target>.part`. After
an interruption (a dropped connection, a killed job) the next try, in this
process or a later one, asks the server for the rest with an HTTP Range
request and appends it; a server that ignores Range (200 instead of 206)
makes it start over. Only when the whole file is there and its sha256
equals the expected one is it renamed to `target`: a file at `target` is
always complete and verified, and a part file with the wrong hash is
removed with an error that names both hashes.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import requests
from tqdm import tqdm

from ..io import sha256_of

CHUNK_BYTES = 1 << 16  # a connection cut mid-chunk loses at most this much of what it brought

log = logging.getLogger(__name__)


class DownloadError(RuntimeError):
    """A file that could not be fetched whole, or whose content is not the expected one.

    Or too many of a set of files (the SDSS cutouts) that could not be fetched.
    """


def verify_sha256(path: os.PathLike, sha256: str) -> None:
    """Refuse a missing file, or one whose sha256 is not `sha256`, naming the file and both hashes."""
    path = Path(path)
    if not path.is_file():
        raise DownloadError(f"{path} does not exist")
    digest = sha256_of(path)
    if digest != sha256.lower():
        raise DownloadError(f"{path}: sha256 {digest} is not the expected {sha256.lower()}: the file is corrupt, "
                            "truncated or another file")


def part_path(target: os.PathLike) -> Path:
    """Where a download of `target` is written until it is whole."""
    return Path(f"{target}.part")


def _total_size(response: requests.Response, have: int) -> int | None:
    """The whole file's size from a 206's Content-Range or a 200's Content-Length."""
    if response.status_code == 206:
        match = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", response.headers.get("Content-Range", ""))
        if match is None or int(match.group(1)) != have:
            raise DownloadError(f"{response.url}: asked for the bytes from {have}, got Content-Range "
                                f"{response.headers.get('Content-Range')!r}")
        return None if match.group(3) == "*" else int(match.group(3))
    length = response.headers.get("Content-Length")
    return int(length) if length is not None else None


def fetch_verified(url: str, target: os.PathLike, sha256: str, max_attempts: int = 8, timeout: float = 60.0,
                   backoff_seconds: float = 2.0, session: requests.Session | None = None,
                   progress: bool = True) -> Path:
    """Put the file at `url` at `target`, resuming `<target>.part`.

    Its sha256 is verified before the rename.

    A target that exists already is only verified. Each attempt continues
    from the bytes on disk; attempts that bring no new byte count against
    `max_attempts`, with a doubling wait between them.
    """
    target = Path(target)
    if target.exists():
        verify_sha256(target, sha256)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    session = session or requests.Session()
    failures, wait, total = 0, backoff_seconds, None
    size = lambda: part.stat().st_size if part.exists() else 0  # noqa: E731
    bar = tqdm(desc=target.name, unit="B", unit_scale=True, disable=not progress, mininterval=1)
    try:
        while True:
            have = size()
            if total is not None and have >= total:
                break
            try:
                with session.get(url, headers={"Range": f"bytes={have}-"} if have else {}, stream=True,
                                 timeout=timeout) as response:
                    if response.status_code == 416 and have:  # nothing after `have`: the part is whole
                        break
                    if response.status_code not in (200, 206):
                        raise requests.HTTPError(f"HTTP {response.status_code}", response=response)
                    if response.status_code == 200 and have:
                        log.warning("download: server ignores Range requests, starting over (url=%s, file=%s)", url, part.name)
                        have = 0
                    total = _total_size(response, have) or total
                    bar.reset(total=total)
                    bar.update(have)
                    with open(part, "ab" if have else "wb") as stream:
                        for block in response.iter_content(CHUNK_BYTES):
                            stream.write(block)
                            bar.update(len(block))
                if total is None:  # no length given: a response that ends without an error is the whole file
                    total = size()
                if size() < total:
                    raise requests.ConnectionError(f"the response ended after {size()} of {total} bytes")
            except (requests.ConnectionError, requests.Timeout, requests.HTTPError,
                    requests.exceptions.ChunkedEncodingError) as error:
                status = getattr(getattr(error, "response", None), "status_code", None)
                if status is not None and 400 <= status < 500 and status not in (408, 429):
                    raise DownloadError(f"cannot fetch {url}: HTTP {status}") from None
                if size() > have:  # it moved on: continue at once
                    failures, wait = 0, backoff_seconds
                    log.warning("download: interrupted, continuing (url=%s, error=%s, byte=%d)", url, error, size())
                    continue
                failures += 1
                if failures >= max_attempts:
                    raise DownloadError(f"cannot fetch {url}: {max_attempts} attempts in a row brought nothing "
                                        f"({error}); the {size()} bytes so far are kept in {part}, and the next "
                                        "run continues from there") from None
                log.warning("download: failed, trying again (url=%s, error=%s, byte=%d, wait_s=%.0f)", url, error, size(), wait)
                time.sleep(wait)
                wait *= 2
    finally:
        bar.close()
    try:
        verify_sha256(part, sha256)
    except DownloadError as error:
        part.unlink()
        raise DownloadError(f"{error}; it was removed, and the next run fetches it anew from {url}") from None
    os.replace(part, target)
    return target
