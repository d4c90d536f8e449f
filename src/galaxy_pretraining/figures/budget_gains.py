"""What longer training buys: peak accuracy at the full budget minus at shorter ones (paper Fig. 6A/B)."""

from . import COLUMN_WIDTH, model_colours, plt, save, sns, style


def draw(peaks, models, paths, budgets=(50, 20), bins=20):
    style()
    colours = model_colours(models)
    standard = peaks[~peaks["long_run"]]
    figure, axes = plt.subplots(1, len(budgets), figsize=(COLUMN_WIDTH * len(budgets), 2.6), squeeze=False)
    for ax, budget in zip(axes[0], budgets):
        for model in models:
            own = standard[standard["model"] == model].pivot(index="run", columns="budget", values="peak_accuracy")
            full = int(standard.loc[standard["model"] == model, "epochs"].max())
            if budget not in own.columns or budget >= full:
                continue
            ax.hist((own[full] - own[budget]) * 100, bins=bins, color=colours[model], alpha=0.6,
                    label=f"{model}: {full} vs {budget}")
        ax.set_xlabel(f"gain over a {budget}-epoch budget (points)")
        ax.set_ylabel("runs")
        ax.legend(frameon=False, fontsize="small")
    sns.despine(figure)
    save(figure, paths)
