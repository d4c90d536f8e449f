"""Peak test accuracy against the number of labelled galaxies (log axis).

Every run (dots) and the mean and sd over runs (line and bars) of each model.
"""

import matplotlib.ticker

from ._plotting import COLUMN_WIDTH, diverged_note, model_colours, plt, sns, style

TABLES = {"peaks": "label_budget_peaks", "table": "label_budget"}


def draw(peaks, table, models):
    style()
    colours = model_colours(models)
    figure, ax = plt.subplots(figsize=(COLUMN_WIDTH * 1.3, 2.8))
    for model in models:
        own, runs = table[table["model"] == model].sort_values("n_train"), peaks[peaks["model"] == model]
        ax.scatter(runs["n_train"], runs["peak_accuracy"], s=5, color=colours[model], alpha=0.4, lw=0)
        ax.errorbar(own["n_train"], own["mean"], yerr=own["sd"].fillna(0), color=colours[model], marker="o", ms=3,
                    capsize=2, lw=1, label=f"{model} ({int(own['n_runs'].min())} runs per budget)")
    ax.set_xscale("log")
    ax.set_xticks(sorted({round(n) for n in table["n_train"]}))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("labelled training galaxies")
    ax.set_ylabel("peak test accuracy (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6, frameon=False)
    sns.despine(figure)
    diverged_note(figure, peaks, models)
    return figure
