import numpy as np
import pandas as pd
import pytest

from galaxy_pretraining.analysis import budget_table, collect_curves, peak_accuracy, peak_accuracy_table


def curve(accuracies, model="m", run=0, long_run=False):
    n = len(accuracies)
    return pd.DataFrame({"model": model, "run": run, "epochs": n, "long_run": long_run,
                         "epoch": np.arange(1, n + 1), "test_accuracy": accuracies})


def test_peak_within_a_budget_and_first_epoch_on_ties():
    metrics = curve([0.5, 0.7, 0.6, 0.7, 0.9])
    assert peak_accuracy(metrics, 3) == (0.7, 2)
    assert peak_accuracy(metrics, 4) == (0.7, 2)  # tie: the first epoch that reached it
    assert peak_accuracy(metrics, 5) == (0.9, 5)


def test_peak_table_reads_budgets_off_the_curve_and_skips_longer_ones():
    curves = pd.concat([curve([0.5, 0.8, 0.6, 0.7], "a"), curve([0.4, 0.5], "b")])
    table = peak_accuracy_table(curves, budgets=[1, 2, 3, 10])
    a = table[table.model == "a"].set_index("budget")
    assert list(a.index) == [1, 2, 3, 4]  # 10 > 4 epochs trained: left out; 4 (all epochs) always in
    assert a.loc[1, "peak_accuracy"] == 0.5 and a.loc[3, "peak_accuracy"] == 0.8 and a.loc[3, "peak_epoch"] == 2
    assert list(table[table.model == "b"]["budget"]) == [1, 2]


def test_budget_table_mean_sd_and_run_count_with_paper_values():
    curves = pd.concat([
        curve([0.80, 0.84], "alexnet-imagenet", 0), curve([0.82, 0.80], "alexnet-imagenet", 1),
        curve([0.85, 0.86], "alexnet-imagenet", 45, long_run=True),
    ])
    peaks = peak_accuracy_table(curves, budgets=[5])
    table = budget_table(peaks)
    row = table[(table.budget == 2) & ~table.long_run].iloc[0]
    assert row.n_runs == 2
    assert row["mean"] == pytest.approx(83.0) and row["sd"] == pytest.approx(np.std([84, 82], ddof=1), abs=0.01)
    paper = budget_table(peak_accuracy_table(pd.concat([curve([0.8] * 5, "alexnet-imagenet")]), [5]))
    assert paper.iloc[0]["paper_mean"] == 79.3
    long = table[table.long_run].iloc[0]
    assert long.n_runs == 1 and np.isnan(long["paper_mean"])


def test_collect_curves_refuses_an_incomplete_run(tmp_path):
    path = tmp_path / "metrics.parquet"
    pd.DataFrame({"epoch": [1, 2], "test_accuracy": [0.1, 0.2]}).to_parquet(path)
    assert len(collect_curves([path], [["m", 0, 2, False]])) == 2
    with pytest.raises(ValueError, match="expected 1..3"):
        collect_curves([path], [["m", 0, 3, False]])
