"""Train (dotted) and test (solid) accuracy and loss of one run, every model."""

from ._plotting import COLUMN_WIDTH, diverged_note, model_colours, plt, sns, style

TABLES = {"curves": "curves"}


def draw(curves, models, run):
    style()
    colours = model_colours(models)
    figure, (accuracy, loss) = plt.subplots(1, 2, figsize=(2 * COLUMN_WIDTH, 2.6))
    chosen = curves[(curves["run"] == run) & ~curves["long_run"]]
    if chosen.empty:
        raise ValueError(f"run {run} has no curves; choose one of {sorted(curves['run'].unique())}")
    for model in models:
        own = chosen[chosen["model"] == model]
        for subset, dash in (("train", ":"), ("test", "-")):
            accuracy.plot(own["epoch"], own[f"{subset}_accuracy"] * 100, dash, color=colours[model], lw=0.9,
                          label=f"{model}, {subset}")
            loss.plot(own["epoch"], own[f"{subset}_loss"], dash, color=colours[model], lw=0.9)
    accuracy.set_ylabel("accuracy (%)")
    loss.set_ylabel("cross-entropy loss")
    for ax in (accuracy, loss):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    accuracy.set_title(f"run {run}")
    accuracy.legend(frameon=False, fontsize="x-small")
    sns.despine(figure)
    diverged_note(figure, curves, models)
    return figure
