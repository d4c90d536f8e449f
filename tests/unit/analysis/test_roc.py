import numpy as np
import pandas as pd
import pytest

from galaxy_pretraining.analysis.roc import roc_auc_summary, roc_auc_table


def predictions(scores: np.ndarray, true: np.ndarray, model="m", run=0) -> pd.DataFrame:
    table = pd.DataFrame({"model": model, "run": run, "row": np.arange(len(true)), "true": true,
                          "predicted": scores.argmax(1), "epoch": 7})
    for c, name in enumerate(["a", "b", "c"]):
        table[f"probability_{name}"] = scores[:, c]
    return table


def test_auc_per_class_against_the_rest_and_its_macro_average_checked_by_hand():
    true = np.array([0, 0, 1, 1, 2, 2])
    scores = np.array([[.8, .1, .1], [.3, .6, .1], [.2, .7, .1], [.5, .4, .1], [.1, .1, .8], [.1, .2, .7]])
    table = roc_auc_table(predictions(scores, true), ["a", "b", "c"])
    auc = dict(zip(table["class_name"], table["auc"]))
    # a: positives .8 .3 against .2 .5 .1 .1 -> 7 of 8 pairs ranked right; b: .7 .4 against .1 .6 .1 .2 -> 7 of 8;
    # c: .8 .7 against four .1 -> all 8
    assert auc["a"] == pytest.approx(7 / 8) and auc["b"] == pytest.approx(7 / 8) and auc["c"] == 1.0
    assert auc["macro"] == pytest.approx((7 / 8 + 7 / 8 + 1) / 3)
    absent = roc_auc_table(predictions(scores[:4], true[:4]), ["a", "b", "c"])
    assert np.isnan(absent.set_index("class_name").loc["c", "auc"])
    summary = roc_auc_summary(pd.concat([table, table.assign(run=1)]), ["a", "b", "c"])
    assert summary["class_name"].tolist() == ["a", "b", "c", "macro"] and (summary["n_runs"] == 2).all()
