"""SDSS colour cutouts: one JPEG per galaxy from the SkyServer image cutout service.

Robust for fourteen thousand requests to a public service: bounded
concurrency, a global request rate, timeouts, retries with exponential
backoff and jitter (honouring Retry-After), a deadline on each whole request,
every file fully decoded before it counts, written under a temporary name and
renamed, and a manifest row per galaxy. A file already present and valid is
never requested again, so a killed run resumes where it stopped.

A decodable JPEG is not proof of a usable cutout. Each reply is judged
(judge_cutout) and recorded under one status:

- `wrong_size`: the image is not the `cutout_pixels` x `cutout_pixels` asked
  for (a service that answers with its own minimum instead would silently
  change the field of view). Not kept, not asked for again in this run.
- `blank`: outside the imaging footprint the service is reported to answer
  with a valid, blank (black) JPEG. A cutout whose grayscale pixel values
  have a standard deviation below `blank_max_std` (0-255 scale) is blank.
- `partial`: at the footprint's edge part of the frame has no data, drawn
  black. A pixel has no data when it lies in a square of NO_DATA_WINDOW x
  NO_DATA_WINDOW pixels that are all exactly black (0 in all three channels);
  real sky, however dark, is noisy and JPEG-coded, so it almost never holds
  such a square (no_data_mask). A cutout is partial when more than
  `max_no_data_fraction` of its frame has no data, or when any pixel of its
  centre box (the central fifth of the frame on each axis) has none.

What these thresholds give on real SDSS cutouts is in docs/data.md ("The cutouts from SDSS").

`blank` and `partial` cutouts are kept beside the others as `<id>.blank.jpg`
and `<id>.partial.jpg` for inspection, never asked for again, and counted as
missing; a rerun judges every file on disk again with the current settings.

Field of view: the frame spans `cutout_radii` Petrosian radii on each side of
the galaxy's centre over `cutout_pixels` pixels, so every galaxy fills about
the same fraction of a ~100x100 px frame whatever its angular size.
"""

from __future__ import annotations

import email.utils
import hashlib
import io
import logging
import os
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import requests
from PIL import Image
from tqdm import tqdm

from ....io import atomic_path, write_table
from ...download import DownloadError  # also: too many cutouts could not be fetched
from ...screening import (  # noqa: F401  (NO_DATA_WINDOW, no_data_mask: this kind's names too)
    CENTRE_HALF_WIDTH,
    NO_DATA_WINDOW,
    judge_frame,
    no_data_mask,
    no_data_share,
)

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ["id", "status", "attempts", "bytes", "sha256", "last_error", "image_path"]
# status: ok | blank (a near-uniform frame) | partial (part of the frame has no data) | wrong_size (not the size
# asked for) | invalid (not a complete JPEG) | failed (HTTP, network, deadline); everything but ok counts as missing.
# blank, partial and wrong_size are not retried: asking again gives the same image.


class InvalidImageError(ValueError):
    """A response that is not a complete JPEG image."""


class RequestDeadlineError(requests.RequestException):
    """A response that did not arrive whole within the request deadline (e.g. a server dripping bytes)."""


@dataclass(frozen=True)
class CutoutSettings:
    """The download settings of config block data.nair_abraham (no defaults here: the schema states them)."""

    cutout_url: str
    cutout_pixels: int
    cutout_radii: float
    concurrency: int
    requests_per_second: float
    timeout_seconds: float
    request_deadline_seconds: float
    blank_max_std: float
    max_no_data_fraction: float
    max_attempts: int
    max_missing_fraction: float
    backoff_seconds: float
    max_backoff_seconds: float

    @classmethod
    def from_config(cls, block: Mapping) -> CutoutSettings:
        """From the resolved config block (which also holds the VizieR keys, not needed here)."""
        return cls(**{name: block[name] for name in cls.__dataclass_fields__})


def cutout_query(ra: float, dec: float, size_arcsec: float, settings: CutoutSettings) -> dict:
    """Query parameters of the cutout service for one galaxy (scale in arcsec per pixel)."""
    scale = 2.0 * settings.cutout_radii * float(size_arcsec) / settings.cutout_pixels
    return {
        "ra": f"{ra:.6f}",
        "dec": f"{dec:.6f}",
        "scale": f"{scale:.5f}",
        "width": settings.cutout_pixels,
        "height": settings.cutout_pixels,
    }


