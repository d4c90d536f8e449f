import numpy as np
import pandas as pd
import pytest

from galaxy_pretraining.analysis import (
    best_epoch_confusions,
    budget_table,
    collect_curves,
    comparison_table,
    confusion_summary,
    long_runs_table,
    paired_gains,
    peak_accuracy,
    peak_accuracy_table,
    per_class_metrics,
    per_class_summary,
    sign_test,
)


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


PAPER_ARMS = {"mine": "pretrained", "theirs": "scratch"}  # the paper's comparison, models named as a user likes


def test_budget_table_mean_sd_and_run_count_with_paper_values():
    curves = pd.concat([
        curve([0.80, 0.84], "mine", 0), curve([0.82, 0.80], "mine", 1),
        curve([0.85, 0.86], "mine", 45, long_run=True),
    ])
    peaks = peak_accuracy_table(curves, budgets=[5])
    table = budget_table(peaks, PAPER_ARMS)
    row = table[(table.budget == 2) & ~table.long_run].iloc[0]
    assert row.n_runs == 2
    assert row["mean"] == pytest.approx(83.0) and row["sd"] == pytest.approx(np.std([84, 82], ddof=1), abs=0.01)
    paper = budget_table(peak_accuracy_table(pd.concat([curve([0.8] * 5, "mine")]), [5]), PAPER_ARMS)
    assert (paper.iloc[0]["paper_mean"], paper.iloc[0]["paper_sd"]) == (79.3, 1.2)
    scratch = budget_table(peak_accuracy_table(curve([0.8] * 400, "theirs"), [200]), PAPER_ARMS).set_index("budget")
    assert (scratch.loc[200, "paper_mean"], scratch.loc[400, "paper_sd"]) == (79.7, 0.9)
    long = table[table.long_run].iloc[0]
    assert long.n_runs == 1 and np.isnan(long["paper_mean"])
    assert not any(c.startswith("paper") for c in budget_table(peaks, {}).columns)  # not the paper's comparison


def test_collect_curves_refuses_an_incomplete_run(tmp_path):
    path = tmp_path / "metrics.parquet"
    pd.DataFrame({"epoch": [1, 2], "test_accuracy": [0.1, 0.2]}).to_parquet(path)
    assert len(collect_curves([path], [["m", 0, 2, False, 1.0]])) == 2
    with pytest.raises(ValueError, match="expected 1..3"):
        collect_curves([path], [["m", 0, 3, False, 1.0]])


def confusion_rows(model, run, matrix, epoch=1):
    return [(model, run, epoch, t, p, n) for t, row in enumerate(matrix) for p, n in enumerate(row)]


def confusions(*blocks):
    return pd.DataFrame([r for b in blocks for r in b], columns=["model", "run", "peak_epoch", "true", "predicted", "count"])


def test_per_class_metrics_by_hand_including_an_absent_class():
    names = ["a", "b", "c"]
    table = per_class_metrics(confusions(confusion_rows("m", 0, [[8, 2, 0], [1, 3, 0], [0, 0, 0]])), names)
    row = table.set_index("class_name")
    assert row.loc["a", "recall"] == 0.8 and row.loc["a", "precision"] == pytest.approx(8 / 9)
    assert row.loc["a", "f1"] == pytest.approx(2 * 0.8 * (8 / 9) / (0.8 + 8 / 9))
    assert row.loc["b", "recall"] == 0.75 and row.loc["b", "precision"] == 0.6
    # class c is absent from this test split and never predicted: undefined, not zero
    assert row.loc["c", "support"] == 0 and np.isnan(row.loc["c", "recall"]) and np.isnan(row.loc["c", "precision"])


def test_per_class_summary_counts_only_runs_where_the_class_is_present():
    names = ["a", "b"]
    per_run = per_class_metrics(confusions(confusion_rows("m", 0, [[5, 5], [0, 10]]),
                                           confusion_rows("m", 1, [[10, 0], [0, 0]])), names)
    summary = per_class_summary(per_run, names, {}).set_index("class_name")
    assert summary.loc["a", "recall_mean"] == 75.0 and summary.loc["a", "recall_n_runs"] == 2
    assert summary.loc["b", "recall_mean"] == 100.0 and summary.loc["b", "recall_n_runs"] == 1


def test_confusion_summary_is_proportions_of_each_true_class():
    table = confusion_summary(confusions(confusion_rows("m", 0, [[3, 1], [0, 4]]),
                                         confusion_rows("m", 1, [[1, 1], [2, 2]])))
    cell = table.set_index(["true", "predicted"]).loc[(0, 0)]
    assert cell["mean"] == pytest.approx((0.75 + 0.5) / 2) and cell["n_runs"] == 2


def test_sign_test_of_the_paper_and_a_run_where_scratch_wins():
    assert sign_test([1.0] * 100)["p_value"] == pytest.approx(2.0**-99)  # 1.58e-30
    result = sign_test([0.5, 0.2, -0.1, 0.0])
    assert (result["wins"], result["losses"], result["ties"]) == (2, 1, 1)
    assert result["p_value"] == pytest.approx(1.0)


