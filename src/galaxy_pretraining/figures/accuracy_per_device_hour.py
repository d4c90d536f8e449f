"""Test accuracy against the cumulative device-hours of training and evaluation, per model.

The mean over its runs (line) and their range (band), each model labelled with the device its hours were
measured on.
"""

import numpy as np

from ._plotting import COLUMN_WIDTH, diverged_note, model_colours, plt, sns, style

TABLES = {"curves": "curves"}


def draw(curves, models, points=200):
    style()
    colours = model_colours(models)
    figure, ax = plt.subplots(figsize=(COLUMN_WIDTH * 1.4, 2.8))
    for model in models:
        standard = curves[(curves["model"] == model) & ~curves["long_run"] & ~curves["diverged"]]
        if standard.empty:
            continue
        runs = [metrics.sort_values("epoch") for _, metrics in standard.groupby("run")]
        hours = [metrics["seconds"].cumsum().to_numpy() / 3600 for metrics in runs]
        # The grid every run reaches: from the earliest first epoch to the shortest run's end.
        grid = np.linspace(max(h[0] for h in hours), min(h[-1] for h in hours), points)
        accuracy = np.stack([np.interp(grid, h, m["test_accuracy"].to_numpy() * 100) for h, m in zip(hours, runs)])
        devices = sorted(set(standard["device"].fillna("unknown device"))) if "device" in standard else ["unknown"]
        label = f"{model} ({len(runs)} runs; {' + '.join(devices)})"
        ax.plot(grid, accuracy.mean(0), color=colours[model], lw=1.2, label=label)
        ax.fill_between(grid, accuracy.min(0), accuracy.max(0), color=colours[model], alpha=0.2, lw=0)
    ax.set_xlabel("cumulative device-hours (training and evaluation)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, frameon=False)
    sns.despine(figure)
    diverged_note(figure, curves, models)
    return figure
