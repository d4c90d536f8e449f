"""Test accuracy after the last epoch against the share of ImageNet layers kept frozen.

Every run (dots), the mean and sd over runs (line and bars) per architecture, and each model trained from scratch as
a dashed line with its sd band.
"""

import numpy as np

from ._plotting import COLUMN_WIDTH, diverged_note, model_colours, plt, sns, style

TABLES = {"results": "frozen_share_results", "curves": "curves"}


def draw(results, curves, models, jitter=1.5, seed=0):
    style()
    colours = model_colours(models)
    figure, ax = plt.subplots(figsize=(COLUMN_WIDTH * 1.3, 2.8))
    last = curves[~curves["long_run"] & (curves["epoch"] == curves["epochs"])]
    rng = np.random.default_rng(seed)
    pretrained = results[results["weights"] != "none"].sort_values("frozen_share")
    for architecture, arms in pretrained.groupby("architecture", sort=False):
        colour = colours[arms["model"].iloc[0]]  # an architecture's line: the colour of its first model
        for arm in arms.itertuples():
            runs = last[last["model"] == arm.model]["test_accuracy"] * 100
            ax.scatter(arm.frozen_share * 100 + rng.uniform(-jitter, jitter, len(runs)), runs, s=6, color=colour,
                       alpha=0.5, lw=0)
        ax.errorbar(arms["frozen_share"] * 100, arms["test_accuracy_mean"], yerr=arms["test_accuracy_sd"].fillna(0),
                    color=colour, marker="o", ms=3, capsize=2, lw=1,
                    label=f"{architecture}, ImageNet ({int(arms['n_runs'].min())} runs each)")
        if "paper_test_accuracy" in arms and arms["paper_test_accuracy"].notna().any():
            ax.scatter(arms["frozen_share"] * 100, arms["paper_test_accuracy"], marker="x", color="black", s=18,
                       zorder=3, label="Fu (one run each)")
    for arm in results[results["weights"] == "none"].itertuples():
        colour = colours[arm.model]
        ax.axhline(arm.test_accuracy_mean, color=colour, ls="--", lw=0.8,
                   label=f"{arm.model}, from scratch ({arm.n_runs} runs)")
        if np.isfinite(arm.test_accuracy_sd):
            ax.axhspan(arm.test_accuracy_mean - arm.test_accuracy_sd, arm.test_accuracy_mean + arm.test_accuracy_sd,
                       color=colour, alpha=0.12, lw=0)
    ax.set_xlabel("ImageNet layers kept frozen (%)")
    ax.set_ylabel("test accuracy, last epoch (%)")
    ax.set_xticks(sorted({round(s * 100) for s in pretrained["frozen_share"]}))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, frameon=False, loc="best")
    sns.despine(figure)
    diverged_note(figure, results, models)
    return figure
