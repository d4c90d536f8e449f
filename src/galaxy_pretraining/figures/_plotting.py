"""What every figure shares: the style, one colour per model, shared bin edges, saving."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from ..io import atomic_path  # noqa: E402

COLUMN_WIDTH = 3.4  # inches: one column of a two-column journal

__all__ = ["COLUMN_WIDTH", "diverged_note", "diverged_runs", "explain_empty", "model_colours", "plt", "rows_of_run",
           "save", "shared_bins", "sns", "style"]


def style() -> None:
    sns.set_theme(context="paper", style="ticks", font_scale=0.9)


def model_colours(models: Sequence[str]) -> dict[str, tuple]:
    """One colour per model, by its place in the configured model list, in every figure."""
    palette = sns.color_palette("colorblind", max(len(models), 3))
    return {model: palette[i] for i, model in enumerate(models)}


def rows_of_run(table, run: int, what: str):
    """The rows of one run of a per-run table; a table without that run is an error naming the runs it has."""
    chosen = table[table["run"] == run]
    if chosen.empty:
        raise ValueError(f"run {run} has no {what}; choose one of {sorted(table['run'].unique())}")
    return chosen


def shared_bins(values: Iterable, bins: int) -> np.ndarray:
    """Bin edges shared by every model of a panel: `bins` equal bins over all their values.

    Where every value is the same, the bins span one unit around it, so a
    model whose value never changes still draws a bar of visible width.
    """
    arrays = [np.asarray(v, dtype=float).ravel() for v in values]
    finite = np.concatenate(arrays) if arrays else np.array([])
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return np.linspace(0.0, 1.0, bins + 1)
    low, high = float(finite.min()), float(finite.max())
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


def explain_empty(ax, reason: str) -> None:
    """Say on a panel that has nothing to draw why it has nothing: the reason in its middle, no ticks."""
    ax.text(0.5, 0.5, reason, transform=ax.transAxes, ha="center", va="center", wrap=True, fontsize="small",
            color="0.25")
    ax.set_xticks([])
    ax.set_yticks([])


def diverged_runs(table, models: Sequence[str]) -> dict[str, int]:
    """Diverged runs per model in a figure's table.

    From its column `n_diverged` (a summary), `diverged` (one row or more per run) or `pretrained_diverged` and
    `scratch_diverged` (the gains); 0 where none.
    """
    counts = dict.fromkeys(models, 0)
    if "n_diverged" in table:
        for model, n in table.groupby("model")["n_diverged"].max().items():
            counts[model] = int(n)
    elif "diverged" in table:
        for model, n in table[table["diverged"].astype(bool)].groupby("model")["run"].nunique().items():
            counts[model] = int(n)
    elif "pretrained_diverged" in table:
        for arm in ("pretrained", "scratch"):
            for model, n in table.groupby(arm)[f"{arm}_diverged"].sum().items():
                counts[model] = int(n)
    return counts


def diverged_note(figure, table, models: Sequence[str]) -> None:
    """A footnote under the figure naming how many runs of each model diverged (left out), when any did."""
    counts = diverged_runs(table, models)
    if any(counts.values()):
        listed = ", ".join(f"{model} {n}" for model, n in counts.items())
        figure.text(0.01, -0.1, f"diverged runs (non-finite loss; left out): {listed}", fontsize=6, ha="left",
                    va="top", color="firebrick")


def blank(axes) -> None:
    """Every panel of a grid of image panels without ticks or frame."""
    for ax in np.ravel(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)


def save(figure, paths: Sequence[os.PathLike]) -> None:
    """Write the figure to every path (PNG and PDF), each atomically."""
    for path in paths:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=300, bbox_inches="tight", format=Path(path).suffix.lstrip("."))
    plt.close(figure)
