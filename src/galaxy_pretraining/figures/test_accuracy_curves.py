"""Test accuracy after every epoch for every run, one panel per model."""

from ._plotting import COLUMN_WIDTH, diverged_note, model_colours, plt, sns, style

TABLES = {"curves": "curves"}


def draw(curves, models, alpha=0.3, linewidth=0.6):
    style()
    colours = model_colours(models)
    figure, axes = plt.subplots(1, len(models), figsize=(COLUMN_WIDTH * len(models), 2.6), sharey=True, squeeze=False)
    for ax, model in zip(axes[0], models):
        standard = curves[(curves["model"] == model) & ~curves["long_run"]]
        for _, metrics in standard.groupby("run"):
            ax.plot(metrics["epoch"], metrics["test_accuracy"] * 100, color=colours[model], alpha=alpha, lw=linewidth)
        ax.set_title(f"{model} ({standard['run'].nunique()} runs)")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)")
    sns.despine(figure)
    diverged_note(figure, curves, models)
    return figure
