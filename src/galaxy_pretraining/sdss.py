"""SDSS colour cutouts: one JPEG per galaxy from the SkyServer image cutout service.

Robust for fourteen thousand requests to a public service: bounded
concurrency, a global request rate, timeouts, retries with exponential
backoff and jitter (honouring Retry-After), every file fully decoded before it
counts, written under a temporary name and renamed, and a manifest row per
galaxy. A file already present and valid is never requested again, so a
killed run resumes where it stopped.

Field of view: the frame spans `cutout_radii` Petrosian radii on each side of
the galaxy's centre over `cutout_pixels` pixels, so every galaxy fills about
the same fraction of a ~100x100 px frame whatever its angular size.
"""

from __future__ import annotations

import email.utils
import hashlib
import io
import os
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import requests
from PIL import Image
from tqdm import tqdm

from .io import atomic_path, write_table

MANIFEST_COLUMNS = ["id", "status", "attempts", "bytes", "sha256", "last_error", "image_path"]


class InvalidImageError(ValueError):
    """A response that is not a complete JPEG image."""


class DownloadError(RuntimeError):
    """Too many cutouts could not be fetched."""


@dataclass(frozen=True)
class CutoutSettings:
    """The download settings of config block data.nair_abraham (no defaults here: the schema states them)."""

    cutout_url: str
    cutout_pixels: int
    cutout_radii: float
    concurrency: int
    requests_per_second: float
    timeout_seconds: float
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


class RateLimiter:
    """At most `rate` acquisitions per second across all threads."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self.lock = threading.Lock()
        self.next_time = time.monotonic()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_time)
            self.next_time = start + self.interval
        time.sleep(max(0.0, start - now))


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
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


def fetch_cutout(session, url, params, target: Path, settings: CutoutSettings, limiter: RateLimiter) -> dict:
    """Fetch one cutout with retries; returns its manifest fields."""
    last_error, status = "", "failed"
    for attempt in range(1, settings.max_attempts + 1):
        limiter.wait()
        wait = None
        try:
            response = session.get(url, params=params, timeout=settings.timeout_seconds)
            if response.status_code == 200:
                data = response.content
                validate_jpeg(data)
                with atomic_path(target) as tmp:
                    tmp.write_bytes(data)
                return {"status": "ok", "attempts": attempt, "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(), "last_error": ""}
            last_error = f"HTTP {response.status_code}"
            status = "failed"
            if response.status_code not in (408, 425, 429) and response.status_code < 500:
                break  # a client error will not go away by asking again
            wait = _retry_after(response)
        except InvalidImageError as error:
            last_error, status = str(error), "invalid"
        except requests.RequestException as error:
            last_error, status = f"{type(error).__name__}: {error}", "failed"
        if attempt < settings.max_attempts:
            time.sleep(min(settings.max_backoff_seconds, wait) if wait is not None else _backoff(attempt, settings))
    return {"status": status, "attempts": attempt, "bytes": 0, "sha256": "", "last_error": last_error}


def existing_cutout(target: Path) -> dict | None:
    """Manifest fields of a valid file already on disk (no request needed), else None."""
    if not target.is_file():
        return None
    data = target.read_bytes()
    try:
        validate_jpeg(data)
    except InvalidImageError:
        return None
    return {"status": "ok", "attempts": 0, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "last_error": ""}


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
        found = existing_cutout(targets[i])
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
    print(f"cutouts: {len(manifest) - len(missing)} ok, {len(missing)} missing ({fraction:.2%}); "
          f"manifest {persistent_manifest}", flush=True)
    if fraction > settings.max_missing_fraction:
        raise DownloadError(
            f"{len(missing)} of {len(manifest)} cutouts missing ({fraction:.2%} > max_missing_fraction "
            f"{settings.max_missing_fraction:.2%}); see {persistent_manifest}. Rerun to retry only the missing ones."
        )
    write_table(manifest, manifest_path)
    return manifest
