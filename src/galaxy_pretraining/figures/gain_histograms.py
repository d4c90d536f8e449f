"""Per-run gain of pretraining: peak accuracy and peak epoch, pretrained minus scratch (paper Fig. 4)."""

from . import COLUMN_WIDTH, model_colours, plt, save, sns, style


def draw(gains, models, paths, bins=20):
    style()
    colours = model_colours(models)
    figure, (left, right) = plt.subplots(1, 2, figsize=(2 * COLUMN_WIDTH, 2.6))
    for (pretrained, scratch), group in gains.groupby(["pretrained", "scratch"], sort=False):
        label = f"{pretrained} - {scratch}"
        left.hist(group["peak_accuracy_gain"], bins=bins, color=colours[pretrained], alpha=0.7, label=label)
        right.hist(group["peak_epoch_difference"], bins=bins, color=colours[pretrained], alpha=0.7, label=label)
    for ax in (left, right):
        ax.axvline(0, color="0.3", lw=0.8, ls="--")
        ax.set_ylabel("runs")
    left.set_xlabel("peak accuracy gain (percentage points)")
    right.set_xlabel("peak epoch difference (epochs)")
    left.legend(frameon=False, fontsize="small")
    sns.despine(figure)
    save(figure, paths)
