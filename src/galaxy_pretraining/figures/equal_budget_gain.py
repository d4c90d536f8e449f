"""Per-run gain of pretraining when both models get the pretrained model's epochs only.

A pair whose scratch model trains fewer epochs than that has no equal-budget gain; the panel names it.
"""

from ._plotting import COLUMN_WIDTH, diverged_note, explain_empty, model_colours, plt, shared_bins, sns, style

TABLES = {"gains": "gains"}


def no_gain_reason(pretrained: str, scratch: str, budget: int) -> str:
    """Why a pair has no equal-budget gain.

    No run of its scratch model reached the pretrained model's epochs.
    """
    return f"{pretrained} - {scratch}: no gain, {scratch}\ntrains fewer than {pretrained}'s {budget} epochs"


def draw(gains, models, bins=20):
    style()
    colours = model_colours(models)
    figure, ax = plt.subplots(figsize=(COLUMN_WIDTH, 2.6))
    pairs = list(gains.groupby(["pretrained", "scratch"], sort=False))
    edges = shared_bins([group["equal_budget_gain"] for _, group in pairs], bins)
    missing = []
    for (pretrained, scratch), group in pairs:
        budget = int(group["equal_budget"].iloc[0])
        if group["equal_budget_gain"].isna().all():
            missing.append(no_gain_reason(pretrained, scratch, budget))
            continue
        ax.hist(group["equal_budget_gain"].dropna(), bins=edges, color=colours[pretrained], alpha=0.7,
                label=f"{pretrained} - {scratch}, both at {budget} epochs")
    if len(missing) == len(pairs):
        explain_empty(ax, "\n".join(missing))
    else:
        if missing:
            ax.text(0.02, 0.98, "\n".join(missing), transform=ax.transAxes, ha="left", va="top", fontsize="x-small",
                    color="0.25")
        ax.axvline(0, color="0.3", lw=0.8, ls="--")
        ax.set_xlabel("peak accuracy gain at equal budget (points)")
        ax.set_ylabel("runs")
        ax.legend(frameon=False, fontsize="small")
    sns.despine(figure)
    diverged_note(figure, gains, models)
    return figure
