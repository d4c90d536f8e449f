"""What the runs cost in the unit users pay: device-hours, from the per-epoch `seconds` of the curves.

The seconds are each epoch's training and evaluation, summed over a resumed
run's attempts, each epoch once.

Every number is labelled with the device it was measured on (the `device`
column of the metrics, e.g. "NVIDIA H100 80GB HBM3" or "cpu (x86_64, 2
threads)"); runs on different devices are never pooled into one number. A run
whose epochs ran on several devices (a retry on another GPU) is labelled with
all of them, joined by " + ".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

UNKNOWN_DEVICE = "unknown (metrics from before device accounting)"


def run_hours(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, long_run, run): device, epochs_trained, device_hours, diverged.

    A run on several devices names them joined by " + ".
    """
    curves = curves.assign(device=curves["device"].fillna(UNKNOWN_DEVICE) if "device" in curves
                           else UNKNOWN_DEVICE)
    grouped = curves.groupby(["model", "long_run", "run"], sort=True)
    return grouped.agg(device=("device", lambda d: " + ".join(sorted(set(d)))), epochs_trained=("epoch", "size"),
                       device_hours=("seconds", lambda s: s.sum() / 3600), diverged=("diverged", "any")).reset_index()


def cost_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Per model, run length and device: runs and device-hours per run (mean, sd) and in all.

    The last rows give per device the whole study (model "all runs").
    """
    runs = run_hours(curves)
    per_arm = runs.groupby(["model", "long_run", "device"], sort=False).agg(
        n_runs=("run", "size"), n_diverged=("diverged", "sum"), device_hours_per_run_mean=("device_hours", "mean"),
        device_hours_per_run_sd=("device_hours", "std"), device_hours_total=("device_hours", "sum")).reset_index()
    study = runs.groupby("device", sort=False).agg(
        n_runs=("run", "size"), n_diverged=("diverged", "sum"), device_hours_per_run_mean=("device_hours", "mean"),
        device_hours_per_run_sd=("device_hours", "std"), device_hours_total=("device_hours", "sum")).reset_index()
    study.insert(0, "long_run", pd.NA)
    study.insert(0, "model", "all runs")
    return pd.concat([per_arm, study], ignore_index=True)


def budget_cost_table(curves: pd.DataFrame, budgets: Sequence[int]) -> pd.DataFrame:
    """Per standard model, device and training budget (epochs): the device-hours of a run's first epochs.

    Mean and sd over the runs that trained that many epochs.
    """
    standard = curves[~curves["long_run"]].assign(
        device=curves["device"].fillna(UNKNOWN_DEVICE) if "device" in curves else UNKNOWN_DEVICE)
    devices = run_hours(standard).set_index(["model", "run"])["device"]
    rows = []
    for budget in budgets:
        within = standard[standard["epoch"] <= budget]
        trained = within.groupby(["model", "run"])["epoch"].max()
        hours = within.groupby(["model", "run"])["seconds"].sum()[trained == budget] / 3600
        for (model, device), per_run in hours.groupby([hours.index.get_level_values("model"),
                                                       devices.reindex(hours.index).to_numpy()], sort=False):
            rows.append({"model": model, "device": device, "budget": int(budget), "n_runs": len(per_run),
                         "device_hours_mean": per_run.mean(), "device_hours_sd": per_run.std()})
    return pd.DataFrame(rows, columns=["model", "device", "budget", "n_runs", "device_hours_mean", "device_hours_sd"])


def hours_to_reach(metrics: pd.DataFrame, accuracy: float) -> float:
    """Device-hours a run's epochs (in order) take until its test accuracy first reaches `accuracy`.

    NaN when it never does.
    """
    metrics = metrics.sort_values("epoch")
    reached = np.flatnonzero(metrics["test_accuracy"].to_numpy() >= accuracy)
    if not len(reached):
        return float("nan")
    return float(metrics["seconds"].to_numpy()[: reached[0] + 1].sum() / 3600)


def cost_to_peak_table(curves: pd.DataFrame, pairs: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Per [pretrained, scratch] pair, the device-hours each arm needs to reach the other's peak accuracy.

    The peak is the other arm's mean peak test accuracy (standard runs, not
    diverged); the table gives how many runs reach it and their hours (mean, sd).
    """
    standard = curves[~curves["long_run"] & ~curves["diverged"]]
    runs = run_hours(standard).set_index(["model", "run"])["device"]
    rows = []
    for pair in pairs:
        for arm, other in (tuple(pair), tuple(reversed(pair))):
            target = standard[standard["model"] == other].groupby("run")["test_accuracy"].max().mean()
            ours = standard[standard["model"] == arm]
            hours = pd.Series({run: hours_to_reach(metrics, target) for run, metrics in ours.groupby("run")},
                              dtype=float)
            for device, per_run in hours.groupby(runs.loc[arm].reindex(hours.index).to_numpy(), sort=False):
                reached = per_run.dropna()
                rows.append({"model": arm, "target_model": other, "target_accuracy": target, "device": device,
                             "n_runs": len(per_run), "n_reached": len(reached),
                             "device_hours_mean": reached.mean(), "device_hours_sd": reached.std()})
    return pd.DataFrame(rows, columns=["model", "target_model", "target_accuracy", "device", "n_runs", "n_reached",
                                       "device_hours_mean", "device_hours_sd"])
