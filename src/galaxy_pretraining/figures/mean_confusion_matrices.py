"""Per model, the mean and sd over runs of the confusion matrix as proportions of each true class."""

import numpy as np

from ..analysis.per_class import confusion_matrix
from ._plotting import COLUMN_WIDTH, diverged_note, plt, sns, style

TABLES = {"summary": "confusion_summary"}


def draw(summary, models, class_names):
    style()
    figure, axes = plt.subplots(1, len(models), figsize=(COLUMN_WIDTH * len(models), COLUMN_WIDTH), squeeze=False)
    k = len(class_names)
    for ax, model in zip(axes[0], models):
        own = summary[summary["model"] == model]
        if own["n_runs"].max() == 0 or own.empty:  # every run of the model diverged
            ax.set_title(f"{model}: no run (every run diverged)")
            ax.set_axis_off()
            continue
        mean, sd = confusion_matrix(own, k, "mean"), confusion_matrix(own, k, "sd")
        labels = np.vectorize(lambda m, s: f"{m:.2f}\n±{s:.2f}" if not np.isnan(s) else f"{m:.2f}")(mean, sd)
        sns.heatmap(mean, annot=labels, fmt="", cmap="Blues", vmin=0, vmax=1, cbar=False, square=True, ax=ax,
                    xticklabels=class_names, yticklabels=class_names, annot_kws={"fontsize": 6})
        ax.set_title(f"{model} ({int(own['n_runs'].max())} runs)")
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
    figure.tight_layout()
    diverged_note(figure, summary, models)
    return figure
