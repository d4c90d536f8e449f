"""analysis.cost: device-hours from real runs' metrics equal the sum of their epoch seconds, labelled by device."""

import subprocess

import numpy as np
import pandas as pd
import pytest

from galaxy_pretraining.analysis.cost import budget_cost_table, cost_table, cost_to_peak_table, hours_to_reach
from galaxy_pretraining.analysis.curves import collect_curves
from galaxy_pretraining.provenance import provenance_table

from helpers.paths import ROOT
from helpers.training import settings, train_tiny


@pytest.fixture(scope="module")
def curves(tiny_study, tmp_path_factory):
    """Two models of two real 3-epoch runs each (the second model's runs with another seed), gathered as rule
    `curves` does."""
    out = tmp_path_factory.mktemp("runs")
    paths, keys = [], []
    for model, seed in (("pretrained", 1), ("scratch", 2)):
        for run in (0, 1):
            folder = out / model / f"run{run:03d}"
            train_tiny(tiny_study, folder, settings(epochs=3, run=run, seed=seed))
            paths.append(folder / "metrics.parquet")
            keys.append((model, run, 3, False, 1.0))
    return collect_curves([str(p) for p in paths], keys)


def test_the_cost_table_hours_are_the_sum_of_the_runs_epoch_seconds(curves):
    table = cost_table(curves)
    device = curves["device"].iloc[0]
    assert device.startswith("cpu (") and table["device"].eq(device).all()
    per_run = curves.groupby(["model", "run"])["seconds"].sum() / 3600
    study = table[table["model"] == "all runs"].iloc[0]
    assert study["n_runs"] == 4
    assert study["device_hours_total"] == pytest.approx(per_run.sum(), rel=1e-12)
    for model in ("pretrained", "scratch"):
        row = table[table["model"] == model].iloc[0]
        assert row["device_hours_per_run_mean"] == pytest.approx(per_run[model].mean(), rel=1e-12)
        assert row["device_hours_per_run_sd"] == pytest.approx(per_run[model].std(), rel=1e-12)
        assert row["device_hours_total"] == pytest.approx(per_run[model].sum(), rel=1e-12)


def test_runs_on_other_devices_are_never_pooled(curves):
    moved = curves.copy()
    moved.loc[(moved["model"] == "scratch") & (moved["run"] == 1) & (moved["epoch"] == 3), "device"] = "NVIDIA H100"
    table = cost_table(moved)
    mixed = table[table["device"].str.contains(r" \+ ")]
    assert mixed["model"].tolist() == ["scratch", "all runs"] and mixed["n_runs"].tolist() == [1, 1]
    assert table.groupby("model")["n_runs"].sum().to_dict() == {"all runs": 4, "pretrained": 2, "scratch": 2}


def test_hours_to_each_budget_and_to_the_other_arms_peak(curves):
    budgets = budget_cost_table(curves, [1, 3])
    first = curves[curves["epoch"] == 1].groupby("model")["seconds"].mean() / 3600
    row = budgets[(budgets["model"] == "scratch") & (budgets["budget"] == 1)].iloc[0]
    assert row["n_runs"] == 2 and row["device_hours_mean"] == pytest.approx(first["scratch"], rel=1e-12)
    to_peak = cost_to_peak_table(curves, [["pretrained", "scratch"]]).set_index("model")
    target = curves[curves["model"] == "scratch"].groupby("run")["test_accuracy"].max().mean()
    assert to_peak.loc["pretrained", "target_accuracy"] == pytest.approx(target)
    metrics = pd.DataFrame({"epoch": [1, 2, 3], "test_accuracy": [0.2, 0.6, 0.9], "seconds": [3600, 1800, 900]})
    assert hours_to_reach(metrics, 0.5) == 1.5 and np.isnan(hours_to_reach(metrics, 0.95))


def test_provenance_names_the_clones_real_commit(curves):
    table = provenance_table(curves)
    assert len(table) == 4 and table["attempt"].tolist() == [1, 1, 1, 1]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    assert set(table["commit"]) == {head}
