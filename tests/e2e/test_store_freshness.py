"""A store older than its images is rebuilt (case stale-images): a replaced cutout rebuilds images.npy, and only it
and what depends on it."""

import shutil
import subprocess
import time

import numpy as np
import pytest
import yaml
from PIL import Image

from helpers.paths import DATA

CASE = DATA / "cases/stale-images"  # the case's sample: 40 JPEGs of 32 px and their labels


@pytest.fixture
def study(root, tmp_path, snakemake_exe):
    sample = tmp_path / "sample"
    shutil.copytree(CASE / "sample", sample)
    config = yaml.safe_load((root / "config/demo.yaml").read_text())
    config.update(study="stale-images", classes=["elliptical", "spiral"], image_size=32,
                  splits={"runs": 1, "test_size": 10, "seed": 2023})
    config["training"]["crop_size"] = 32
    config["analysis"]["example_run"] = 0
    config["data"] = {"kind": "folder", "folder": {
        "table": str(sample / "labels.csv"), "id_column": "id", "label_column": "label",
        "image_dir": str(sample / "images"), "image_pattern": "{id}.jpg",
        "class_map": {"elliptical": [0], "spiral": [1]}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    base = [snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(tmp_path / "work"), "--configfile",
            str(tmp_path / "config.yaml"), "--cores", "1"]

    def snakemake(*targets, dry=False):
        result = subprocess.run(base + list(targets) + (["-n"] if dry else []), capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return result.stdout

    return tmp_path / "work/results/stale-images", sample, snakemake


def job_counts(output: str) -> dict:
    if "Nothing to be done" in output:
        return {}
    stats = output.split("Job stats:")[1].split("\n\n")[0]
    return {line.split()[0]: int(line.split()[1]) for line in stats.splitlines()[3:]
            if len(line.split()) == 2 and line.split()[1].isdigit() and line.split()[0] != "total"}


def test_a_replaced_image_rebuilds_the_store_and_nothing_before_it(study):
    results, sample, snakemake = study
    store, splits = "results/stale-images/images.npy", "results/stale-images/splits.parquet"
    snakemake(store, splits)
    assert job_counts(snakemake(store, splits, dry=True)) == {}
    before = np.load(results / "images.npy")[0].mean()

    time.sleep(0.05)
    ramp = np.linspace(244, 255, 32).astype(np.uint8)  # bright, and not blank: the folder kind's images are screened
    bright = np.repeat(np.repeat(ramp[:, None, None], 32, axis=1), 3, axis=2)
    Image.fromarray(bright).save(sample / "images/g000.jpg")  # a corrected cutout
    # the store, and the splits drawn from the catalog of the rows it keeps; not the catalog of the table
    assert job_counts(snakemake(store, splits, dry=True)) == {"array_store": 1, "splits": 1}
    snakemake(store, splits)
    after = np.load(results / "images.npy")
    assert abs(after[0].mean() - 250) < 3 and abs(before - 250) > 20
    assert job_counts(snakemake(store, splits, dry=True)) == {}  # rebuilt once, then up to date


def test_the_store_stays_up_to_date_when_no_image_changed(study):
    results, sample, snakemake = study
    snakemake("results/stale-images/images.npy")
    (sample / "notes.txt").write_text("a file beside the images that the catalog does not name")
    assert job_counts(snakemake("results/stale-images/images.npy", dry=True)) == {}
