"""Per-class accuracy (recall) at each run's best epoch, one panel per class.

Per-class accuracy (recall) at each run's best epoch, one panel per class, bins shared by the models. A class with
no test galaxy in any run has no accuracy; its panel says so.
"""

from ._plotting import COLUMN_WIDTH, diverged_note, explain_empty, model_colours, plt, shared_bins, sns, style

TABLES = {"per_class": "per_class"}


def draw(per_class, models, class_names, bins=15):
    style()
    colours = model_colours(models)
    n = len(class_names)
    columns = min(n, 2)
    rows = (n + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(COLUMN_WIDTH * columns, 2.3 * rows), squeeze=False)
    drawn = []
    for ax, name in zip(axes.flat, class_names):
        recall = {model: per_class[(per_class["model"] == model) & (per_class["class_name"] == name)]["recall"]
                  .dropna() * 100 for model in models}
        ax.set_title(name)
        if all(values.empty for values in recall.values()):
            explain_empty(ax, f"no run's test set holds\na galaxy of {name}")
            continue
        edges = shared_bins(recall.values(), bins)
        for model, values in recall.items():
            ax.hist(values, bins=edges, color=colours[model], alpha=0.6, label=model)
        drawn.append(ax)
        ax.set_xlabel("class accuracy (%)")
        ax.set_ylabel("runs")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if drawn:
        drawn[0].legend(frameon=False, fontsize="small")
    sns.despine(figure)
    figure.tight_layout()
    diverged_note(figure, per_class, models)
    return figure
