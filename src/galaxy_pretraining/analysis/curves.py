"""Per-epoch curves and what is read off them.

The peak within a training budget, the budget table, the long runs, the accuracy at each test side and the last
epoch of partially frozen models.

Restricted budgets are a re-reading of the stored curves (the peak over the
first `budget` epochs), never new training. Pure functions; no paper's
number is known here (papers/ puts the published ones beside these tables).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..metrics_columns import is_side_accuracy_column, side_of_column


def collect_curves(paths: Sequence[str], keys: Sequence[Sequence], max_iterations: int | None = None) -> pd.DataFrame:
    """All runs' per-epoch metrics in one table.

    Each row also names its model, run, configured epochs, long_run and train_fraction.

    `keys` holds (model, run, epochs, long_run, train_fraction) for each path;
    long_run marks the repeats of the long_runs config block (the paper's
    Table 3), train_fraction the label budget (1.0: all the labels). A run is
    complete with its `epochs` epochs, or fewer when it stopped at
    `max_iterations` optimiser steps (training.max_iterations), or when it
    diverged: its metrics then end with the epoch it diverged in (NaN), and
    the column `diverged` is True on every row of the run (False on every row
    of the others), so that every table can leave it out and count it.
    """
    frames = []
    for path, (model, run, epochs, long_run, train_fraction) in zip(paths, keys, strict=True):
        metrics = pd.read_parquet(path)
        trained = int(metrics["epoch"].max())
        diverged = bool(metrics["diverged"].fillna(False).any()) if "diverged" in metrics else False
        stopped = diverged or (max_iterations is not None and "iterations" in metrics
                               and int(metrics["iterations"].iloc[-1]) >= max_iterations)
        if not diverged and metrics["test_accuracy"].isna().any():
            nan = metrics.loc[metrics["test_accuracy"].isna(), "epoch"].tolist()
            raise ValueError(f"{path}: model {model} run {run} has no test accuracy (NaN) at epochs {nan} but is not "
                             "marked diverged (metrics of an older version?); delete its last.pt to train it again")
        if len(metrics) != trained or (trained != int(epochs) and not (stopped and trained < int(epochs))):
            limit = "" if max_iterations is None else f" or fewer ending at {max_iterations} iterations"
            raise ValueError(f"{path}: {len(metrics)} epochs up to {trained}, expected 1..{epochs}{limit}")
        metrics = metrics.drop(columns=["run"], errors="ignore")
        metrics["diverged"] = diverged
        metrics.insert(0, "train_fraction", float(train_fraction))
        metrics.insert(0, "long_run", bool(long_run))
        metrics.insert(0, "epochs", int(epochs))
        metrics.insert(0, "run", int(run))
        metrics.insert(0, "model", model)
        frames.append(metrics)
    return pd.concat(frames, ignore_index=True)


def peak_accuracy(metrics: pd.DataFrame, budget: int) -> tuple[float, int]:
    """Peak test accuracy over epochs 1..budget and the first epoch that reaches it."""
    window = metrics[metrics["epoch"] <= budget]
    if window.empty:
        raise ValueError(f"no epochs within a budget of {budget}")
    best = window.loc[window["test_accuracy"].idxmax()]
    return float(best["test_accuracy"]), int(best["epoch"])


def validation_selected_accuracy(metrics: pd.DataFrame, budget: int) -> tuple[float, float]:
    """Test accuracy at the first epoch of best validation accuracy within the budget.

    NaN without a validation set.
    """
    if "validation_accuracy" not in metrics or metrics["validation_accuracy"].isna().all():
        return np.nan, np.nan
    window = metrics[metrics["epoch"] <= budget]
    best = window.loc[window["validation_accuracy"].idxmax()]
    return float(best["test_accuracy"]), float(best["epoch"])


def peak_accuracy_table(curves: pd.DataFrame, budgets: Sequence[int]) -> pd.DataFrame:
    """One row per (model, run, epochs trained, budget) for every budget the run reaches.

    The budget equal to the epochs trained is always included; a budget longer
    than the run trained is left out, not extrapolated.
    With a validation split, `validation_selected_accuracy` is the test
    accuracy at the epoch of best validation accuracy within the budget (no
    selection on the test set); NaN without one. A diverged run (column
    `diverged`) has no peak at any budget: its rows hold NaN, so that no table
    averages it and every table can count it.
    """
    rows = []
    for (model, run, epochs, long_run), metrics in curves.groupby(["model", "run", "epochs", "long_run"], sort=True):
        diverged = run_diverged(metrics)
        for budget in sorted(set(budgets) | {int(epochs)}):
            if budget > epochs:
                continue
            if diverged:
                accuracy = epoch = selected = selected_epoch = np.nan
            else:
                accuracy, epoch = peak_accuracy(metrics, budget)
                selected, selected_epoch = validation_selected_accuracy(metrics, budget)
            rows.append({"model": model, "run": int(run), "epochs": int(epochs), "long_run": bool(long_run),
                         "budget": int(budget), "peak_accuracy": accuracy, "peak_epoch": epoch,
                         "validation_selected_accuracy": selected, "validation_epoch": selected_epoch,
                         "diverged": diverged})
    return pd.DataFrame(rows, columns=["model", "run", "epochs", "long_run", "budget", "peak_accuracy", "peak_epoch",
                                       "validation_selected_accuracy", "validation_epoch", "diverged"])


def run_diverged(table: pd.DataFrame) -> bool:
    """Whether the rows of one run are those of a diverged run.

    `table` is the run's rows of the curves, or of any table with a `diverged` column. A table of an older
    version, without the column, gives False.
    """
    return bool(table["diverged"].any()) if "diverged" in table else False


def diverged_counts(table: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """Diverged runs per group `by` of a table with model, run and `diverged` (0 where none; no column: 0)."""
    if "diverged" not in table:
        return table.groupby(list(by), sort=True)["run"].agg(lambda runs: 0).rename("n_diverged")
    per_run = table.groupby([*by, "run"], sort=True)["diverged"].any().reset_index()
    return per_run.groupby(list(by), sort=True)["diverged"].sum().astype(int).rename("n_diverged")


def gain_budgets(budgets: Sequence[int], epochs: Sequence[int], n: int = 2) -> list[int]:
    """The budgets the budget-gain figure compares by default.

    The `n` longest of `budgets` shorter than the shortest of the models' `epochs` (so that every model gains over
    each), longest first; fewer, or none, where fewer are that short.
    """
    shortest = min(epochs)
    return sorted({int(b) for b in budgets if b < shortest}, reverse=True)[:n]


def full_budget(peaks: pd.DataFrame, long_run: bool = False) -> pd.DataFrame:
    """The rows of the peak table at each run's full budget (all its epochs): standard or long runs."""
    return peaks[(peaks["long_run"] == long_run) & (peaks["budget"] == peaks["epochs"])]