def validate_jpeg(data: bytes) -> None:
    """Raise InvalidImageError unless `data` is a JPEG that decodes completely."""
    if not data.startswith(b"\xff\xd8"):
        head = data[:60].decode("latin-1", "replace").replace("\n", " ")
        raise InvalidImageError(f"not a JPEG (starts with {head!r})")
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise InvalidImageError("truncated JPEG (no end-of-image marker)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise InvalidImageError(f"JPEG does not decode: {error}") from None


def pixel_spread(data: bytes) -> float:
    """Standard deviation of a JPEG's grayscale pixel values (0-255).

    About 0 for a blank or one-grey frame.
    """
    with Image.open(io.BytesIO(data)) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float32)
    return float(pixels.std())


def judge_cutout(data: bytes, settings: CutoutSettings, galaxy: str) -> tuple[str, str]:
    """(status, reason) of a complete JPEG cutout of `galaxy`: ok, wrong_size, blank or partial.

    The module docstring defines each status.

    Its size must be cutout_pixels x cutout_pixels; then a grayscale standard
    deviation below blank_max_std is blank; then a no-data fraction above
    max_no_data_fraction, or no data in the centre box, is partial (screening.judge_frame,
    the rule the folder kind's images are screened by too). `reason` names the measured value ("" when ok).
    """
    with Image.open(io.BytesIO(data)) as image:
        size = image.size
        pixels = np.asarray(image.convert("RGB"))
    wanted = (settings.cutout_pixels, settings.cutout_pixels)
    if size != wanted:
        return "wrong_size", (f"galaxy {galaxy}: the service answered with a {size[0]} x {size[1]} px image; "
                              f"asked for {wanted[0]} x {wanted[1]} (cutout_pixels)")
    return judge_frame(pixels, settings.blank_max_std, settings.max_no_data_fraction)


def blank_path(target: Path) -> Path:
    """Where a blank cutout is kept for inspection: <id>.blank.jpg beside <id>.jpg."""
    return target.with_suffix(".blank.jpg")


def partial_path(target: Path) -> Path:
    """Where a partial cutout is kept for inspection: <id>.partial.jpg beside <id>.jpg."""
    return target.with_suffix(".partial.jpg")


ASIDE = {"blank": blank_path, "partial": partial_path}  # statuses whose image is kept aside, and where


def get_within_deadline(session, url, params, settings: CutoutSettings) -> tuple[int, dict, bytes]:
    """Status, headers and whole body of a GET, or RequestDeadlineError.

    `timeout_seconds` bounds each wait for the server; `request_deadline_seconds`
    bounds the whole response: the body is read in whatever pieces arrive and
    the deadline is checked after each, so a server that drips a few bytes at a
    time is cut off at the deadline plus at most one wait.
    """
    deadline = time.monotonic() + settings.request_deadline_seconds
    read_timeout = min(settings.timeout_seconds, settings.request_deadline_seconds)
    with session.get(url, params=params, timeout=(settings.timeout_seconds, read_timeout), stream=True) as response:
        body = bytearray()
        while True:
            if time.monotonic() > deadline:
                raise RequestDeadlineError(f"no whole response within request_deadline_seconds "
                                           f"{settings.request_deadline_seconds:g} s ({len(body)} bytes so far)")
            try:
                piece = response.raw.read1(65536, decode_content=True)
            except Exception as error:  # urllib3's own errors: a timeout or a broken connection
                raise requests.ConnectionError(f"{type(error).__name__}: {error}") from None
            if not piece:
                return response.status_code, dict(response.headers), bytes(body)
            body += piece


