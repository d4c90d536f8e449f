import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from galaxy_pretraining.data.kinds.nair_abraham.sdss import (
    CutoutSettings,
    DownloadError,
    cutout_query,
    download_cutouts,
    pixel_spread,
    validate_jpeg,
)

from helpers.configs import data_block
from helpers.cutout_server import CutoutServer

SCHEDULES = {
    "ok": ["ok"],
    "503": ["503", "ok"],
    "429": ["429", "ok"],
    "reset": ["reset", "ok"],
    "slow": ["slow", "ok"],
    "truncated": ["truncated", "ok"],
    "html": ["html", "ok"],
    "always-html": ["html"],
    "always-truncated": ["truncated"],
    "gone": ["404"],
}
RECOVERABLE = ["ok", "503", "429", "reset", "slow", "truncated", "html"]


def galaxies(names):
    # The fake service recognises a galaxy by its ra, so ra carries the schedule's name index.
    return pd.DataFrame({"id": [f"G{i}" for i in range(len(names))], "ra": [float(i) for i in range(len(names))],
                         "dec": 1.0, "size_arcsec": 10.0})


def settings(url, **overrides):
    base = dict(cutout_url=url, concurrency=4, requests_per_second=200, timeout_seconds=0.5, max_attempts=3,
                backoff_seconds=0.01, max_backoff_seconds=1.5, max_missing_fraction=0.5)
    return CutoutSettings.from_config(data_block("nair_abraham", **{**base, **overrides})["nair_abraham"])


@pytest.fixture
def server():
    names = list(SCHEDULES)
    schedules = {f"{i:.6f}": SCHEDULES[name] for i, name in enumerate(names)}
    with CutoutServer(schedules, slow_seconds=1.5) as fake:
        yield fake, names


def test_faults_are_retried_and_unrecoverable_ones_recorded(server, tmp_path):
    fake, names = server
    table = galaxies(names)
    manifest = download_cutouts(table, tmp_path / "cutouts", tmp_path / "manifest.parquet", settings(fake.url))
    by_name = manifest.assign(name=names).set_index("name")
    for name in RECOVERABLE:
        row = by_name.loc[name]
        assert row.status == "ok", (name, row.last_error)
        validate_jpeg((tmp_path / "cutouts" / f"{row.id}.jpg").read_bytes())
    assert by_name.loc["ok", "attempts"] == 1 and by_name.loc["503", "attempts"] == 2
    assert by_name.loc["always-html", "status"] == "invalid" and "not a JPEG" in by_name.loc["always-html", "last_error"]
    assert by_name.loc["always-truncated", "status"] == "invalid"
    assert by_name.loc["always-html", "attempts"] == 3
    assert by_name.loc["gone", "status"] == "failed" and by_name.loc["gone", "last_error"] == "HTTP 404"
    assert by_name.loc["gone", "attempts"] == 1  # a client error is not retried
    # nothing partial: exactly the valid images, no temporary files
    files = sorted(p.name for p in (tmp_path / "cutouts").iterdir())
    assert files == sorted(f"{by_name.loc[n, 'id']}.jpg" for n in RECOVERABLE)
    assert pd.read_parquet(tmp_path / "manifest.parquet").equals(manifest)

    # A rerun asks the service only for what is still missing.
    before = dict(fake.requests)
    download_cutouts(table, tmp_path / "cutouts", tmp_path / "manifest2.parquet", settings(fake.url))
    asked = {key: fake.requests[key] - before.get(key, 0) for key in fake.requests}
    for i, name in enumerate(names):
        assert (asked.get(f"{i:.6f}", 0) == 0) == (name in RECOVERABLE), name


def test_too_many_missing_fails_naming_the_manifest(server, tmp_path):
    fake, names = server
    with pytest.raises(DownloadError, match="download_manifest.parquet") as error:
        download_cutouts(galaxies(names), tmp_path / "cutouts", tmp_path / "manifest.parquet",
                         settings(fake.url, max_missing_fraction=0.1))
    assert "3 of 10 cutouts missing" in str(error.value)
    assert not (tmp_path / "manifest.parquet").exists()
    kept = pd.read_parquet(tmp_path / "download_manifest.parquet")
    assert (kept["status"] == "ok").sum() == len(RECOVERABLE)


