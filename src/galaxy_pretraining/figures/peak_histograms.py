"""Histograms of each run's peak test accuracy and of the epoch of that peak, per model (paper Fig. 3)."""

from ..analysis import full_budget
from . import COLUMN_WIDTH, model_colours, plt, save, sns, style


def draw(peaks, models, paths, bins=20):
    style()
    colours = model_colours(models)
    full = full_budget(peaks)
    figure, (left, right) = plt.subplots(1, 2, figsize=(2 * COLUMN_WIDTH, 2.6))
    for model in models:
        own = full[full["model"] == model]
        left.hist(own["peak_accuracy"] * 100, bins=bins, color=colours[model], alpha=0.6, label=model)
        right.hist(own["peak_epoch"], bins=bins, color=colours[model], alpha=0.6, label=model)
    left.set_xlabel("peak test accuracy (%)")
    right.set_xlabel("epoch of the peak")
    for ax in (left, right):
        ax.set_ylabel("runs")
    left.legend(frameon=False)
    sns.despine(figure)
    save(figure, paths)
