"""Pretrained against scratch, paired per run: the gains and their two-sided sign tests.

Pure functions; no paper's number is known here (papers/ puts the published ones beside these tables).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .curves import full_budget


def sign_test(differences: Sequence[float]) -> dict:
    """Two-sided sign test: positive differences are wins; ties are left out of the test."""
    from scipy.stats import binomtest

    differences = np.asarray(differences, dtype=float)
    wins, losses = int((differences > 0).sum()), int((differences < 0).sum())
    ties = len(differences) - wins - losses
    p_value = binomtest(wins, wins + losses, 0.5, alternative="two-sided").pvalue if wins + losses else np.nan
    return {"wins": wins, "losses": losses, "ties": ties, "p_value": p_value}


def paired_gains(peaks: pd.DataFrame, pretrained: str, scratch: str) -> pd.DataFrame:
    """Per run: peak accuracy gain (points), equal-budget gain and peak epoch difference.

    `equal_budget_gain` compares both at the pretrained model's epochs (the
    scratch curve read only up to there). Runs present for only one model are
    left out. A pair in which either run diverged has no gains (NaN);
    `pretrained_diverged` and `scratch_diverged` say which.
    """
    standard = peaks[~peaks["long_run"]]
    a = standard[standard["model"] == pretrained]
    b = standard[standard["model"] == scratch]
    a_full = full_budget(a).set_index("run")
    b_full = full_budget(b).set_index("run")
    budget = int(a_full["epochs"].iloc[0]) if len(a_full) else 0
    b_equal = b[b["budget"] == budget].set_index("run")
    runs = a_full.index.intersection(b_full.index)
    table = pd.DataFrame({"run": runs})
    table["peak_accuracy_gain"] = (a_full.loc[runs, "peak_accuracy"].to_numpy() - b_full.loc[runs, "peak_accuracy"].to_numpy()) * 100
    table["peak_epoch_difference"] = a_full.loc[runs, "peak_epoch"].to_numpy() - b_full.loc[runs, "peak_epoch"].to_numpy()
    equal = runs.intersection(b_equal.index)
    table["equal_budget_gain"] = np.nan
    table.loc[table["run"].isin(equal), "equal_budget_gain"] = (
        a_full.loc[equal, "peak_accuracy"].to_numpy() - b_equal.loc[equal, "peak_accuracy"].to_numpy()) * 100
    table.insert(0, "scratch", scratch)
    table.insert(0, "pretrained", pretrained)
    table["equal_budget"] = budget
    for arm, full in (("pretrained", a_full), ("scratch", b_full)):
        flags = full.loc[runs, "diverged"].to_numpy(dtype=bool) if "diverged" in full else np.zeros(len(runs), bool)
        table[f"{arm}_diverged"] = flags
    return table


def comparison_table(gains: pd.DataFrame) -> pd.DataFrame:
    """Sign tests of pretrained against scratch per pair: peak accuracy, peak epoch, equal budget.

    Takes paired_gains' tables (one or more pairs); returns per pair and comparison n_runs, wins, losses,
    ties, p_value, mean_difference and sd_difference. For the peak epoch a win is an earlier peak (fewer
    epochs needed). In the paper's comparison papers.schneider2023.with_sign_tests puts its values beside ours.

    A diverged run has no peak, so a pair with one is dropped from the test, with its partner (a divergence is
    neither a win nor a loss of accuracy): `n_diverged_pretrained` and `n_diverged_scratch` count the diverged
    runs of each arm, `pairs_dropped_diverged` the pairs left out for them.
    """
    rows = []
    for (pretrained, scratch), group in gains.groupby(["pretrained", "scratch"], sort=False):
        flags = {arm: group[f"{arm}_diverged"].astype(bool) if f"{arm}_diverged" in group
                 else pd.Series(False, index=group.index) for arm in ("pretrained", "scratch")}
        diverged = {"n_diverged_pretrained": int(flags["pretrained"].sum()),
                    "n_diverged_scratch": int(flags["scratch"].sum()),
                    "pairs_dropped_diverged": int((flags["pretrained"] | flags["scratch"]).sum())}
        group = group[~(flags["pretrained"] | flags["scratch"])]
        for comparison, column, sign in (("peak_accuracy", "peak_accuracy_gain", 1),
                                         ("peak_epoch", "peak_epoch_difference", -1),
                                         ("equal_budget", "equal_budget_gain", 1)):
            values = group[column].dropna()
            rows.append({"pretrained": pretrained, "scratch": scratch, "comparison": comparison,
                         "n_runs": len(values), **sign_test(sign * values), "mean_difference": values.mean(),
                         "sd_difference": values.std(), **diverged})
    columns = ["pretrained", "scratch", "comparison", "n_runs", "wins", "losses", "ties", "p_value",
               "mean_difference", "sd_difference", "n_diverged_pretrained", "n_diverged_scratch",
               "pairs_dropped_diverged"]
    return pd.DataFrame(rows).reindex(columns=columns).round({"mean_difference": 3, "sd_difference": 3})
