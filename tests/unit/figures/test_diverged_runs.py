"""Every figure draws a study in which a run diverged, and says under it how many runs of each model diverged."""

import importlib

import matplotlib
import numpy as np
import pandas as pd
import pytest
from unit.figures.test_figures import CLASSES, MODELS, RUNS, arguments, synthetic_curves, synthetic_predictions

from galaxy_pretraining.figures import FIGURES
from galaxy_pretraining.tables import TABLES

matplotlib.use("Agg")

DIVERGED = ("net-scratch", 1)  # run 1 of the scratch model diverged in its epoch 3


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    curves = synthetic_curves()
    curves["diverged"] = False
    mine = (curves["model"] == DIVERGED[0]) & (curves["run"] == DIVERGED[1])
    curves = curves[~mine | (curves["epoch"] <= 3)].copy()  # its epochs so far, the last one NaN
    last = mine & (curves["epoch"] == 3)
    curves.loc[last, ["train_loss", "train_accuracy", "test_loss", "test_accuracy"]] = np.nan
    curves.loc[mine, "diverged"] = True
    predictions = synthetic_predictions()
    predictions["diverged"] = False
    mine = (predictions["model"] == DIVERGED[0]) & (predictions["run"] == DIVERGED[1])
    predictions.loc[mine, [f"probability_{c}" for c in CLASSES]] = np.nan
    predictions.loc[mine, ["predicted", "diverged"]] = [-1, True]
    made = {"curves": curves, "predictions": predictions}
    context = {"class_names": CLASSES, "budgets": [2, 4], "pairs": [MODELS], "paper_arms": {},
               "arms": {"net-imagenet": {"architecture": "net", "weights": "imagenet", "frozen_share": 0.5},
                        "net-scratch": {"architecture": "net", "weights": "none", "frozen_share": 0.0}},
               "fu_arms": {}}
    for name, step in TABLES.items():
        if name == "sample_summary" or step.when in ("long_runs", "test_sides", "zhu2019", "zhu2019_ours",
                                                     "label_budgets", "label_budget_pairs"):
            continue
        made[name] = step.make(**{k: made[k] for k in step.inputs}, **{k: context[k] for k in step.needs})
    return made


@pytest.mark.parametrize("name", sorted(n for n in FIGURES if n != "label_budget"))
def test_every_figure_counts_the_diverged_run_of_its_model(name, tables):
    module = importlib.import_module(f"galaxy_pretraining.figures.{name}")
    figure = module.draw(**{arg: tables[table] for arg, table in FIGURES[name].tables.items()},
                         **{**arguments(name), "run": DIVERGED[1]} if "run" in FIGURES[name].context
                         else arguments(name))
    notes = [t.get_text() for t in figure.texts if "diverged runs" in t.get_text()]
    assert notes == ["diverged runs (non-finite loss; left out): net-imagenet 0, net-scratch 1"], name
    figure.canvas.draw()  # every panel draws (a diverged run's panel says so instead)


def test_tables_count_the_diverged_run_and_average_the_others(tables):
    budgets = tables["table1_budgets"].set_index(["model", "budget"])
    assert budgets.loc[("net-scratch", 6), ["n_runs", "n_diverged"]].tolist() == [RUNS - 1, 1]
    assert budgets.loc[("net-imagenet", 6), ["n_runs", "n_diverged"]].tolist() == [RUNS, 0]
