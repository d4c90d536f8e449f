"""Label budgets: peak accuracy against the number of labelled galaxies.

Also the labels that pretraining saves.

Pure functions over the curves of the runs at every label budget (splits.train_fractions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .pairs import sign_test


def training_set_sizes(catalog: pd.DataFrame, split: Mapping, runs: Sequence[int],
                       fractions: Sequence[float]) -> pd.DataFrame:
    """How many labelled galaxies each run trains on at each budget: (run, train_fraction, n_train).

    The subsets are drawn exactly as the training jobs draw them (splits.study_splits, then
    splits.labelled_subset).
    """
    from ..data.splits import labelled_subset, rows_of, study_splits

    splits = study_splits(catalog, runs, split)
    ids, labels = catalog["id"].to_numpy(), catalog["class_index"].to_numpy()
    rows = []
    for run in runs:
        train = rows_of(splits, run, "train")
        for fraction in fractions:
            rows.append({"run": int(run), "train_fraction": float(fraction),
                         "n_train": len(labelled_subset(train, ids, labels, float(fraction), split["seed"], run))})
    return pd.DataFrame(rows)


def label_budget_peaks(curves: pd.DataFrame, catalog: pd.DataFrame, split: Mapping) -> pd.DataFrame:
    """Per model, run and label budget: labelled galaxies trained on and the peak test accuracy.

    The labelled galaxies trained on and the peak test accuracy (per cent); a diverged run has none (NaN) and is
    marked `diverged`.
    """
    if "diverged" not in curves:
        curves = curves.assign(diverged=False)
    grouped = curves.groupby(["model", "run", "train_fraction"], sort=True)
    peaks = pd.DataFrame({"peak_accuracy": grouped["test_accuracy"].max() * 100,
                          "diverged": grouped["diverged"].any()}).reset_index()
    peaks.loc[peaks["diverged"], "peak_accuracy"] = np.nan
    sizes = training_set_sizes(catalog, split, sorted(peaks["run"].unique()), sorted(peaks["train_fraction"].unique()))
    return peaks.merge(sizes, on=["run", "train_fraction"], how="left", validate="many_to_one")


def label_budget_table(peaks: pd.DataFrame) -> pd.DataFrame:
    """Per model and label budget: labelled galaxies and the peak accuracy's mean and sd over runs.

    Labelled galaxies (mean over runs) and the peak accuracy's mean and sd over the runs that did not diverge
    (n_runs); n_diverged counts the others.
    """
    if "diverged" not in peaks:
        peaks = peaks.assign(diverged=False)
    grouped = peaks.groupby(["model", "train_fraction"], sort=True)
    table = grouped.agg(n_train=("n_train", "mean"), n_runs=("peak_accuracy", "count"),
                        n_diverged=("diverged", "sum"), mean=("peak_accuracy", "mean"),
                        sd=("peak_accuracy", "std")).reset_index()
    table["n_diverged"] = table["n_diverged"].astype(int)
    return table.round(3)


def labels_needed(n_train: Sequence[float], accuracy: Sequence[float], target: float) -> float:
    """Labelled galaxies at which an accuracy curve (ascending n_train) first reaches `target`.

    Linear interpolation on log n between the two budgets around the crossing; the smallest budget if it reaches it
    already there; NaN if it never does.
    """
    n, a = np.asarray(n_train, dtype=float), np.asarray(accuracy, dtype=float)
    reached = np.nonzero(a >= target)[0]
    if len(reached) == 0:
        return np.nan
    i = int(reached[0])
    if i == 0:
        return float(n[0])
    step = (target - a[i - 1]) / (a[i] - a[i - 1])
    return float(np.exp(np.log(n[i - 1]) + step * (np.log(n[i]) - np.log(n[i - 1]))))


def labels_saved_table(peaks: pd.DataFrame, pairs: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Per pair and label budget: the labels the scratch model needs to match the pretrained model.

    How many labels the scratch model needs to match the pretrained model's mean peak accuracy there, and the ratio
    to the pretrained model's labels.

    Besides the ratio of the mean curves, each run's own ratio (its scratch curve against its pretrained
    peak) gives the spread: median and quartiles over the runs where the scratch curve reaches it;
    `runs_not_reached` counts the others (scratch never matches within the budgets trained). A ratio at the
    smallest budget is an upper bound: scratch may match with fewer labels than were tried. Diverged runs
    are left out of both curves; `n_diverged` counts them (both models, that budget).
    """
    rows = []
    if "diverged" not in peaks:
        peaks = peaks.assign(diverged=False)
    for pretrained, scratch in pairs:
        own_all = peaks[peaks["model"] == pretrained]
        other_all = peaks[peaks["model"] == scratch]
        own, other = own_all[~own_all["diverged"]], other_all[~other_all["diverged"]]
        mean_other = other.groupby("train_fraction").agg(n_train=("n_train", "mean"), accuracy=("peak_accuracy", "mean"))
        mean_other = mean_other.sort_values("n_train")
        for fraction, runs in own.groupby("train_fraction", sort=True):
            target, n_pretrained = runs["peak_accuracy"].mean(), runs["n_train"].mean()
            needed = labels_needed(mean_other["n_train"], mean_other["accuracy"], target)
            ratios = []
            for run in runs.itertuples():
                curve = other[other["run"] == run.run].sort_values("n_train")
                ratios.append(labels_needed(curve["n_train"], curve["peak_accuracy"], run.peak_accuracy) / run.n_train)
            ratios = np.asarray(ratios)
            reached = ratios[np.isfinite(ratios)]
            rows.append({
                "pretrained": pretrained, "scratch": scratch, "train_fraction": fraction,
                "n_train_pretrained": n_pretrained, "pretrained_accuracy": target,
                "scratch_labels_needed": needed, "labels_saved_ratio": needed / n_pretrained,
                "at_smallest_budget": bool(np.isfinite(needed) and needed <= mean_other["n_train"].min()),
                "run_ratio_median": np.median(reached) if len(reached) else np.nan,
                "run_ratio_q25": np.quantile(reached, 0.25) if len(reached) else np.nan,
                "run_ratio_q75": np.quantile(reached, 0.75) if len(reached) else np.nan,
                "runs_not_reached": int((~np.isfinite(ratios)).sum()), "n_runs": len(ratios),
                "n_diverged": int(own_all.loc[own_all["train_fraction"] == fraction, "diverged"].sum()
                                  + other_all.loc[other_all["train_fraction"] == fraction, "diverged"].sum()),
            })
    return pd.DataFrame(rows).round(3)


