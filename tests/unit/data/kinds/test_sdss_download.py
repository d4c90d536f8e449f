import io
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxy_pretraining.config import load_schema
from galaxy_pretraining.data.kinds.nair_abraham.sdss import (
    CutoutSettings,
    DownloadError,
    cutout_query,
    download_cutouts,
    judge_cutout,
    no_data_share,
    pixel_spread,
    validate_jpeg,
)

from helpers.configs import data_block
from helpers.cutout_server import CutoutServer, galaxy_jpeg

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


def test_case_sdss_partial_blank_frames_cut_by_the_footprint_are_partial(tmp_path):
    """Case sdss-partial-blank: cutouts 50 % and 90 % black (edge of the imaging) were kept as ok."""
    schedules = {"0.000000": ["galaxy"], "1.000000": ["galaxy-black50"], "2.000000": ["galaxy-black90"],
                 "3.000000": ["galaxy-black10"]}
    with CutoutServer(schedules) as fake:
        table = galaxies(["full", "half_black", "ninety_pct_black", "ten_pct_black"])
        manifest = download_cutouts(table, tmp_path / "cutouts", tmp_path / "m.parquet",
                                    settings(fake.url, max_missing_fraction=1.0))
        assert manifest["status"].tolist() == ["ok", "partial", "partial", "ok"]
        assert manifest.loc[1, "last_error"] == "partial: 40.8% of the frame has no data (max_no_data_fraction 0.25)"
        assert manifest.loc[2, "last_error"].startswith("partial: 84.0% of the frame has no data")
        assert manifest.loc[2, "last_error"].endswith("; the centre is not covered")
        assert sorted(p.name for p in (tmp_path / "cutouts").iterdir()) == [
            "G0.jpg", "G1.partial.jpg", "G2.partial.jpg", "G3.jpg"]
        again = download_cutouts(table, tmp_path / "cutouts", tmp_path / "m2.parquet",
                                 settings(fake.url, max_missing_fraction=1.0))
        assert sum(fake.requests.values()) == 4 and again["status"].tolist() == manifest["status"].tolist()
        # A looser threshold judges the kept files again and moves them: no request needed.
        looser = download_cutouts(table, tmp_path / "cutouts", tmp_path / "m3.parquet",
                                  settings(fake.url, max_missing_fraction=1.0, max_no_data_fraction=0.95))
        assert looser["status"].tolist() == ["ok", "ok", "partial", "ok"]  # G2 still: its centre has no data
        assert (tmp_path / "cutouts/G1.jpg").exists() and not (tmp_path / "cutouts/G1.partial.jpg").exists()
        assert sum(fake.requests.values()) == 4


def test_a_frame_without_data_at_its_centre_is_partial_however_small_the_gap():
    pixels = np.asarray(Image.open(io.BytesIO(galaxy_jpeg(200))).convert("RGB")).copy()
    pixels[:, 80:120] = 0  # a gap between two stripes of the imaging, through the galaxy: 20 % of the frame
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    status, reason = judge_cutout(buffer.getvalue(), settings("unused", cutout_pixels=200), "G7")
    assert status == "partial" and reason.endswith("(max_no_data_fraction 0.25); the centre is not covered"), reason
    assert judge_cutout(galaxy_jpeg(200), settings("unused", cutout_pixels=200), "G7") == ("ok", "")


def test_a_reply_of_another_size_is_recorded_naming_the_galaxy(tmp_path):
    """A service answering with its 64 px minimum instead of the 100 px asked for would double the field of view."""
    with one_galaxy_server(["clamped"]) as fake:
        manifest = download_cutouts(galaxies(["clamped"]), tmp_path / "c", tmp_path / "m.parquet",
                                    settings(fake.url, max_missing_fraction=1.0))
        row = manifest.iloc[0]
        assert row.status == "wrong_size" and row.attempts == 1
        assert row.last_error == "galaxy G0: the service answered with a 64 x 64 px image; asked for 100 x 100 (cutout_pixels)"
        assert list((tmp_path / "c").iterdir()) == []
    with one_galaxy_server(["galaxy"]) as fake:  # a file of the old size on disk is asked for again at the new size
        (tmp_path / "c" / "G0.jpg").write_bytes(galaxy_jpeg(64))
        manifest = download_cutouts(galaxies(["galaxy"]), tmp_path / "c", tmp_path / "m.parquet",
                                    settings(fake.url, cutout_pixels=128))
        assert manifest.iloc[0].status == "ok" and fake.requests[f"{0:.6f}"] == 1
        assert Image.open(tmp_path / "c" / "G0.jpg").size == (128, 128)


@pytest.mark.parametrize("pixels, valid", [(63, False), (64, True), (2048, True), (2049, False)])
def test_cutout_pixels_is_limited_to_the_services_range(pixels, valid):
    rule = load_schema()["properties"]["data"]["properties"]["nair_abraham"]["properties"]["cutout_pixels"]
    assert jsonschema.Draft202012Validator(rule).is_valid(pixels) == valid


def test_real_sdss_cutouts_are_judged_ok_except_the_two_without_data(gz1_sdss):
    """All 6,664 real SDSS JPEGs of gz1-sdss are judged ok except two, looked at by eye: 587731514224672910 is cut by
    the footprint's edge (its top third black, 34 %), 587729387686002878 is the service's error message
    ("getFrames() has failed") on black (78 %, centre too). No other frame is blank or near the thresholds."""
    block = data_block("nair_abraham", cutout_pixels=423)["nair_abraham"]
    judged = CutoutSettings.from_config(block)
    paths = sorted((gz1_sdss / "images").iterdir())
    assert len(paths) == 6664

    def measure(path):
        data = path.read_bytes()
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        return path.stem, judge_cutout(data, judged, path.stem)[0], pixel_spread(data), *no_data_share(pixels)

    with ThreadPoolExecutor(4) as pool:
        rows = pd.DataFrame(pool.map(measure, paths), columns=["id", "status", "spread", "no_data", "centre"])
    flagged = rows[rows["status"] != "ok"].set_index("id")
    assert flagged["status"].to_dict() == {"587729387686002878": "partial", "587731514224672910": "partial"}
    good = rows[rows["status"] == "ok"]
    assert good["spread"].min() > 2 * block["blank_max_std"]  # smallest 5.96
    assert good["no_data"].max() < 0.6 * block["max_no_data_fraction"]  # largest 0.13
    assert not good["centre"].any()
