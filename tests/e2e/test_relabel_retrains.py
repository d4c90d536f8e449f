"""Corrected labels retrain a finished study's runs (case relabel-stale-metrics): the same command, run again after
the label table was fixed, trains the run again, and its predictions and Table 2 hold the new labels."""

import shutil
import subprocess

import pandas as pd
import yaml

from helpers.paths import DATA

CASE = DATA / "cases/relabel-stale-metrics"  # 40 JPEGs of 32 px; labels-first.csv, and labels-fixed.csv (20 fixed)


def test_corrected_labels_retrain_the_run_and_every_table_follows(root, tmp_path, snakemake_exe):
    sample = tmp_path / "sample"
    shutil.copytree(CASE / "images", sample / "images")
    shutil.copy(CASE / "labels-first.csv", sample / "labels.csv")
    config = yaml.safe_load((CASE / "config.yaml").read_text().replace("<cases>/relabel-stale-metrics", str(sample)))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    results = tmp_path / "work/results/relabel-stale-metrics"
    run = results / "runs/lite-scratch/run000"
    table2 = "results/relabel-stale-metrics/tables/table2_class_accuracy.csv"

    def snakemake():
        result = subprocess.run([snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(tmp_path / "work"),
                                 "--configfile", str(tmp_path / "config.yaml"), "--cores", "1", table2],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]

    snakemake()
    first = pd.read_parquet(run / "metrics.parquet")
    shutil.copy(CASE / "labels-fixed.csv", sample / "labels.csv")  # 20 spirals labelled 0, corrected
    snakemake()
    log = (results / "logs/train/lite-scratch/run000.log").read_text()
    assert "run 0: retrained (reason=data changed: labels of " in log and "without training" not in log
    catalog = pd.read_parquet(results / "catalog.parquet")
    predictions = pd.read_parquet(run / "predictions.parquet")
    assert (predictions["true"].to_numpy() == catalog["class_index"].to_numpy()[predictions["row"]]).all()
    second = pd.read_parquet(run / "metrics.parquet")
    assert not first["test_confusion"].equals(second["test_confusion"])
    # Table 2 from the new labels: each class's test support in the best epoch's confusion matrix is the catalog's
    confusions = pd.read_parquet(results / "tables/best_epoch_confusions.parquet")
    support = confusions.groupby("true")["count"].sum()
    expected = catalog["class_index"].to_numpy()[predictions["row"]]
    assert support.to_dict() == {c: int((expected == c).sum()) for c in support.index}