def test_paired_gains_and_comparisons():
    curves = pd.concat([
        curve([0.80, 0.84, 0.83, 0.83], "pre", 0), curve([0.70, 0.75, 0.78, 0.82], "scr", 0),
        curve([0.80, 0.81, 0.80, 0.80], "pre", 1), curve([0.70, 0.79, 0.80, 0.83], "scr", 1),  # scratch wins run 1
    ])
    # pretrained trains 2 epochs in this toy: read its curve only up to 2, scratch up to 4
    curves = curves[~((curves.model == "pre") & (curves.epoch > 2))].assign(
        epochs=lambda t: np.where(t.model == "pre", 2, 4))
    peaks = peak_accuracy_table(curves, budgets=[2])
    gains = paired_gains(peaks, "pre", "scr")
    assert gains["peak_accuracy_gain"].round(6).tolist() == [2.0, -2.0]
    assert gains["equal_budget_gain"].round(6).tolist() == [9.0, 2.0]
    assert gains["peak_epoch_difference"].tolist() == [2 - 4, 2 - 4]
    table = comparison_table(gains, {}).set_index("comparison")
    assert (table.loc["peak_accuracy", "wins"], table.loc["peak_accuracy", "losses"]) == (1, 1)
    assert table.loc["peak_epoch", "wins"] == 2  # earlier peaks win
    assert table.loc["equal_budget", "mean_difference"] == pytest.approx(5.5)
    assert not any(c.startswith("paper") for c in table.columns)
    paper = comparison_table(gains.replace({"pre": "mine", "scr": "theirs"}), PAPER_ARMS).set_index("comparison")
    assert paper.loc["peak_accuracy", "paper_p_value"] == pytest.approx(1.5777e-30, rel=1e-3)
    assert paper.loc["peak_accuracy", "paper_wins"] == 100 and paper.loc["equal_budget", "paper_mean_difference"] == 4.6


def test_best_epoch_confusions_take_the_peak_epoch():
    metrics = curve([0.5, 0.9, 0.7])
    metrics["test_confusion"] = [[[1, 1], [1, 1]], [[2, 0], [0, 2]], [[2, 0], [1, 1]]]
    peaks = peak_accuracy_table(metrics, budgets=[3])
    table = best_epoch_confusions(metrics, peaks)
    assert table["peak_epoch"].unique().tolist() == [2] and table["count"].tolist() == [2, 0, 0, 2]


def test_long_runs_table():
    peaks = peak_accuracy_table(pd.concat([curve([0.8, 0.85, 0.84], "mine", 45, long_run=True)]), [2])
    table = long_runs_table(peaks, {})
    assert table[["run", "epochs", "peak_accuracy", "peak_epoch"]].values.tolist() == [[45, 3, 85.0, 2]]
    assert list(table.columns) == ["model", "run", "epochs", "peak_accuracy", "peak_epoch"]
    long = peak_accuracy_table(pd.concat([curve([0.8] * 1000, "theirs", 47, long_run=True)]), [2])
    paper = long_runs_table(long, PAPER_ARMS)
    assert paper[["paper_peak_accuracy", "paper_peak_epoch"]].values.tolist() == [[83.4, 994]]


def test_tables_2_and_4_carry_every_paper_cell_in_the_paper_comparison():
    from galaxy_pretraining.papers.schneider2023 import CLASSES

    per_run = per_class_metrics(confusions(confusion_rows("mine", 0, np.eye(4, dtype=int) * 5),
                                           confusion_rows("theirs", 0, np.eye(4, dtype=int) * 5)), CLASSES)
    summary = per_class_summary(per_run, CLASSES, PAPER_ARMS).set_index(["model", "class_name"])
    paper_columns = [f"paper_{m}_{s}" for m in ("recall", "precision", "f1") for s in ("mean", "sd")]
    assert summary[paper_columns].notna().all().all()
    assert summary.loc[("mine", "irregular+misc"), "paper_recall_mean"] == 38.1
    assert summary.loc[("theirs", "irregular+misc"), "paper_recall_mean"] == 21.4
    assert summary.loc[("theirs", "spiral"), ["paper_f1_mean", "paper_f1_sd"]].tolist() == [91.1, 0.6]
    assert not any(c.startswith("paper") for c in per_class_summary(per_run, CLASSES, {}).columns)


def test_validation_selected_accuracy_does_not_look_at_the_test_set():
    metrics = curve([0.70, 0.90, 0.80])
    metrics["validation_accuracy"] = [0.60, 0.65, 0.75]  # validation prefers epoch 3
    table = peak_accuracy_table(metrics, budgets=[2]).set_index("budget")
    assert table.loc[3, "peak_accuracy"] == 0.9 and table.loc[3, "validation_selected_accuracy"] == 0.8
    assert table.loc[2, "validation_selected_accuracy"] == 0.9 and table.loc[3, "validation_epoch"] == 3
    summary = budget_table(table.reset_index(), {})
    assert summary.set_index("budget").loc[3, "validation_selected_mean"] == 80.0
    plain = peak_accuracy_table(curve([0.7, 0.9]), budgets=[2])
    assert plain["validation_selected_accuracy"].isna().all()
    assert "validation_selected_mean" not in budget_table(plain, {})


