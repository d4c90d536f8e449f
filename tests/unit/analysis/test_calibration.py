"""Calibration (ECE, reliability bins) and scores that keep their ranking where float32 probabilities saturate."""

import numpy as np
import pandas as pd
import pytest

from galaxy_pretraining.analysis.calibration import (
    calibration_summary,
    calibration_table,
    expected_calibration_error,
    reliability,
)
from galaxy_pretraining.analysis.roc import roc_auc_table
from galaxy_pretraining.predict.ensemble import summary_table


def test_ece_by_hand():
    # 4 galaxies at confidence 0.9 (3 right), 2 at 0.6 (both right): |0.75 - 0.9| x 4/6 + |1 - 0.6| x 2/6
    p = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    true = np.array([0, 0, 0, 1, 0, 0])
    table = reliability(p, true, bins=10)
    assert table["count"].sum() == 6
    assert expected_calibration_error(table) == pytest.approx(0.15 * 4 / 6 + 0.4 * 2 / 6)


def test_a_binary_scratch_arms_two_aucs_are_equal_from_its_logits():
    rng = np.random.default_rng(3)
    n = 400
    true = rng.integers(0, 2, n)
    margin = rng.normal(0, 1, n) + true * 0.3
    margin[:150] *= 40  # confident galaxies: float32 probabilities round to exactly 0 and 1
    logits = np.stack([-margin / 2, margin / 2], axis=1).astype(np.float32)
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities = (probabilities / probabilities.sum(1, keepdims=True)).astype(np.float32)
    table = pd.DataFrame({"model": "scratch", "run": 0, "true": true, "probability_a": probabilities[:, 0],
                          "probability_b": probabilities[:, 1]})
    saturated = roc_auc_table(table, ["a", "b"])
    assert saturated["auc"].iloc[0] != saturated["auc"].iloc[1]  # the flaw the logits fix
    kept = roc_auc_table(table.assign(logit_a=logits[:, 0], logit_b=logits[:, 1]), ["a", "b"])
    assert kept["auc"].iloc[0] == kept["auc"].iloc[1]
    # a run of an older version, without logits, gathered beside one with them: its probabilities are read
    older = pd.concat([table.assign(logit_a=logits[:, 0], logit_b=logits[:, 1]), table.assign(run=1)])
    both = roc_auc_table(older, ["a", "b"]).set_index(["run", "class_name"])["auc"]
    assert both[(0, "a")] == both[(0, "b")] and both[(1, "a")] == saturated["auc"].iloc[0]


def test_calibration_tables_per_run_and_over_runs():
    true = np.array([0, 1, 1, 0])
    rows = [pd.DataFrame({"model": "m", "run": run, "true": true, "logit_a": [2.0, 0.0, -1.0, 1.0],
                          "logit_b": [0.0, 2.0, 1.0, 0.0], "diverged": False}) for run in (0, 1)]
    table = calibration_table(pd.concat(rows), ["a", "b"])
    assert table["accuracy"].tolist() == [1.0, 1.0]
    summary = calibration_summary(table)
    assert summary.loc[0, "n_runs"] == 2 and summary.loc[0, "ece_sd"] == 0


def test_an_ensembles_summary_is_the_mean_of_its_members_softmax():
    logits = np.array([[[[3.0, 0.0], [0.0, 50.0]]], [[[1.0, 1.0], [0.0, 10.0]]]], dtype=np.float32)  # 2 runs, 1 view
    table = summary_table(["x", "y"], logits, ["a", "b"], [0, 1], true=np.array([0, 1]))
    p = np.exp(logits[:, 0].astype(np.float64)) / np.exp(logits[:, 0].astype(np.float64)).sum(-1, keepdims=True)
    np.testing.assert_allclose(table[["probability_a", "probability_b"]].to_numpy(), p.mean(0))
    np.testing.assert_allclose(table["probability_sd_a"], p[..., 0].std(0))
    assert table["predicted"].tolist() == ["a", "b"] and table["runs"].iloc[0] == "0,1"
    # log-odds kept where the probability of y rounds to 1: log(p/(1-p)) of the mean, from the logits
    p_b = [1 / (1 + np.exp(-50)), 1 / (1 + np.exp(-10))]
    not_b = [np.exp(-50) / (1 + np.exp(-50)), np.exp(-10) / (1 + np.exp(-10))]
    assert table["log_odds_b"].iloc[1] == pytest.approx(np.log(sum(p_b) / sum(not_b)), rel=1e-12)
    assert table["log_odds_a"].iloc[1] == -table["log_odds_b"].iloc[1]
    mean = p.mean(0)
    np.testing.assert_allclose(table["entropy"], -(mean * np.log(mean)).sum(1))
