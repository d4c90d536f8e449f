"""Per-run gain of pretraining when scratch gets the pretrained model's epochs only (paper Fig. 5)."""

from . import COLUMN_WIDTH, model_colours, plt, save, sns, style


def draw(gains, models, paths, bins=20):
    style()
    colours = model_colours(models)
    figure, ax = plt.subplots(figsize=(COLUMN_WIDTH, 2.6))
    for (pretrained, scratch), group in gains.groupby(["pretrained", "scratch"], sort=False):
        ax.hist(group["equal_budget_gain"].dropna(), bins=bins, color=colours[pretrained], alpha=0.7,
                label=f"{pretrained} - {scratch}, both at {int(group['equal_budget'].iloc[0])} epochs")
    ax.axvline(0, color="0.3", lw=0.8, ls="--")
    ax.set_xlabel("peak accuracy gain at equal budget (points)")
    ax.set_ylabel("runs")
    ax.legend(frameon=False, fontsize="small")
    sns.despine(figure)
    save(figure, paths)
