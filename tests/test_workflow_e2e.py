"""The whole workflow end to end on a very small mock study (about a minute on 2 cores)."""

import subprocess

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_study(root, tmp_path_factory, snakemake_exe):
    workdir = tmp_path_factory.mktemp("study")
    config = yaml.safe_load((root / "config/demo.yaml").read_text())
    config["study"] = "small"
    config["data"]["mock"].update(n_galaxies=120, image_size_min=48, image_size_max=64)
    config["image_size"] = 40
    config["splits"].update(runs=2, test_size=30)
    for spec in config["models"].values():
        spec["epochs"] = 2
    config["long_runs"] = {"runs": [1], "epochs": 3}
    config["training"].update(crop_size=32, batch_size=32)
    config["analysis"]["budgets"] = [1, 2]
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    command = [snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(workdir), "--configfile",
               str(workdir / "config.yaml"), "--cores", "2"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-4000:]
    second = subprocess.run(command + ["-n"], capture_output=True, text=True, timeout=300)
    return workdir / "results/small", config, second


def test_every_stage_writes_its_table(small_study):
    results, config, _ = small_study
    catalog = pd.read_parquet(results / "catalog.parquet")
    assert len(catalog) == 120
    assert set(catalog.columns) >= {"id", "ra", "dec", "redshift", "size_arcsec", "raw_label", "class_index",
                                    "class_name", "image_path"}
    import numpy as np

    store = np.load(results / "images.npy", mmap_mode="r")
    assert store.shape == (120, 3, 40, 40) and store.dtype == np.uint8
    splits = pd.read_parquet(results / "splits.parquet")
    assert sorted(splits["run"].unique()) == [0, 1]
    assert (splits[splits.run == 0]["subset"] == "test").sum() == 30


def test_training_runs_and_long_runs_have_per_epoch_metrics(small_study):
    results, config, _ = small_study
    for model in config["models"]:
        for folder, epochs in (("run000", 2), ("run001", 2), ("run001-e3", 3)):
            metrics = pd.read_parquet(results / "runs" / model / folder / "metrics.parquet")
            assert list(metrics["epoch"]) == list(range(1, epochs + 1))
            assert (results / "runs" / model / folder / "predictions.parquet").exists()


def test_tables_and_figure(small_study):
    results, config, _ = small_study
    peaks = pd.read_parquet(results / "tables/peak_accuracy.parquet")
    assert set(peaks["model"]) == set(config["models"])
    standard = peaks[~peaks["long_run"]]
    assert set(standard["budget"]) == {1, 2} and set(peaks[peaks["long_run"]]["budget"]) == {1, 2, 3}
    table1 = pd.read_csv(results / "tables/table1_budgets.csv")
    assert table1[~table1["long_run"]]["n_runs"].eq(2).all()
    assert ((table1["mean"] > 0) & (table1["mean"] < 100)).all()
    figure = results / "figures/test_accuracy_curves.png"
    assert figure.stat().st_size > 10_000 and figure.read_bytes()[:4] == b"\x89PNG"


def test_a_second_run_has_nothing_to_do(small_study):
    _, _, second = small_study
    assert second.returncode == 0
    assert "Nothing to be done" in second.stdout + second.stderr