def budget_table(peaks: pd.DataFrame) -> pd.DataFrame:
    """Table 1's layout: mean and sd (per cent) of peak accuracy per model, epochs trained and budget.

    Takes the peak table (peak_accuracy_table); returns model, long_run,
    epochs, budget, n_runs (how many runs each cell covers: the diverged ones
    not among them), n_diverged (runs that diverged, left out of the mean),
    mean and sd, and with a validation split validation_selected_mean and
    _sd. In the paper's comparison papers.schneider2023.with_table1 puts its
    values beside ours.
    """
    keys = ["model", "long_run", "epochs", "budget"]
    grouped = peaks.groupby(keys, sort=True)
    table = grouped["peak_accuracy"].agg(n_runs="count", mean="mean", sd="std").reset_index()
    table.insert(table.columns.get_loc("n_runs") + 1, "n_diverged",
                 diverged_counts(peaks, keys).reindex(pd.MultiIndex.from_frame(table[keys])).fillna(0).astype(int)
                 .to_numpy())
    table["mean"] *= 100
    table["sd"] *= 100
    if "validation_selected_accuracy" in peaks and peaks["validation_selected_accuracy"].notna().any():
        selected = grouped["validation_selected_accuracy"].agg(["mean", "std"]).reset_index(drop=True) * 100
        table["validation_selected_mean"], table["validation_selected_sd"] = selected["mean"], selected["std"]
    return table.round(2)


