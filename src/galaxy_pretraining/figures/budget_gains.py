"""What longer training buys each model.

Its peak accuracy at its full budget minus at shorter budgets (by default the two longest budgets of
analysis.budgets shorter than every model's epochs; figures.budget_gains.budgets chooses others). A panel names the
models trained no longer than its budget, and says so where that is all.
"""

from ..analysis.curves import gain_budgets
from ._plotting import COLUMN_WIDTH, diverged_note, explain_empty, model_colours, plt, shared_bins, sns, style

TABLES = {"peaks": "peak_accuracy"}


def model_epochs(standard, models) -> dict[str, int]:
    """Each model's epochs (its full budget) in the standard runs of the peak table."""
    return {model: int(standard.loc[standard["model"] == model, "epochs"].max()) for model in models
            if (standard["model"] == model).any()}


def no_gain_reason(epochs: dict[str, int], budget: int | None, read: set[int] | None = None) -> str:
    """Why a panel has no gain.

    No model trains longer than its budget, its budget is not among those `read` off the curves, or (budget None) no
    budget is shorter than every model's epochs.
    """
    trained = " and ".join(str(e) for e in sorted(set(epochs.values())))
    if budget is None:
        return (f"no budget of analysis.budgets is shorter than the models' epochs\n(they train {trained}); "
                "set figures.budget_gains.budgets")
    if read is not None and budget not in read and budget < max(epochs.values()):
        return f"budget {budget} was not read off the curves\n(add it to analysis.budgets)"
    return f"no run trained longer than {budget} epochs\n(the models train {trained})"


def draw(peaks, models, budgets=None, bins=20):
    style()
    colours = model_colours(models)
    standard = peaks[~peaks["long_run"]]
    epochs = model_epochs(standard, models)
    if budgets is None:
        budgets = gain_budgets(standard["budget"].unique(), list(epochs.values()))
    panels = list(budgets) or [None]
    figure, axes = plt.subplots(1, len(panels), figsize=(COLUMN_WIDTH * len(panels), 2.6), squeeze=False)
    for ax, budget in zip(axes[0], panels):
        gains = {}
        for model, full in epochs.items():
            own = standard[standard["model"] == model].pivot(index="run", columns="budget", values="peak_accuracy")
            if budget in own.columns and budget < full:
                gains[model] = (full, (own[full] - own[budget]) * 100)
        if not gains:
            explain_empty(ax, no_gain_reason(epochs, budget, set(standard["budget"])))
            continue
        shorter = [f"{model} (trains {full})" for model, full in epochs.items() if model not in gains]
        if shorter:
            ax.text(0.02, 0.98, f"no gain over {budget} epochs:\n" + "\n".join(shorter), transform=ax.transAxes,
                    ha="left", va="top", fontsize="x-small", color="0.25")
        edges = shared_bins([gain for _, gain in gains.values()], bins)
        for model, (full, gain) in gains.items():
            ax.hist(gain, bins=edges, color=colours[model], alpha=0.6, label=f"{model}: {full} vs {budget}")
        ax.set_xlabel(f"gain over a {budget}-epoch budget (points)")
        ax.set_ylabel("runs")
        ax.legend(frameon=False, fontsize="small")
    sns.despine(figure)
    diverged_note(figure, peaks, models)
    return figure
