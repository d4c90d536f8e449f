"""Tables derived only from the per-epoch metrics: pure functions, unit-tested.

Restricted budgets are a re-reading of the stored curves (the peak over the
first `budget` epochs), never new training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

# Table 1 of Schneider, Stenning & Elliott (2023): mean (sd) peak test accuracy, per cent.
PAPER_TABLE1 = pd.DataFrame(
    [
        ("alexnet-imagenet", 5, 79.3, None),
        ("alexnet-imagenet", 10, 80.8, None),
        ("alexnet-imagenet", 20, 82.0, None),
        ("alexnet-imagenet", 50, 83.1, None),
        ("alexnet-imagenet", 200, 84.2, 0.7),
        ("alexnet-scratch", 200, 79.7, 1.5),
        ("alexnet-scratch", 400, 82.4, 0.9),
    ],
    columns=["model", "budget", "paper_mean", "paper_sd"],
)


def peak_accuracy(metrics: pd.DataFrame, budget: int) -> tuple[float, int]:
    """Peak test accuracy over epochs 1..budget and the first epoch that reaches it."""
    window = metrics[metrics["epoch"] <= budget]
    if window.empty:
        raise ValueError(f"no epochs within a budget of {budget}")
    best = window.loc[window["test_accuracy"].idxmax()]
    return float(best["test_accuracy"]), int(best["epoch"])


def collect_curves(paths: Sequence[str], keys: Sequence[Sequence]) -> pd.DataFrame:
    """All runs' per-epoch metrics in one table with model, run, epochs (trained) and long_run columns.

    `keys` holds (model, run, epochs, long_run) for each path; long_run marks
    the repeats of the long_runs config block (the paper's Table 3).
    """
    frames = []
    for path, (model, run, epochs, long_run) in zip(paths, keys, strict=True):
        metrics = pd.read_parquet(path)
        trained = int(metrics["epoch"].max())
        if trained != int(epochs) or len(metrics) != int(epochs):
            raise ValueError(f"{path}: {len(metrics)} epochs up to {trained}, expected 1..{epochs}")
        metrics = metrics.drop(columns=["run"], errors="ignore")
        metrics.insert(0, "long_run", bool(long_run))
        metrics.insert(0, "epochs", int(epochs))
        metrics.insert(0, "run", int(run))
        metrics.insert(0, "model", model)
        frames.append(metrics)
    return pd.concat(frames, ignore_index=True)


def peak_accuracy_table(curves: pd.DataFrame, budgets: Sequence[int]) -> pd.DataFrame:
    """One row per (model, run, epochs trained, budget) for every budget the run reaches.

    The budget equal to the epochs trained is always included; a budget longer
    than the run trained is left out, not extrapolated.
    """
    rows = []
    for (model, run, epochs, long_run), metrics in curves.groupby(["model", "run", "epochs", "long_run"], sort=True):
        for budget in sorted(set(budgets) | {int(epochs)}):
            if budget > epochs:
                continue
            accuracy, epoch = peak_accuracy(metrics, budget)
            rows.append({"model": model, "run": int(run), "epochs": int(epochs), "long_run": bool(long_run),
                         "budget": int(budget), "peak_accuracy": accuracy, "peak_epoch": epoch})
    return pd.DataFrame(rows, columns=["model", "run", "epochs", "long_run", "budget", "peak_accuracy", "peak_epoch"])


def budget_table(peaks: pd.DataFrame, paper: pd.DataFrame | None = PAPER_TABLE1) -> pd.DataFrame:
    """Table 1: mean and sd (per cent) of peak accuracy per model, epochs trained and budget.

    Says how many runs each cell covers; the paper's values sit beside ours
    where the paper has them.
    """
    grouped = peaks.groupby(["model", "long_run", "epochs", "budget"], sort=True)["peak_accuracy"]
    table = grouped.agg(n_runs="count", mean="mean", sd="std").reset_index()
    table["mean"] *= 100
    table["sd"] *= 100
    if paper is not None:
        table = table.merge(paper, on=["model", "budget"], how="left")
        table.loc[table["long_run"], ["paper_mean", "paper_sd"]] = None
    return table.round({"mean": 2, "sd": 2})
