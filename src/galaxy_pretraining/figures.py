"""Figures, each from analysis tables or metrics alone. One colour per model everywhere."""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .io import atomic_path  # noqa: E402


def model_colours(models: Sequence[str]) -> dict[str, tuple]:
    """A fixed colour per model, by its position in the configured model list."""
    palette = sns.color_palette("colorblind", max(len(models), 3))
    return {model: palette[i] for i, model in enumerate(models)}


def save_figure(figure, path: os.PathLike) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=200, bbox_inches="tight")
    plt.close(figure)


def test_accuracy_curves(curves: pd.DataFrame, models: Sequence[str], path: os.PathLike) -> None:
    """Every run's test accuracy per epoch, one panel per model (the paper's Fig. 6C/D).

    Only the standard runs are drawn: the long repeats have their own table.
    """
    colours = model_colours(models)
    sns.set_theme(context="paper", style="ticks")
    figure, axes = plt.subplots(1, len(models), figsize=(3.4 * len(models), 2.8), sharey=True, squeeze=False)
    for ax, model in zip(axes[0], models):
        standard = curves[(curves["model"] == model) & ~curves["long_run"]]
        for _, metrics in standard.groupby("run"):
            ax.plot(metrics["epoch"], metrics["test_accuracy"] * 100, color=colours[model], alpha=0.35, lw=0.8)
        ax.set_title(f"{model} ({standard['run'].nunique()} runs)")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)")
    sns.despine(figure)
    save_figure(figure, path)
