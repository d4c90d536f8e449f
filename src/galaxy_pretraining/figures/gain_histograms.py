"""Per-run gain of pretraining: peak accuracy (points) and epoch of the peak, pretrained minus scratch."""

from ._plotting import COLUMN_WIDTH, diverged_note, model_colours, plt, shared_bins, sns, style

TABLES = {"gains": "gains"}


def draw(gains, models, bins=20):
    style()
    colours = model_colours(models)
    figure, (left, right) = plt.subplots(1, 2, figsize=(2 * COLUMN_WIDTH, 2.6))
    pairs = list(gains.groupby(["pretrained", "scratch"], sort=False))
    for ax, column in ((left, "peak_accuracy_gain"), (right, "peak_epoch_difference")):
        edges = shared_bins([group[column] for _, group in pairs], bins)
        for (pretrained, scratch), group in pairs:
            ax.hist(group[column], bins=edges, color=colours[pretrained], alpha=0.7, label=f"{pretrained} - {scratch}")
        ax.axvline(0, color="0.3", lw=0.8, ls="--")
        ax.set_ylabel("runs")
    left.set_xlabel("peak accuracy gain (percentage points)")
    right.set_xlabel("peak epoch difference (epochs)")
    left.legend(frameon=False, fontsize="small")
    sns.despine(figure)
    diverged_note(figure, gains, models)
    return figure
