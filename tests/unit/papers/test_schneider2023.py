"""Schneider, Stenning & Elliott (2023): their numbers beside our tables, by arm, in their comparison only.
(Which studies are the comparison, and their captions: tests/unit/test_study.py.)"""

import numpy as np
import pandas as pd
import pytest

from galaxy_pretraining.analysis.curves import budget_table, long_runs_table, peak_accuracy_table
from galaxy_pretraining.analysis.pairs import comparison_table
from galaxy_pretraining.analysis.per_class import per_class_metrics, per_class_summary
from galaxy_pretraining.papers import schneider2023

from helpers.tables import confusion_rows, confusions, curve

ARM_OF = {"mine": "pretrained", "theirs": "scratch"}  # the paper's comparison, models named as a user likes


def test_table1_sits_beside_our_budget_table():
    peaks = peak_accuracy_table(pd.concat([curve([0.8] * 5, "mine"), curve([0.8] * 3, "mine", 45, long_run=True)]),
                                [5])
    table = schneider2023.with_table1(budget_table(peaks), ARM_OF)
    row = table[~table.long_run].iloc[0]
    assert (row["paper_mean"], row["paper_sd"]) == (79.3, 1.2)
    assert np.isnan(table[table.long_run].iloc[0]["paper_mean"])  # the long runs are Table 3's
    scratch = schneider2023.with_table1(budget_table(peak_accuracy_table(curve([0.8] * 400, "theirs"), [100, 200])),
                                        ARM_OF).set_index("budget")
    assert (scratch.loc[200, "paper_mean"], scratch.loc[400, "paper_sd"]) == (79.7, 0.9)
    assert np.isnan(scratch.loc[100, "paper_mean"])  # a budget the paper has no cell for
    ours = budget_table(peaks)
    pd.testing.assert_frame_equal(schneider2023.with_table1(ours, {}), ours)  # not the paper's comparison


def test_tables_2_and_4_carry_every_paper_cell_in_the_paper_comparison():
    classes = schneider2023.CLASSES
    per_run = per_class_metrics(confusions(confusion_rows("mine", 0, np.eye(4, dtype=int) * 5),
                                           confusion_rows("theirs", 0, np.eye(4, dtype=int) * 5)), classes)
    ours = per_class_summary(per_run, classes)
    summary = schneider2023.with_tables_2_and_4(ours, ARM_OF).set_index(["model", "class_name"])
    paper_columns = [f"paper_{m}_{s}" for m in ("recall", "precision", "f1") for s in ("mean", "sd")]
    assert list(summary.columns[-6:]) == paper_columns and summary[paper_columns].notna().all().all()
    assert summary.loc[("mine", "irregular+misc"), "paper_recall_mean"] == 38.1
    assert summary.loc[("theirs", "irregular+misc"), "paper_recall_mean"] == 21.4
    assert summary.loc[("theirs", "spiral"), ["paper_f1_mean", "paper_f1_sd"]].tolist() == [91.1, 0.6]
    assert not any(c.startswith("paper") for c in schneider2023.with_tables_2_and_4(ours, {}).columns)


def test_the_sign_tests_carry_the_papers_for_its_pair_only():
    gains = pd.DataFrame({"pretrained": ["mine", "mine", "other"], "scratch": ["theirs", "theirs", "theirs"],
                          "run": [0, 1, 0], "peak_accuracy_gain": [2.0, 1.0, 0.5],
                          "peak_epoch_difference": [-2, -1, 3], "equal_budget_gain": [3.0, 2.0, np.nan],
                          "equal_budget": 2})
    ours = comparison_table(gains)
    table = schneider2023.with_sign_tests(ours, ARM_OF).set_index(["pretrained", "comparison"])
    assert table.loc[("mine", "peak_accuracy"), "paper_p_value"] == pytest.approx(1.5777e-30, rel=1e-3)
    assert table.loc[("mine", "peak_accuracy"), "paper_wins"] == 100
    assert table.loc[("mine", "equal_budget"), "paper_mean_difference"] == 4.6
    assert np.isnan(table.loc[("mine", "peak_epoch"), "paper_wins"])  # the paper prints no count
    assert table.loc["other", ["paper_wins", "paper_p_value", "paper_mean_difference"]].isna().all().all()
    assert list(table.columns[-3:]) == ["paper_wins", "paper_p_value", "paper_mean_difference"]
    pd.testing.assert_frame_equal(schneider2023.with_sign_tests(ours, {}), ours)


def test_table3_sits_beside_our_long_runs_of_its_length_only():
    long = peak_accuracy_table(pd.concat([curve([0.8] * 1000, "theirs", 47, long_run=True),
                                          curve([0.8] * 3, "theirs", 46, long_run=True)]), [2])
    table = schneider2023.with_table3(long_runs_table(long), ARM_OF).set_index("run")
    assert table.loc[47, ["paper_peak_accuracy", "paper_peak_epoch"]].tolist() == [83.4, 994]
    assert np.isnan(table.loc[46, "paper_peak_accuracy"])  # 3 epochs, not the paper's 1,000
    assert list(schneider2023.with_table3(long_runs_table(long), {}).columns) == [
        "model", "run", "epochs", "peak_accuracy", "peak_epoch", "diverged"]
