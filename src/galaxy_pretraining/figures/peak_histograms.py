"""Peak test accuracy of each run and the epoch of that peak, per model."""

from ..analysis.curves import full_budget
from ._plotting import COLUMN_WIDTH, diverged_note, model_colours, plt, shared_bins, sns, style

TABLES = {"peaks": "peak_accuracy"}


def draw(peaks, models, bins=20):
    style()
    colours = model_colours(models)
    full = full_budget(peaks)
    figure, (left, right) = plt.subplots(1, 2, figsize=(2 * COLUMN_WIDTH, 2.6))
    own = {model: full[full["model"] == model] for model in models}
    for ax, column, scale in ((left, "peak_accuracy", 100), (right, "peak_epoch", 1)):
        edges = shared_bins([rows[column] * scale for rows in own.values()], bins)
        for model, rows in own.items():
            ax.hist(rows[column] * scale, bins=edges, color=colours[model], alpha=0.6, label=model)
        ax.set_ylabel("runs")
    left.set_xlabel("peak test accuracy (%)")
    right.set_xlabel("epoch of the peak")
    left.legend(frameon=False)
    sns.despine(figure)
    diverged_note(figure, peaks, models)
    return figure
