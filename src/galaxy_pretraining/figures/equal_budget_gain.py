"""Per-run gain of pretraining when both models get the pretrained model's epochs only."""

from .plotting import COLUMN_WIDTH, diverged_note, model_colours, plt, shared_bins, sns, style

TABLES = {"gains": "gains"}


def draw(gains, models, bins=20):
    style()
    colours = model_colours(models)
    figure, ax = plt.subplots(figsize=(COLUMN_WIDTH, 2.6))
    pairs = list(gains.groupby(["pretrained", "scratch"], sort=False))
    edges = shared_bins([group["equal_budget_gain"] for _, group in pairs], bins)
    for (pretrained, scratch), group in pairs:
        ax.hist(group["equal_budget_gain"].dropna(), bins=edges, color=colours[pretrained], alpha=0.7,
                label=f"{pretrained} - {scratch}, both at {int(group['equal_budget'].iloc[0])} epochs")
    ax.axvline(0, color="0.3", lw=0.8, ls="--")
    ax.set_xlabel("peak accuracy gain at equal budget (points)")
    ax.set_ylabel("runs")
    ax.legend(frameon=False, fontsize="small")
    sns.despine(figure)
    diverged_note(figure, gains, models)
    return figure
