"""ROC curves of one run at its best epoch, one panel per model.

Each class against the rest, its AUC in the legend (as Zhu et al. 2019 show them). A class with no ROC curve in the
run (none, or only, of its test galaxies of that class) is named in the legend's title.
"""

from sklearn.metrics import auc

from ..analysis.roc import roc_curve_points
from ._plotting import COLUMN_WIDTH, diverged_note, explain_empty, plt, rows_of_run, sns, style

TABLES = {"predictions": "predictions"}


def draw(predictions, models, class_names, run):
    style()
    figure, axes = plt.subplots(1, len(models), figsize=(COLUMN_WIDTH * len(models), COLUMN_WIDTH), squeeze=False)
    chosen = rows_of_run(predictions, run, "predictions")
    colours = dict(zip(class_names, sns.color_palette("colorblind", len(class_names))))
    for ax, model in zip(axes[0], models):
        own = chosen[chosen["model"] == model]
        if "diverged" in own and own["diverged"].any():
            ax.set_title(f"{model}, run {run}: diverged")
            ax.set_axis_off()
            continue
        points = roc_curve_points(own, class_names)
        for name, (fpr, tpr) in points.items():
            ax.plot(fpr, tpr, color=colours[name], label=f"{name} (AUC {auc(fpr, tpr):.3f})")
        missing = [name for name in class_names if name not in points]
        title = f"no curve: {', '.join(missing)}\n(none or all of the test set)" if missing else None
        ax.plot([0, 1], [0, 1], color="0.7", linestyle=":", linewidth=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_title(f"{model}, run {run}, epoch {int(own['epoch'].iloc[0])}")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        if points:
            ax.legend(fontsize="x-small", loc="lower right", title=title, title_fontsize="x-small")
        else:
            explain_empty(ax, f"no ROC curve: the test set of run {run}\nholds one class only")
    figure.tight_layout()
    diverged_note(figure, predictions, models)
    return figure
