"""Test confusion matrices of one chosen run at its best epoch, every model (paper Fig. 10)."""

from ..analysis import confusion_matrix
from . import COLUMN_WIDTH, plt, save, sns, style


def draw(confusions, models, class_names, paths, run):
    style()
    figure, axes = plt.subplots(1, len(models), figsize=(COLUMN_WIDTH * len(models), COLUMN_WIDTH), squeeze=False)
    chosen = confusions[confusions["run"] == run]
    if chosen.empty:
        raise ValueError(f"run {run} has no confusion matrix; choose one of {sorted(confusions['run'].unique())}")
    k = len(class_names)
    for ax, model in zip(axes[0], models):
        own = chosen[chosen["model"] == model]
        matrix = confusion_matrix(own, k)
        sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", cbar=False, square=True, ax=ax,
                    xticklabels=class_names, yticklabels=class_names)
        ax.set_title(f"{model}, run {run}, epoch {int(own['peak_epoch'].iloc[0])}")
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
    figure.tight_layout()
    save(figure, paths)
