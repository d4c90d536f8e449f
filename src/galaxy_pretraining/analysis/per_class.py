"""Per-class metrics and confusion matrices at each run's best epoch (the peak of its full budget).

Pure functions; no paper's number is known here (papers/ puts the published ones beside these tables).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .curves import full_budget


def confusion_matrix(cells: pd.DataFrame, k: int, value: str = "count") -> np.ndarray:
    """A k x k matrix (rows true, columns predicted) from long-form cells with true, predicted and `value`."""
    matrix = np.full((k, k), np.nan) if value != "count" else np.zeros((k, k), dtype=np.int64)
    matrix[cells["true"], cells["predicted"]] = cells[value]
    return matrix


def best_epoch_confusions(curves: pd.DataFrame, peaks: pd.DataFrame) -> pd.DataFrame:
    """The test confusion matrix of each standard run at its peak epoch (full budget), long form.

    Columns: model, run, peak_epoch, true, predicted, count (rows of the matrix are true classes), diverged.
    A diverged run has no best epoch: one row with true and predicted -1, count 0 and diverged True, so that
    the tables made from these can count it.
    """
    full = full_budget(peaks)
    keyed = curves[~curves["long_run"]].set_index(["model", "run", "epoch"])
    rows = []
    for peak in full.itertuples():
        if getattr(peak, "diverged", False):
            rows.append((peak.model, peak.run, -1, -1, -1, 0, True))
            continue
        matrix = np.stack(list(keyed.loc[(peak.model, peak.run, peak.peak_epoch), "test_confusion"]))
        for true in range(matrix.shape[0]):
            for predicted in range(matrix.shape[1]):
                rows.append((peak.model, peak.run, int(peak.peak_epoch), true, predicted, int(matrix[true, predicted]),
                             False))
    return pd.DataFrame(rows, columns=["model", "run", "peak_epoch", "true", "predicted", "count", "diverged"])


def per_class_metrics(confusions: pd.DataFrame, class_names: Sequence[str]) -> pd.DataFrame:
    """Recall (= per-class accuracy), precision and F1 per model, run and class.

    A class absent from a run's test split has no recall (NaN); a class never
    predicted has no precision (NaN). Summaries average over the runs where
    the number exists and say how many those are. A diverged run's rows hold
    NaN and `diverged` True.
    """
    rows = []
    for (model, run), group in confusions.groupby(["model", "run"], sort=True):
        if "diverged" in group and group["diverged"].any():
            rows += [(model, run, name, 0, np.nan, np.nan, np.nan, True) for name in class_names]
            continue
        matrix = confusion_matrix(group, len(class_names))
        for c, name in enumerate(class_names):
            support, predicted, hits = matrix[c].sum(), matrix[:, c].sum(), matrix[c, c]
            recall = hits / support if support else np.nan
            precision = hits / predicted if predicted else np.nan
            f1 = (2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0) \
                if not (np.isnan(recall) or np.isnan(precision)) else np.nan
            rows.append((model, run, name, int(support), recall, precision, f1, False))
    return pd.DataFrame(rows, columns=["model", "run", "class_name", "support", "recall", "precision", "f1",
                                       "diverged"])


METRICS = ("recall", "precision", "f1")


def per_class_summary(per_class: pd.DataFrame, class_names: Sequence[str]) -> pd.DataFrame:
    """Tables 2 and 4's layout: mean and sd over runs of recall, precision and F1 per model and class.

    In per cent.

    Takes per_class_metrics' table; returns model, class_name, n_runs (the runs that did not diverge),
    n_diverged and per metric <metric>_n_runs (the runs where it is defined), _mean and _sd, classes in
    `class_names` order. In the paper's comparison papers.schneider2023.with_tables_2_and_4 puts its values
    beside ours.
    """
    rows = []
    for (model, name), group in per_class.groupby(["model", "class_name"], sort=False):
        diverged = group["diverged"].astype(bool) if "diverged" in group else pd.Series(False, index=group.index)
        row = {"model": model, "class_name": name, "n_runs": int((~diverged).sum()), "n_diverged": int(diverged.sum())}
        for metric in METRICS:
            values = group[metric].dropna() * 100
            row[f"{metric}_n_runs"] = len(values)
            row[f"{metric}_mean"] = values.mean() if len(values) else np.nan
            row[f"{metric}_sd"] = values.std() if len(values) > 1 else np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    order = {name: i for i, name in enumerate(class_names)}
    table = table.sort_values(["model", "class_name"], key=lambda s: s.map(order) if s.name == "class_name" else s)
    return table.reset_index(drop=True).round(2)


def confusion_summary(confusions: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over runs of each confusion matrix cell as a proportion of its true class (Fig. 11).

    Diverged runs left out and counted per model (n_diverged).

    A model whose every run diverged still has its rows, with n_runs 0 and no mean (true and predicted -1 when no
    model has a matrix), so the table says why it holds no value for it.
    """
    diverged = confusions["diverged"].astype(bool) if "diverged" in confusions else pd.Series(False, confusions.index)
    counts = confusions[diverged].groupby("model")["run"].nunique()
    table = confusions[~diverged].copy()
    totals = table.groupby(["model", "run", "true"])["count"].transform("sum")
    table["proportion"] = table["count"] / totals.where(totals > 0)
    grouped = table.groupby(["model", "true", "predicted"])["proportion"]
    summary = grouped.agg(n_runs="count", mean="mean", sd="std").reset_index()
    # A model whose every run diverged keeps its rows: n_runs 0, no mean, and its count of diverged runs.
    gone = [model for model in counts.index if model not in set(summary["model"])]
    cells = summary[["true", "predicted"]].drop_duplicates()
    if len(cells) == 0:
        cells = pd.DataFrame({"true": [-1], "predicted": [-1]})  # no run of any model left a matrix
    absent = [cells.assign(model=model, n_runs=0, mean=np.nan, sd=np.nan) for model in gone]
    summary = pd.concat([summary, *absent], ignore_index=True)[["model", "true", "predicted", "n_runs", "mean", "sd"]]
    summary.insert(summary.columns.get_loc("n_runs") + 1, "n_diverged",
                   summary["model"].map(counts).fillna(0).astype(int))
    return summary
