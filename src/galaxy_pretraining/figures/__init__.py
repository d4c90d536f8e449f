"""Figures of the study, one module each, each drawn from analysis tables only.

Each module has one `draw(...)` function. The Snakemake rule of a figure lists
its module's file as an input, so editing one figure's code reruns that
figure alone; editing the shared style here reruns them all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from ..io import atomic_path  # noqa: E402

FIGURES = (
    "test_accuracy_curves",
    "peak_histograms",
    "gain_histograms",
    "equal_budget_gain",
    "budget_gains",
    "training_curves",
    "per_class_histograms",
    "confusion_matrices",
    "mean_confusion_matrices",
)
COLUMN_WIDTH = 3.4  # inches: one column of a two-column journal


def module_file(name: str) -> str:
    """Source file of a figure's module (a rule input, so editing it reruns that figure)."""
    if name not in FIGURES:
        raise KeyError(f"unknown figure {name!r}; figures: {FIGURES}")
    return str(Path(__file__).with_name(f"{name}.py"))


def style() -> None:
    sns.set_theme(context="paper", style="ticks", font_scale=0.9)


def model_colours(models: Sequence[str]) -> dict[str, tuple]:
    """One colour per model, by its place in the configured model list, in every figure."""
    palette = sns.color_palette("colorblind", max(len(models), 3))
    return {model: palette[i] for i, model in enumerate(models)}


def save(figure, paths: Sequence[os.PathLike]) -> None:
    """Write the figure to every path (PNG and PDF), each atomically."""
    for path in paths:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=300, bbox_inches="tight", format=Path(path).suffix.lstrip("."))
    plt.close(figure)
