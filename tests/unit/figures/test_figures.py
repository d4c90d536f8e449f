"""Every figure, drawn from small tables where one model never changes, shows every model in every panel."""

import importlib

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.patches import Rectangle

from galaxy_pretraining.figures import FIGURES, render
from galaxy_pretraining.figures._plotting import model_colours, shared_bins
from galaxy_pretraining.tables import TABLES

matplotlib.use("Agg")

MODELS = ["net-imagenet", "net-scratch"]
CLASSES = ["elliptical", "spiral", "irregular+misc"]
RUNS, EPOCHS = 4, 6


def synthetic_curves() -> pd.DataFrame:
    """The pretrained model learns and varies by run; the scratch model predicts 'elliptical' every epoch of every run."""
    rng = np.random.default_rng(0)
    support = np.array([20, 15, 5])
    rows = []
    for model in MODELS:
        for run in range(RUNS):
            for epoch in range(1, EPOCHS + 1):
                confusion = np.zeros((3, 3), dtype=int)
                if model == "net-scratch":
                    confusion[:, 0] = support
                else:
                    for true, n in enumerate(support):
                        hits = min(n, int(rng.integers(n // 2, n + 1)))
                        confusion[true, true] = hits
                        confusion[true, (true + 1) % 3] = n - hits
                accuracy = np.trace(confusion) / support.sum()
                rows.append({"model": model, "run": run, "epochs": EPOCHS, "long_run": False, "epoch": epoch,
                             "train_loss": 1.0 / epoch, "train_accuracy": accuracy, "test_loss": 1.1 / epoch,
                             "test_accuracy": accuracy, "test_confusion": confusion.tolist(),
                             "seconds": 60.0 + run, "device": "cpu (test)", "diverged": False})
    return pd.DataFrame(rows)


def synthetic_label_budget_peaks() -> pd.DataFrame:
    """Peak accuracy against labelled galaxies: the pretrained model climbs with the labels, scratch stays put."""
    rows = []
    for model in MODELS:
        for run in range(RUNS):
            for fraction, n_train in ((0.1, 30), (0.5, 150), (1.0, 300)):
                accuracy = 50.0 if model == "net-scratch" else 60 + 20 * fraction + run
                rows.append({"model": model, "run": run, "train_fraction": fraction, "peak_accuracy": accuracy,
                             "n_train": n_train})
    return pd.DataFrame(rows)


def synthetic_predictions() -> pd.DataFrame:
    """Best-epoch test probabilities: the pretrained model ranks the true class first more often than not, the
    scratch model gives every galaxy the same probabilities (its ROC curves are the diagonal)."""
    rng = np.random.default_rng(1)
    rows = []
    for model in MODELS:
        for run in range(RUNS):
            for row, true in enumerate(np.repeat(np.arange(3), [20, 15, 5])):
                scores = np.full(3, 1.0) if model == "net-scratch" else rng.random(3) + 1.5 * np.eye(3)[true]
                probabilities = scores / scores.sum()
                rows.append({"model": model, "run": run, "row": row, "true": true,
                             "predicted": int(probabilities.argmax()), "epoch": 3,
                             **{f"probability_{name}": p for name, p in zip(CLASSES, probabilities)}})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, str]:
    """Every table a figure reads, made by the registry's own steps, as Parquet files."""
    folder = tmp_path_factory.mktemp("tables")
    made = {"curves": synthetic_curves(), "predictions": synthetic_predictions()}
    context = {"class_names": CLASSES, "budgets": [2, 4, EPOCHS], "pairs": [MODELS], "paper_arms": {},
               "arms": {"net-imagenet": {"architecture": "net", "weights": "imagenet", "frozen_share": 0.5},
                        "net-scratch": {"architecture": "net", "weights": "none", "frozen_share": 0.0}},
               "fu_arms": {}}
    made["label_budget_peaks"] = synthetic_label_budget_peaks()
    for name, step in TABLES.items():
        # (the long runs' and Zhu et al.'s tables and the test sides' are no figure's; tests/unit/analysis/ and
        # tests/unit/papers/ test them)
        if name in ("sample_summary", "label_budget_peaks") or step.when in ("long_runs", "test_sides", "zhu2019",
                                                                              "zhu2019_ours"):
            continue
        made[name] = step.make(**{k: made[k] for k in step.inputs}, **{k: context[k] for k in step.needs})
    paths = {}
    for name, table in made.items():
        paths[name] = str(folder / f"{name}.parquet")
        table.to_parquet(paths[name])
    return paths


def arguments(name: str) -> dict:
    context = {"models": MODELS, "class_names": CLASSES, "run": RUNS - 1, "pairs": [MODELS]}
    options = {"budget_gains": {"budgets": [2, 4]}}.get(name, {})
    return {**{k: context[k] for k in FIGURES[name].context}, **options}


def draw(name: str, tables: dict[str, str]):
    module = importlib.import_module(f"galaxy_pretraining.figures.{name}")
    spec = FIGURES[name]
    return module.draw(**{arg: pd.read_parquet(tables[table]) for arg, table in spec.tables.items()},
                       **arguments(name))


def visible_colours(ax, renderer) -> set:
    """Colours of the bars and lines drawn in a panel that span at least one pixel on screen, and of the points
    (scatter) of a nonzero size inside the panel's limits."""
    colours = set()
    for points in ax.collections:
        if not isinstance(points, PathCollection) or not points.get_visible() or not len(points.get_offsets()):
            continue
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        offsets = np.asarray(points.get_offsets(), dtype=float)
        inside = (offsets[:, 0] >= x0) & (offsets[:, 0] <= x1) & (offsets[:, 1] >= y0) & (offsets[:, 1] <= y1)
        if inside.any() and (np.asarray(points.get_sizes()) > 0).any():
            colours.update(tuple(np.round(c[:3], 3)) for c in points.get_facecolors())
    for artist in list(ax.patches) + list(ax.get_lines()):
        if isinstance(artist, Rectangle) and artist.get_height() == 0:
            continue
        box = artist.get_window_extent(renderer)
        # a bar needs a pixel of width and of height; a line a pixel of length (flat lines are fine)
        extent = min(box.width, box.height) if isinstance(artist, Rectangle) else max(box.width, box.height)
        if extent >= 1.0 and artist.get_visible():
            colour = artist.get_facecolor() if isinstance(artist, Rectangle) else artist.get_color()
            colours.add(tuple(np.round(matplotlib.colors.to_rgb(colour), 3)))
    return colours


# Figures whose colours are classes, not models; each has its own test below.
CLASS_COLOURED = ("roc_curves",)


@pytest.mark.parametrize("name", sorted(set(FIGURES) - set(CLASS_COLOURED)))
def test_every_model_has_visible_marks_in_every_panel(name, tables):
    figure = draw(name, tables)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    colours = {m: tuple(np.round(c, 3)) for m, c in model_colours(MODELS).items()}
    # paired figures draw one colour per pair: the pretrained model's
    expected = [MODELS[0]] if "gains" in FIGURES[name].tables.values() else MODELS
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert panels
    for ax in panels:
        title = ax.get_title()
        named = [m for m in MODELS if title.startswith(m)]
        if any(isinstance(c, QuadMesh) for c in ax.collections):  # a heatmap panel of one model
            assert len(named) == 1, title
            mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
            assert np.isfinite(np.asarray(mesh.get_array(), dtype=float)).all(), title
            continue
        seen = visible_colours(ax, renderer)
        for model in named or expected:
            assert colours[model] in seen, f"{name}: {model} draws nothing visible in panel {title or ax.get_xlabel()!r}"
    matplotlib.pyplot.close(figure)


def test_histograms_of_two_models_share_their_bin_edges(tables):
    figure = draw("per_class_histograms", tables)
    for ax in figure.axes[: len(CLASSES)]:
        widths = {round(p.get_width(), 9) for p in ax.patches if isinstance(p, Rectangle)}
        assert len(widths) == 1, f"{ax.get_title()}: bars of different widths {widths}"
    matplotlib.pyplot.close(figure)


def test_shared_bins_give_a_constant_sample_a_visible_width():
    assert np.allclose(shared_bins([[80.0, 80.0]], 4), [79.5, 79.75, 80.0, 80.25, 80.5])
    edges = shared_bins([[0.0, 0.0], [50.0, 100.0]], 10)
    assert edges[0] == 0.0 and edges[-1] == 100.0 and len(edges) == 11
    assert len(shared_bins([[np.nan]], 5)) == 6


def test_render_writes_png_and_pdf(tables, tmp_path):
    outputs = [str(tmp_path / "peak_histograms.png"), str(tmp_path / "peak_histograms.pdf")]
    render("peak_histograms", {"peaks": tables["peak_accuracy"]}, outputs, arguments("peak_histograms"))
    assert (tmp_path / "peak_histograms.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "peak_histograms.pdf").read_bytes()[:4] == b"%PDF"


def test_roc_curves_draw_every_class_of_every_model_with_its_auc(tables):
    """One panel per model; one curve per class with its AUC in the legend: the informed model's above 0.5,
    the scratch model's (the same probabilities for every galaxy) the diagonal, AUC 0.5."""
    figure = draw("roc_curves", tables)
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title().split(",")[0] for ax in panels] == MODELS
    for ax, model in zip(panels, MODELS):
        labels = [text.get_text() for text in ax.get_legend().get_texts()]
        assert [label.split(" (")[0] for label in labels] == CLASSES
        aucs = [float(label.split("AUC ")[1].rstrip(")")) for label in labels]
        assert all(auc > 0.7 for auc in aucs) if model == MODELS[0] else aucs == [0.5] * len(CLASSES), (model, aucs)
    matplotlib.pyplot.close(figure)


# --- a figure with nothing to draw says why on its axes -----------------------------------------


def texts(figure) -> list[str]:
    return [text.get_text() for ax in figure.axes for text in ax.texts]


def test_budget_gains_by_default_compares_budgets_shorter_than_every_model(tables):
    """Without figures.budget_gains.budgets, the two longest budgets below the models' epochs (6): 4 and 2, not
    50 and 20 (no model of a 6-epoch study reaches them)."""
    from galaxy_pretraining.figures import budget_gains

    figure = budget_gains.draw(pd.read_parquet(tables["peak_accuracy"]), MODELS)
    assert [ax.get_xlabel() for ax in figure.axes] == ["gain over a 4-epoch budget (points)",
                                                      "gain over a 2-epoch budget (points)"]
    assert texts(figure) == []
    matplotlib.pyplot.close(figure)


def test_budget_gains_with_no_run_past_its_budget_says_why_on_the_axes(tables):
    from galaxy_pretraining.figures import budget_gains

    peaks = pd.read_parquet(tables["peak_accuracy"])
    figure = budget_gains.draw(peaks, MODELS, budgets=[50, 2])
    assert texts(figure) == ["no run trained longer than 50 epochs\n(the models train 6)"]
    assert figure.axes[0].texts[0].get_visible() and not figure.axes[0].patches  # the text, no bars
    assert figure.axes[1].patches  # the 2-epoch panel draws its gains
    matplotlib.pyplot.close(figure)
    figure = budget_gains.draw(peaks, MODELS, budgets=[3])
    assert texts(figure) == ["budget 3 was not read off the curves\n(add it to analysis.budgets)"]
    matplotlib.pyplot.close(figure)
    only_full = peaks[peaks["budget"] == EPOCHS]  # analysis.budgets all at or beyond the epochs
    figure = budget_gains.draw(only_full, MODELS)
    assert texts(figure) == ["no budget of analysis.budgets is shorter than the models' epochs\n(they train 6); "
                             "set figures.budget_gains.budgets"]
    matplotlib.pyplot.close(figure)


def test_budget_gains_names_a_model_that_trains_no_longer_than_the_budget(tables):
    from galaxy_pretraining.figures import budget_gains

    peaks = pd.read_parquet(tables["peak_accuracy"])
    scratch = peaks["model"] == MODELS[1]
    peaks = peaks[~scratch | (peaks["budget"] <= 4)].copy()  # the scratch model as if it trained 4 epochs
    peaks.loc[peaks["model"] == MODELS[1], "epochs"] = 4
    figure = budget_gains.draw(peaks, MODELS, budgets=[4, 2])
    assert [t.get_text() for t in figure.axes[0].texts] == [f"no gain over 4 epochs:\n{MODELS[1]} (trains 4)"]
    assert not figure.axes[1].texts
    matplotlib.pyplot.close(figure)


def test_equal_budget_gain_names_a_pair_whose_scratch_model_trains_fewer_epochs(tables):
    from galaxy_pretraining.figures import equal_budget_gain

    gains = pd.read_parquet(tables["gains"]).assign(equal_budget_gain=np.nan)
    figure = equal_budget_gain.draw(gains, MODELS)
    assert texts(figure) == [f"{MODELS[0]} - {MODELS[1]}: no gain, {MODELS[1]}\ntrains fewer than "
                             f"{MODELS[0]}'s {EPOCHS} epochs"]
    matplotlib.pyplot.close(figure)


def test_per_class_histograms_name_a_class_no_test_set_holds(tables):
    from galaxy_pretraining.figures import per_class_histograms

    per_class = pd.read_parquet(tables["per_class"])
    per_class.loc[per_class["class_name"] == "spiral", "recall"] = np.nan
    figure = per_class_histograms.draw(per_class, MODELS, CLASSES)
    assert texts(figure) == ["no run's test set holds\na galaxy of spiral"]
    matplotlib.pyplot.close(figure)
