import numpy as np
import pandas as pd
import pytest

from galaxy_pretraining.analysis.curves import (
    budget_table,
    collect_curves,
    frozen_share_table,
    long_runs_table,
    peak_accuracy,
    peak_accuracy_table,
    side_accuracy_table,
)

from helpers.tables import curve, frozen_share_runs


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


def test_budget_table_mean_sd_and_run_count():
    curves = pd.concat([
        curve([0.80, 0.84], "mine", 0), curve([0.82, 0.80], "mine", 1),
        curve([0.85, 0.86], "mine", 45, long_run=True),
    ])
    table = budget_table(peak_accuracy_table(curves, budgets=[5]))
    row = table[(table.budget == 2) & ~table.long_run].iloc[0]
    assert row.n_runs == 2
    assert row["mean"] == pytest.approx(83.0) and row["sd"] == pytest.approx(np.std([84, 82], ddof=1), abs=0.01)
    assert table[table.long_run].iloc[0].n_runs == 1
    assert not any(c.startswith("paper") for c in table.columns)  # the paper's values are papers.schneider2023's


def test_collect_curves_refuses_an_incomplete_run(tmp_path):
    path = tmp_path / "metrics.parquet"
    pd.DataFrame({"epoch": [1, 2], "test_accuracy": [0.1, 0.2]}).to_parquet(path)
    assert len(collect_curves([path], [["m", 0, 2, False, 1.0]])) == 2
    with pytest.raises(ValueError, match="expected 1..3"):
        collect_curves([path], [["m", 0, 3, False, 1.0]])


def test_long_runs_table():
    peaks = peak_accuracy_table(pd.concat([curve([0.8, 0.85, 0.84], "mine", 45, long_run=True)]), [2])
    table = long_runs_table(peaks)
    assert table[["run", "epochs", "peak_accuracy", "peak_epoch"]].values.tolist() == [[45, 3, 85.0, 2]]
    assert list(table.columns) == ["model", "run", "epochs", "peak_accuracy", "peak_epoch", "diverged"]


def test_validation_selected_accuracy_does_not_look_at_the_test_set():
    metrics = curve([0.70, 0.90, 0.80])
    metrics["validation_accuracy"] = [0.60, 0.65, 0.75]  # validation prefers epoch 3
    table = peak_accuracy_table(metrics, budgets=[2]).set_index("budget")
    assert table.loc[3, "peak_accuracy"] == 0.9 and table.loc[3, "validation_selected_accuracy"] == 0.8
    assert table.loc[2, "validation_selected_accuracy"] == 0.9 and table.loc[3, "validation_epoch"] == 3
    summary = budget_table(table.reset_index())
    assert summary.set_index("budget").loc[3, "validation_selected_mean"] == 80.0
    plain = peak_accuracy_table(curve([0.7, 0.9]), budgets=[2])
    assert plain["validation_selected_accuracy"].isna().all()
    assert "validation_selected_mean" not in budget_table(plain)


def test_frozen_share_table_reports_the_last_epoch_over_runs():
    curves, arms = frozen_share_runs()
    table = frozen_share_table(curves, arms).set_index("model")
    assert table.loc["d-frozen020", "frozen_share"] == 0.2 and np.isnan(table.loc["d-scratch", "frozen_share"])
    assert table.loc["d-frozen020", "test_accuracy_mean"] == pytest.approx(71.0)
    assert table.loc["d-frozen020", "test_accuracy_sd"] == pytest.approx(1.0)
    assert table.loc["d-frozen020", "peak_test_accuracy_mean"] == pytest.approx(76.0)
    assert table.loc["d-scratch", "test_loss_mean"] == pytest.approx(0.75) and table.loc["d-scratch", "n_runs"] == 3
    assert not any(c.startswith("paper_") for c in table.columns)  # Fu's values are papers.fu's
    with pytest.raises(ValueError, match="no finished run of model 'd-other'"):
        frozen_share_table(curves, {**arms, "d-other": arms["d-scratch"]})


def test_accuracy_per_test_side_reads_the_side_columns_of_the_curves():
    curves = pd.DataFrame({"model": "m", "run": [0, 0, 1, 1], "epoch": [1, 2, 1, 2], "long_run": False,
                           "train_fraction": 1.0, "test_accuracy": [.5, .7, .6, .8],
                           "test_accuracy_side30": [.6, .5, .7, .9], "test_accuracy_side40": [.5, .7, .6, .8]})
    table = side_accuracy_table(curves).set_index("test_side")
    assert table.loc[30, "peak_accuracy_mean"] == pytest.approx(75.0)  # peaks .6 and .9
    assert table.loc[30, "accuracy_at_best_epoch_mean"] == pytest.approx(70.0)  # epoch 2 of each: .5, .9
    assert table.loc[40, "peak_accuracy_mean"] == pytest.approx(75.0)
    with pytest.raises(ValueError, match="no test_accuracy_side"):
        side_accuracy_table(curves.drop(columns=["test_accuracy_side30", "test_accuracy_side40"]))
