"""What longer training buys each model: its peak accuracy at its full budget minus at shorter budgets."""

from .plotting import COLUMN_WIDTH, diverged_note, model_colours, plt, shared_bins, sns, style

TABLES = {"peaks": "peak_accuracy"}


def draw(peaks, models, budgets=(50, 20), bins=20):
    style()
    colours = model_colours(models)
    standard = peaks[~peaks["long_run"]]
    figure, axes = plt.subplots(1, len(budgets), figsize=(COLUMN_WIDTH * len(budgets), 2.6), squeeze=False)
    for ax, budget in zip(axes[0], budgets):
        gains = {}
        for model in models:
            own = standard[standard["model"] == model].pivot(index="run", columns="budget", values="peak_accuracy")
            full = int(standard.loc[standard["model"] == model, "epochs"].max())
            if budget in own.columns and budget < full:
                gains[model] = (full, (own[full] - own[budget]) * 100)
        edges = shared_bins([gain for _, gain in gains.values()], bins)
        for model, (full, gain) in gains.items():
            ax.hist(gain, bins=edges, color=colours[model], alpha=0.6, label=f"{model}: {full} vs {budget}")
        ax.set_xlabel(f"gain over a {budget}-epoch budget (points)")
        ax.set_ylabel("runs")
        ax.legend(frameon=False, fontsize="small")
    sns.despine(figure)
    diverged_note(figure, peaks, models)
    return figure