def label_budget_sign_tests(peaks: pd.DataFrame, pairs: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Per pair and label budget: sign test of pretrained against scratch peak accuracy, by run.

    Two-sided sign test of the pretrained model's peak accuracy against the scratch model's, paired by run; and the
    mean difference (points). As in pairs.comparison_table, a pair with a diverged run is dropped with its partner
    (pairs_dropped_diverged counts them).
    """
    rows = []
    for pretrained, scratch in pairs:
        a = peaks[peaks["model"] == pretrained].set_index(["train_fraction", "run"])["peak_accuracy"]
        b = peaks[peaks["model"] == scratch].set_index(["train_fraction", "run"])["peak_accuracy"]
        both = a.index.intersection(b.index)
        for fraction in sorted(both.get_level_values(0).unique()):
            keys = [key for key in both if key[0] == fraction]
            differences = a.loc[keys].to_numpy() - b.loc[keys].to_numpy()
            kept = differences[np.isfinite(differences)]
            rows.append({"pretrained": pretrained, "scratch": scratch, "train_fraction": fraction,
                         "n_runs": len(kept), "mean_difference": kept.mean() if len(kept) else np.nan,
                         **sign_test(kept), "pairs_dropped_diverged": len(differences) - len(kept)})
    return pd.DataFrame(rows)
