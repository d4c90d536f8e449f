"""Reliability diagrams: per model, accuracy against top-class confidence on the best epoch's test set.

In each of 15 equal-width bins of top-class confidence, mean and sd over runs, against the diagonal of perfect
calibration; the mean expected calibration error (ECE) over runs in the panel's title. Bins with no galaxy in
any run are left out; diverged runs are left out and counted under the figure. draw_set: the same diagram of a
labelled prediction set's ensemble (analysis.calibration.prediction_set_calibration).
"""

import numpy as np

from ..analysis.calibration import expected_calibration_error
from ._plotting import COLUMN_WIDTH, diverged_note, explain_empty, model_colours, plt, save, style

TABLES = {"reliability": "reliability", "calibration": "calibration"}


def draw(reliability, calibration, models):
    style()
    figure, axes = plt.subplots(1, len(models), figsize=(COLUMN_WIDTH * len(models), COLUMN_WIDTH), squeeze=False)
    colours = model_colours(models)
    for ax, model in zip(axes[0], models):
        own = reliability[reliability["model"] == model]
        ax.plot([0, 1], [0, 1], color="0.7", linestyle=":", linewidth=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (top-class probability)")
        ax.set_ylabel("accuracy")
        if own.empty:
            ax.set_title(model)
            explain_empty(ax, "no run without divergence")
            continue
        filled = own[own["count"] > 0]
        by_bin = filled.groupby("bin").agg(confidence=("confidence", "mean"), accuracy=("accuracy", "mean"),
                                           sd=("accuracy", "std")).reset_index()
        ax.errorbar(by_bin["confidence"], by_bin["accuracy"], yerr=by_bin["sd"].fillna(0), color=colours[model],
                    marker="o", markersize=3, linewidth=1, capsize=2)
        eces = [expected_calibration_error(group) for _, group in own.groupby("run")]
        sd = f" ± {float(np.std(eces, ddof=1)):.3f}" if len(eces) > 1 else ""
        ax.set_title(f"{model}\nECE {sum(eces) / len(eces):.3f}{sd} ({len(eces)} runs)", fontsize="small")
    figure.tight_layout()
    diverged_note(figure, calibration, models)
    return figure


def draw_set(calibration, name: str, model: str, runs, views: int):
    """A labelled prediction set's reliability diagram: its ensemble's accuracy against confidence.

    `calibration` is prediction_set_calibration's table (its "all" row, then one row per bin); the ensemble is the
    mean probability over `runs` x `views` of `model`. Its ECE and accuracy in the title; empty bins left out.
    """
    style()
    head = calibration[calibration["bin"] == "all"].iloc[0]
    bins = calibration[(calibration["bin"] != "all") & (calibration["count"] > 0)]
    figure, ax = plt.subplots(figsize=(COLUMN_WIDTH, COLUMN_WIDTH))
    ax.plot([0, 1], [0, 1], color="0.7", linestyle=":", linewidth=0.8)
    ax.plot(bins["confidence"], bins["accuracy"], color=model_colours([model])[model], marker="o", markersize=3,
            linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top-class probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{name}: {model}, {len(runs)} run(s) x {views} view(s)\nECE {float(head['ece']):.3f}, "
                 f"accuracy {float(head['accuracy']):.3f} ({int(head['count'])} galaxies)", fontsize="small")
    figure.tight_layout()
    return figure


def write_set_diagram(calibration, path, name: str, model: str, runs, views: int) -> None:
    """Draw a labelled set's reliability diagram (draw_set) and write it to `path`, atomically."""
    save(draw_set(calibration, name, model, runs, views), [path])
