"""Test confusion matrices (counts) of one run at its best epoch, one panel per model."""

from ..analysis.per_class import confusion_matrix
from ._plotting import COLUMN_WIDTH, diverged_note, plt, rows_of_run, sns, style

TABLES = {"confusions": "best_epoch_confusions"}


def draw(confusions, models, class_names, run):
    style()
    figure, axes = plt.subplots(1, len(models), figsize=(COLUMN_WIDTH * len(models), COLUMN_WIDTH), squeeze=False)
    chosen = rows_of_run(confusions, run, "confusion matrix")
    k = len(class_names)
    for ax, model in zip(axes[0], models):
        own = chosen[chosen["model"] == model]
        if "diverged" in own and own["diverged"].any():
            ax.set_title(f"{model}, run {run}: diverged")
            ax.set_axis_off()
            continue
        matrix = confusion_matrix(own, k)
        sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", cbar=False, square=True, ax=ax,
                    xticklabels=class_names, yticklabels=class_names)
        ax.set_title(f"{model}, run {run}, epoch {int(own['peak_epoch'].iloc[0])}")
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
    figure.tight_layout()
    diverged_note(figure, confusions, models)
    return figure
