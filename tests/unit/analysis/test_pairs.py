import numpy as np
import pandas as pd
import pytest

from galaxy_pretraining.analysis.curves import peak_accuracy_table
from galaxy_pretraining.analysis.pairs import comparison_table, paired_gains, sign_test

from helpers.tables import curve


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
    table = comparison_table(gains).set_index("comparison")
    assert (table.loc["peak_accuracy", "wins"], table.loc["peak_accuracy", "losses"]) == (1, 1)
    assert table.loc["peak_epoch", "wins"] == 2  # earlier peaks win
    assert table.loc["equal_budget", "mean_difference"] == pytest.approx(5.5)
    assert not any(c.startswith("paper") for c in table.columns)  # the paper's values are papers.schneider2023's