def long_runs_table(peaks: pd.DataFrame) -> pd.DataFrame:
    """Table 3's layout: every long run's peak accuracy (per cent) and its epoch, from the peak table.

    Model, run, epochs, peak accuracy (per cent) and its epoch of every long run, from the peak table. In the
    paper's comparison papers.schneider2023.with_table3 puts its runs beside ours.
    """
    long = full_budget(peaks, long_run=True)
    table = long[["model", "run", "epochs", "peak_accuracy", "peak_epoch"]].copy()
    table["peak_accuracy"] = (table["peak_accuracy"] * 100).round(2)
    table["diverged"] = long["diverged"].to_numpy() if "diverged" in long else False
    return table.reset_index(drop=True)


def side_accuracy_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Accuracy at each test side (training.scale_jitter).

    Per model, the peak over the epochs of the test_accuracy_side<Q> columns and the accuracy at the epoch of the
    peak of test_accuracy (the test side the study's other tables use), mean and sd over the standard runs on all
    the labels, per cent.
    """
    every = curves[~curves["long_run"] & (curves["train_fraction"] == 1.0)]
    standard = every[~every["diverged"]] if "diverged" in every else every
    columns = [c for c in standard.columns if is_side_accuracy_column(c) and standard[c].notna().any()]
    if not columns:
        raise ValueError("the curves hold no test_accuracy_side<Q> columns: the study has no scale_jitter test sides")
    rows = []
    for (model, run), metrics in standard.groupby(["model", "run"], sort=True):
        best = metrics.loc[metrics["test_accuracy"].idxmax()]
        for column in columns:
            rows.append({"model": model, "run": int(run), "test_side": side_of_column(column),
                         "peak_accuracy": metrics[column].max() * 100, "accuracy_at_best_epoch": best[column] * 100})
    per_run = pd.DataFrame(rows)
    summary = per_run.groupby(["model", "test_side"]).agg(
        n_runs=("run", "count"), peak_accuracy_mean=("peak_accuracy", "mean"), peak_accuracy_sd=("peak_accuracy", "std"),
        accuracy_at_best_epoch_mean=("accuracy_at_best_epoch", "mean"),
        accuracy_at_best_epoch_sd=("accuracy_at_best_epoch", "std")).reset_index()
    counts = diverged_counts(every, ["model"])
    summary.insert(summary.columns.get_loc("n_runs") + 1, "n_diverged",
                   summary["model"].map(counts).fillna(0).astype(int))
    return summary.round(2)


# --- partial fine-tuning: the last epoch, as Fu reports it -----------------------------------------------------

LAST_EPOCH_METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


def frozen_share_table(curves: pd.DataFrame, arms: Mapping[str, Mapping]) -> pd.DataFrame:
    """Per model, the last epoch's losses and accuracies over runs, as Fu's Table 1 reports them.

    Per model: its frozen share and the mean and sd over runs of the last epoch's losses and accuracies (per cent),
    as Fu's Table 1 reports them, plus the peak test accuracy over the epochs.

    `arms`: {model: {architecture, weights, frozen_share}}; a model trained from scratch has no share (NaN).
    Raises ValueError when the curves hold no finished run of a model of `arms`. In Fu's comparison
    papers.fu.with_table1 puts Fu's single runs beside ours. Diverged runs are left out and counted (n_diverged).
    """
    every = curves[~curves["long_run"]]
    counts = diverged_counts(every, ["model"])
    standard = every[~every["diverged"]] if "diverged" in every else every
    last = standard[standard["epoch"] == standard["epochs"]]
    rows = []
    for model, spec in arms.items():
        mine, runs = last[last["model"] == model], standard[standard["model"] == model]
        if mine.empty:
            raise ValueError(f"the curves hold no finished run of model {model!r}")
        row = {"model": model, "architecture": spec["architecture"], "weights": spec["weights"],
               "frozen_share": spec["frozen_share"] if spec["weights"] != "none" else np.nan,
               "epochs": int(mine["epochs"].iloc[0]), "n_runs": len(mine), "n_diverged": int(counts.get(model, 0))}
        for metric in LAST_EPOCH_METRICS:
            scale = 100 if metric.endswith("accuracy") else 1
            row[f"{metric}_mean"] = mine[metric].mean() * scale
            row[f"{metric}_sd"] = mine[metric].std() * scale
        peaks = runs.groupby("run")["test_accuracy"].max() * 100
        row["peak_test_accuracy_mean"], row["peak_test_accuracy_sd"] = peaks.mean(), peaks.std()
        rows.append(row)
    return pd.DataFrame(rows).round(3)
