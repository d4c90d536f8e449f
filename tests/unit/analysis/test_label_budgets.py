import numpy as np
import pandas as pd
import pytest

from galaxy_pretraining.analysis.label_budgets import (
    label_budget_sign_tests,
    label_budget_table,
    labels_needed,
    labels_saved_table,
)


def test_labels_needed_interpolates_on_a_log_axis():
    n, accuracy = [100, 1000, 10000], [50.0, 60.0, 70.0]
    assert labels_needed(n, accuracy, 65.0) == pytest.approx(np.sqrt(1000 * 10000))  # half way in log n
    assert labels_needed(n, accuracy, 60.0) == pytest.approx(1000)
    assert labels_needed(n, accuracy, 40.0) == 100  # reached at the smallest budget already
    assert np.isnan(labels_needed(n, accuracy, 75.0))  # never reached


def test_labels_saved_and_sign_tests_per_budget_checked_by_hand():
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


def test_a_diverged_run_has_no_peak_is_left_out_of_the_curves_and_tests_and_is_counted():
    """Run 2 of the scratch model diverged at 10 % of the labels (its only finished epoch read 0.9)."""
    from galaxy_pretraining.analysis.label_budgets import label_budget_peaks

    rows = []
    for model, base in (("p", 0.6), ("s", 0.5)):
        for run in range(3):
            for fraction in (0.5, 1.0):
                diverged = (model, run, fraction) == ("s", 2, 0.5)
                for epoch in (1, 2):
                    accuracy = np.nan if diverged and epoch == 2 else (0.9 if diverged else base + 0.1 * fraction)
                    rows.append({"model": model, "run": run, "train_fraction": fraction, "epoch": epoch,
                                 "test_accuracy": accuracy, "diverged": diverged})
    catalog = pd.DataFrame({"id": [f"g{i}" for i in range(40)], "class_index": np.arange(40) % 2})
    split = {"test_size": 10, "validation_size": 0, "stratify": False, "seed": 1}
    peaks = label_budget_peaks(pd.DataFrame(rows), catalog, split)
    mine = peaks.set_index(["model", "run", "train_fraction"])
    assert np.isnan(mine.loc[("s", 2, 0.5), "peak_accuracy"]) and mine.loc[("s", 2, 0.5), "diverged"]
    table = label_budget_table(peaks).set_index(["model", "train_fraction"])
    assert table.loc[("s", 0.5), ["n_runs", "n_diverged", "mean"]].tolist() == [2, 1, 55.0]
    tests = label_budget_sign_tests(peaks, [["p", "s"]]).set_index("train_fraction")
    assert tests.loc[0.5, ["n_runs", "pairs_dropped_diverged", "wins"]].tolist() == [2, 1, 2]
    saved = labels_saved_table(peaks, [["p", "s"]]).set_index("train_fraction")
    assert saved.loc[0.5, ["n_runs", "n_diverged"]].tolist() == [3, 1]