def test_frozen_share_table_reports_the_last_epoch_over_runs_and_fus_numbers_only_in_his_comparison():
    from galaxy_pretraining.analysis import frozen_share_table

    rows = []
    for model, base in (("d-frozen020", 0.70), ("d-scratch", 0.50)):
        for run in range(3):
            for epoch in (1, 2):
                accuracy = base + 0.01 * run + (0.05 if epoch == 1 else 0.0)  # the peak is epoch 1, not the last
                rows.append({"model": model, "run": run, "epochs": 2, "long_run": False, "epoch": epoch,
                             "train_loss": 1.0 / epoch, "train_accuracy": accuracy + 0.1, "test_loss": 1.5 / epoch,
                             "test_accuracy": accuracy})
    curves = pd.DataFrame(rows)
    arms = {"d-frozen020": {"architecture": "densenet121", "weights": "imagenet", "frozen_share": 0.2},
            "d-scratch": {"architecture": "densenet121", "weights": "none", "frozen_share": 0.0}}
    table = frozen_share_table(curves, arms, {}).set_index("model")
    assert table.loc["d-frozen020", "frozen_share"] == 0.2 and np.isnan(table.loc["d-scratch", "frozen_share"])
    assert table.loc["d-frozen020", "test_accuracy_mean"] == pytest.approx(71.0)
    assert table.loc["d-frozen020", "test_accuracy_sd"] == pytest.approx(1.0)
    assert table.loc["d-frozen020", "peak_test_accuracy_mean"] == pytest.approx(76.0)
    assert table.loc["d-scratch", "test_loss_mean"] == pytest.approx(0.75) and table.loc["d-scratch", "n_runs"] == 3
    assert not any(c.startswith("paper_") for c in table.columns)
    fu = frozen_share_table(curves, arms, {"d-frozen020": 0.2}).set_index("model")
    assert fu.loc["d-frozen020", "paper_test_accuracy"] == 79.0 and fu.loc["d-frozen020", "paper_train_loss"] == 0.36
    assert np.isnan(fu.loc["d-scratch", "paper_test_accuracy"])
    with pytest.raises(ValueError, match="no finished run of model 'd-other'"):
        frozen_share_table(curves, {**arms, "d-other": arms["d-scratch"]}, {})


def test_labels_needed_interpolates_on_a_log_axis():
    from galaxy_pretraining.analysis import labels_needed

    n, accuracy = [100, 1000, 10000], [50.0, 60.0, 70.0]
    assert labels_needed(n, accuracy, 65.0) == pytest.approx(np.sqrt(1000 * 10000))  # half way in log n
    assert labels_needed(n, accuracy, 60.0) == pytest.approx(1000)
    assert labels_needed(n, accuracy, 40.0) == 100  # reached at the smallest budget already
    assert np.isnan(labels_needed(n, accuracy, 75.0))  # never reached


def test_labels_saved_and_sign_tests_per_budget_checked_by_hand():
    from galaxy_pretraining.analysis import label_budget_sign_tests, label_budget_table, labels_saved_table

    rows = []
    for run in range(3):
        for fraction, n in ((0.1, 100), (1.0, 1000)):
            # scratch climbs 50 -> 60; pretrained sits at 60 with 100 labels and 66 with 1000 (+ run noise)
            rows.append({"model": "s", "run": run, "train_fraction": fraction, "n_train": n,
                         "peak_accuracy": {0.1: 50.0, 1.0: 60.0}[fraction] + run})
            rows.append({"model": "p", "run": run, "train_fraction": fraction, "n_train": n,
                         "peak_accuracy": {0.1: 60.0, 1.0: 66.0}[fraction] + run})
    peaks = pd.DataFrame(rows)
    table = label_budget_table(peaks).set_index(["model", "train_fraction"])
    assert table.loc[("p", 0.1), "mean"] == 61.0 and table.loc[("p", 0.1), "n_runs"] == 3
    saved = labels_saved_table(peaks, [["p", "s"]]).set_index("train_fraction")
    # at 10 %: p's mean 61 = s's mean curve (51 at 100, 61 at 1000) at 1000 labels: 10 times as many
    assert saved.loc[0.1, "scratch_labels_needed"] == pytest.approx(1000)
    assert saved.loc[0.1, "labels_saved_ratio"] == pytest.approx(10.0)
    assert saved.loc[0.1, "run_ratio_median"] == pytest.approx(10.0) and saved.loc[0.1, "runs_not_reached"] == 0
    # at 100 %: scratch never reaches 67 within the budgets trained
    assert np.isnan(saved.loc[1.0, "labels_saved_ratio"]) and saved.loc[1.0, "runs_not_reached"] == 3
    tests = label_budget_sign_tests(peaks, [["p", "s"]]).set_index("train_fraction")
    assert tests.loc[0.1, "wins"] == 3 and tests.loc[0.1, "p_value"] == pytest.approx(0.25)
    assert tests.loc[1.0, "mean_difference"] == pytest.approx(6.0)
