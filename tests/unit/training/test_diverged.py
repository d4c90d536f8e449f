"""A run whose loss goes non-finite stops at once and is recorded as diverged; the tables made from real runs'
outputs leave it out of every mean, count it per model, and the ROC table does not fail on it."""

import logging

import numpy as np
import pandas as pd
import pytest

from galaxy_pretraining.analysis.curves import collect_curves, peak_accuracy_table
from galaxy_pretraining.analysis.roc import collect_predictions, roc_auc_table
from galaxy_pretraining.tables import TABLES

from helpers.training import CLASSES, settings, train_tiny

TOO_HIGH = {"name": "sgd", "lr": 1e30, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False}  # the case nan-loss


def test_the_first_non_finite_loss_stops_the_run_and_marks_it_diverged(tiny_study, tmp_path, caplog):
    s = settings(epochs=3, optimizer=TOO_HIGH)
    tmp_path = tmp_path / "runs" / "resnet-scratch" / "run000"  # the log names the model by its folder, as the config
    tmp_path.mkdir(parents=True)
    with caplog.at_level(logging.WARNING):
        train_tiny(tiny_study, tmp_path, s)
    lines = [r.getMessage() for r in caplog.records if "diverged" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("resnet-scratch run 0: diverged and stopped (architecture=resnet18, "
                               "weights=scratch, epoch=1, where=batch ")
    assert lines[0].endswith(", epochs_kept=0, fix=lower training.optimizer.lr)")
    assert "mixed_precision" not in lines[0]  # on the CPU nothing runs in bf16: no advice that cannot help
    stored = pd.read_parquet(tmp_path / "metrics.parquet")
    assert stored["epoch"].tolist() == [1] and stored["diverged"].tolist() == [True]  # stopped in epoch 1
    assert stored["test_accuracy"].isna().all()  # never a 0.5 "accuracy" of NaN logits
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    assert predictions["diverged"].all() and len(predictions) == 24
    assert predictions.filter(like="logit_").shape[1] == 3 and predictions.filter(like="logit_").isna().all().all()
    # written again from its record: still diverged, not trained again
    caplog.clear()
    again = train_tiny(tiny_study, tmp_path, s)
    assert again["diverged"].tolist() == [True] and "diverged and stopped (architecture" not in caplog.text


@pytest.fixture(scope="module")
def study_with_a_diverged_run(tiny_study, tmp_path_factory):
    """Two models, two runs each, of 2 epochs; run 1 of `scr` diverges: the curves and predictions tables."""
    out = tmp_path_factory.mktemp("diverged")
    paths, keys = [], []
    for model in ("pre", "scr"):
        for run in (0, 1):
            folder = out / model / f"run{run}"
            folder.mkdir(parents=True)
            optimizer = TOO_HIGH if (model, run) == ("scr", 1) else settings().optimizer
            train_tiny(tiny_study, folder, settings(run=run, epochs=2, optimizer=optimizer))
            paths.append(folder)
            keys.append([model, run, 2, False, 1.0])
    curves = collect_curves([p / "metrics.parquet" for p in paths], keys)
    predictions = collect_predictions([p / "predictions.parquet" for p in paths], keys)
    return curves, predictions


def make(name, tables, **arguments):
    return TABLES[name].make(**{a: tables[a] for a in TABLES[name].inputs}, **arguments)


def test_every_table_leaves_a_diverged_run_out_and_counts_it(study_with_a_diverged_run):
    curves, predictions = study_with_a_diverged_run
    tables = {"curves": curves, "predictions": predictions}
    tables["peak_accuracy"] = make("peak_accuracy", tables, budgets=[1])
    peaks = tables["peak_accuracy"].set_index(["model", "run", "budget"])
    assert peaks.loc[("scr", 1, 2), "diverged"] and np.isnan(peaks.loc[("scr", 1, 2), "peak_accuracy"])

    budgets = make("table1_budgets", tables, paper_arms={}).set_index(["model", "budget"])
    assert budgets.loc[("scr", 2), ["n_runs", "n_diverged"]].tolist() == [1, 1]
    assert budgets.loc[("pre", 2), ["n_runs", "n_diverged"]].tolist() == [2, 0]
    scr0 = peaks.loc[("scr", 0, 2), "peak_accuracy"]
    assert budgets.loc[("scr", 2), "mean"] == pytest.approx(scr0 * 100, abs=0.01)  # the mean of run 0 alone

    tables["gains"] = make("gains", tables, pairs=[["pre", "scr"]])
    signs = make("sign_tests", tables, paper_arms={}).set_index("comparison")
    assert signs.loc["peak_accuracy", ["n_runs", "n_diverged_pretrained", "n_diverged_scratch",
                                       "pairs_dropped_diverged"]].tolist() == [1, 0, 1, 1]

    tables["best_epoch_confusions"] = make("best_epoch_confusions", tables)
    tables["per_class"] = make("per_class", tables, class_names=CLASSES)
    table2 = make("table2_class_accuracy", tables, class_names=CLASSES, paper_arms={})
    assert set(table2.loc[table2["model"] == "scr", "n_diverged"]) == {1}
    assert set(table2.loc[table2["model"] == "scr", "n_runs"]) == {1}
    summary = make("confusion_summary", tables)
    assert set(summary.loc[summary["model"] == "scr", "n_diverged"]) == {1}

    tables["roc_auc"] = make("roc_auc", tables, class_names=CLASSES)  # no scikit-learn "Input contains NaN"
    auc = tables["roc_auc"].set_index(["model", "run", "class_name"])
    assert auc.loc[("scr", 1, "macro"), "diverged"] and np.isnan(auc.loc[("scr", 1, "macro"), "auc"])
    roc = make("roc_auc_summary", tables, class_names=CLASSES).set_index(["model", "class_name"])
    assert roc.loc[("scr", "macro"), ["n_runs", "n_diverged"]].tolist() == [1, 1]


def test_no_nan_epoch_is_a_peak_and_an_unmarked_nan_names_the_run(tmp_path):
    """A run that diverged in epoch 3 after a fine epoch 2 has no peak at any budget; NaN test probabilities
    of a run not marked diverged are an error naming model and run, not scikit-learn's."""
    path = tmp_path / "metrics.parquet"
    pd.DataFrame({"epoch": [1, 2, 3], "test_accuracy": [0.6, 0.9, np.nan],
                  "diverged": [False, False, True]}).to_parquet(path)
    curves = collect_curves([path], [["m", 4, 5, False, 1.0]])
    assert peak_accuracy_table(curves, [2])["peak_accuracy"].isna().all()
    predictions = pd.DataFrame({"model": "m", "run": 4, "true": [0, 1, 2], "predicted": [0, 1, 2],
                                **{f"probability_{c}": [np.nan, 0.5, 0.5] for c in CLASSES}})
    with pytest.raises(ValueError, match="model m run 4: 1 test galaxies have probabilities that are not finite"):
        roc_auc_table(predictions, CLASSES)