class RateLimiter:
    """At most `rate` acquisitions per second across all threads."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self.lock = threading.Lock()
        self.next_time = time.monotonic()

    def wait(self) -> None:
        """Block until the next request may go out, then book the one after."""
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_time)
            self.next_time = start + self.interval
        time.sleep(max(0.0, start - now))


def _retry_after(headers: Mapping) -> float | None:
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _backoff(attempt: int, settings: CutoutSettings) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(settings.max_backoff_seconds, settings.backoff_seconds * 2 ** (attempt - 1)))


def _manifest_fields(status: str, attempts: int, data: bytes, last_error: str = "") -> dict:
    return {"status": status, "attempts": attempts, "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest() if data else "", "last_error": last_error}


def _keep(data: bytes, target: Path, settings: CutoutSettings, attempts: int, note: str = "") -> dict:
    """Judge a complete cutout and write it where its status says.

    <id>.jpg when ok, <id>.blank.jpg or <id>.partial.jpg when set aside, nowhere when of the wrong size (written
    under a temporary name, renamed; a copy in another of those places is removed). Its manifest fields.
    """
    status, reason = judge_cutout(data, settings, target.stem)
    places = {"ok": target, **{name: where(target) for name, where in ASIDE.items()}}
    for name, path in places.items():
        if name == status:
            if not (path.is_file() and path.read_bytes() == data):
                with atomic_path(path) as tmp:
                    tmp.write_bytes(data)
        else:
            path.unlink(missing_ok=True)
    return _manifest_fields(status, attempts, data, reason + note)


def fetch_cutout(session, url, params, target: Path, settings: CutoutSettings, limiter: RateLimiter) -> dict:
    """Fetch one cutout with retries; returns its manifest fields."""
    last_error, status = "", "failed"
    for attempt in range(1, settings.max_attempts + 1):
        limiter.wait()
        wait = None
        try:
            code, headers, data = get_within_deadline(session, url, params, settings)
            if code == 200:
                validate_jpeg(data)
                return _keep(data, target, settings, attempt)  # ok, wrong_size, blank or partial: final
            last_error = f"HTTP {code}"
            status = "failed"
            if code not in (408, 425, 429) and code < 500:
                break  # a client error will not go away by asking again
            wait = _retry_after(headers)
        except InvalidImageError as error:
            last_error, status = str(error), "invalid"
        except requests.RequestException as error:
            last_error, status = f"{type(error).__name__}: {error}", "failed"
        if attempt < settings.max_attempts:
            time.sleep(min(settings.max_backoff_seconds, wait) if wait is not None else _backoff(attempt, settings))
    return _manifest_fields(status, attempt, b"", last_error)


def existing_cutout(target: Path, settings: CutoutSettings) -> dict | None:
    """Manifest fields of a cutout already on disk, judged again and moved to where its status says.

    Manifest fields of a cutout already on disk (as <id>.jpg, or set aside as blank or partial), judged again with
    the current settings and moved to where its status says; None (ask the service) when there is none, or when it
    is not a complete JPEG of the size asked for.
    """
    for path in (target, *(where(target) for where in ASIDE.values())):
        if not path.is_file():
            continue
        data = path.read_bytes()
        try:
            validate_jpeg(data)
        except InvalidImageError:
            continue
        if judge_cutout(data, settings, target.stem)[0] == "wrong_size":
            continue  # asked for another size since: ask again
        return _keep(data, target, settings, 0, "" if path == target else " (kept from an earlier run)")
    return None


def download_cutouts(
    table: pd.DataFrame, image_dir: os.PathLike, manifest_path: os.PathLike, settings: CutoutSettings,
    persistent_manifest: os.PathLike | None = None,
) -> pd.DataFrame:
    """Fetch every galaxy's cutout that is not already valid on disk; write the manifest.

    `table` has id, ra, dec, size_arcsec. The manifest is also kept at
    `persistent_manifest` (default: beside the images), which survives a
    failed run. More missing galaxies than max_missing_fraction is an error.
    """
    image_dir = Path(image_dir)
    image_dir.mkdir(parents=True, exist_ok=True)
    persistent_manifest = Path(persistent_manifest or image_dir.parent / "download_manifest.parquet")
    rows = table[["id", "ra", "dec", "size_arcsec"]].to_dict("records")
    targets = [image_dir / f"{str(row['id']).strip()}.jpg" for row in rows]
    limiter = RateLimiter(settings.requests_per_second)
    session = requests.Session()
    session.headers["User-Agent"] = "galaxy-pretraining (https://github.com/; research workflow)"

    def one(i: int) -> dict:
        found = existing_cutout(targets[i], settings)
        if found is None:
            row = rows[i]
            params = cutout_query(row["ra"], row["dec"], row["size_arcsec"], settings)
            found = fetch_cutout(session, settings.cutout_url, params, targets[i], settings, limiter)
        return {"id": str(rows[i]["id"]).strip(), **found, "image_path": str(targets[i])}

    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        results = list(tqdm(pool.map(one, range(len(rows))), total=len(rows), desc="cutouts", unit="img"))
    manifest = pd.DataFrame(results, columns=MANIFEST_COLUMNS)
    write_table(manifest, persistent_manifest)
    missing = manifest[manifest["status"] != "ok"]
    fraction = len(missing) / max(len(manifest), 1)
    reasons = ", ".join(f"{n} {status}" for status, n in missing["status"].value_counts().items())
    log.info("cutouts: downloads done (ok=%d, missing=%d, missing_fraction=%.2f%%, reasons=%s, manifest=%s)",
             len(manifest) - len(missing), len(missing), 100 * fraction, reasons or "none", persistent_manifest)
    if fraction > settings.max_missing_fraction:
        raise DownloadError(
            f"{len(missing)} of {len(manifest)} cutouts missing ({fraction:.2%} > max_missing_fraction "
            f"{settings.max_missing_fraction:.2%}); see {persistent_manifest}. Rerun to retry only the missing ones."
        )
    write_table(manifest, manifest_path)
    return manifest