def test_field_of_view_scales_with_the_galaxy():
    s = settings("unused", cutout_pixels=100, cutout_radii=2.0)
    small, large = cutout_query(10, 1, 5.0, s), cutout_query(10, 1, 20.0, s)
    assert float(small["scale"]) == pytest.approx(0.2) and float(large["scale"]) == pytest.approx(0.8)
    assert small["width"] == small["height"] == 100


def one_galaxy_server(schedule):
    return CutoutServer({f"{0:.6f}": schedule})


def test_a_blank_cutout_is_recorded_as_blank_kept_aside_and_not_asked_for_again(tmp_path):
    with one_galaxy_server(["blank", "ok"]) as fake:
        table = galaxies(["edge-of-footprint"])
        manifest = download_cutouts(table, tmp_path / "cutouts", tmp_path / "m.parquet",
                                    settings(fake.url, max_missing_fraction=1.0))
        row = manifest.iloc[0]
        assert row.status == "blank" and row.attempts == 1 and "grayscale std 0.00" in row.last_error
        assert sorted(p.name for p in (tmp_path / "cutouts").iterdir()) == ["G0.blank.jpg"]
        again = download_cutouts(table, tmp_path / "cutouts", tmp_path / "m2.parquet",
                                 settings(fake.url, max_missing_fraction=1.0))
        assert fake.requests[f"{0:.6f}"] == 1 and again.iloc[0].status == "blank"


def test_a_blank_cutout_counts_as_missing():
    with one_galaxy_server(["grey"]) as fake, pytest.raises(DownloadError, match="1 of 1 cutouts missing"):
        download_cutouts(galaxies(["grey"]), Path(tempfile.mkdtemp()) / "c", Path(tempfile.mkdtemp()) / "m.parquet",
                         settings(fake.url, max_missing_fraction=0.0))


def test_a_dripping_server_is_cut_off_at_the_request_deadline(tmp_path):
    """A 100 px noise JPEG dripped 16 bytes per 20 ms takes about 13 s; each read is far inside the timeout."""
    with one_galaxy_server(["drip"]) as fake:
        start = time.monotonic()
        manifest = download_cutouts(galaxies(["drip"]), tmp_path / "c", tmp_path / "m.parquet",
                                    settings(fake.url, request_deadline_seconds=1.0, max_attempts=2,
                                             max_missing_fraction=1.0))
        elapsed = time.monotonic() - start
    row = manifest.iloc[0]
    assert row.status == "failed" and "request_deadline_seconds 1" in row.last_error and row.attempts == 2
    assert elapsed < 2 * (1.0 + 0.5) + 2.0  # two attempts, each the deadline plus at most one wait, and backoff


def test_a_dripped_cutout_that_arrives_in_time_is_kept(tmp_path):
    with one_galaxy_server(["drip"]) as fake:
        manifest = download_cutouts(galaxies(["drip"]), tmp_path / "c", tmp_path / "m.parquet",
                                    settings(fake.url, request_deadline_seconds=120.0))
    assert manifest.iloc[0].status == "ok"
    validate_jpeg((tmp_path / "c" / "G0.jpg").read_bytes())


def test_no_real_sdss_cutout_is_blank(gz1_sdss):
    """Every one of the 6,664 real SDSS JPEGs of gz1-sdss is well above the blank threshold (smallest: 5.96)."""
    threshold = data_block("nair_abraham")["nair_abraham"]["blank_max_std"]
    spreads = {path.name: pixel_spread(path.read_bytes()) for path in sorted((gz1_sdss / "images").iterdir())}
    assert len(spreads) == 6664
    flagged = {name: s for name, s in spreads.items() if s < threshold}
    assert not flagged
    assert min(spreads.values()) > 2 * threshold
