import numpy as np
import pytest

from galaxy_pretraining.analysis.curves import peak_accuracy_table
from galaxy_pretraining.analysis.per_class import (
    best_epoch_confusions,
    confusion_summary,
    per_class_metrics,
    per_class_summary,
)

from helpers.tables import confusion_rows, confusions, curve


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
    summary = per_class_summary(per_run, names).set_index("class_name")
    assert summary.loc["a", "recall_mean"] == 75.0 and summary.loc["a", "recall_n_runs"] == 2
    assert summary.loc["b", "recall_mean"] == 100.0 and summary.loc["b", "recall_n_runs"] == 1
    assert not any(c.startswith("paper") for c in summary.columns)  # the paper's values are papers.schneider2023's


def test_confusion_summary_is_proportions_of_each_true_class():
    table = confusion_summary(confusions(confusion_rows("m", 0, [[3, 1], [0, 4]]),
                                         confusion_rows("m", 1, [[1, 1], [2, 2]])))
    cell = table.set_index(["true", "predicted"]).loc[(0, 0)]
    assert cell["mean"] == pytest.approx((0.75 + 0.5) / 2) and cell["n_runs"] == 2


def test_a_model_whose_every_run_diverged_keeps_its_rows_in_the_confusion_summary():
    """The nan-loss study: its scratch model's one run diverged. Its rows say so (n_runs 0, n_diverged 1, no
    mean) instead of leaving the model out of the table without a word."""
    table = confusions(confusion_rows("pre", 0, [[3, 1], [0, 4]]), confusion_rows("scr", 0, [[-1]]))
    table["diverged"] = table["model"] == "scr"
    summary = confusion_summary(table)
    scratch = summary[summary["model"] == "scr"]
    assert len(scratch) == 4 and set(scratch["n_runs"]) == {0} and set(scratch["n_diverged"]) == {1}
    assert scratch["mean"].isna().all()
    assert sorted(zip(scratch["true"], scratch["predicted"])) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    only_diverged = confusion_summary(table[table["model"] == "scr"])
    assert only_diverged[["model", "true", "predicted", "n_runs", "n_diverged"]].values.tolist() == [
        ["scr", -1, -1, 0, 1]]


def test_best_epoch_confusions_take_the_peak_epoch():
    metrics = curve([0.5, 0.9, 0.7])
    metrics["test_confusion"] = [[[1, 1], [1, 1]], [[2, 0], [0, 2]], [[2, 0], [1, 1]]]
    peaks = peak_accuracy_table(metrics, budgets=[3])
    table = best_epoch_confusions(metrics, peaks)
    assert table["peak_epoch"].unique().tolist() == [2] and table["count"].tolist() == [2, 0, 0, 2]
