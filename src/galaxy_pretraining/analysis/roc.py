"""ROC curves and AUC of each class against the rest, and their macro average.

From the best epoch's probabilities.

Pure functions; no paper's number is known here (papers/ puts the published ones beside these tables).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def collect_predictions(paths: Sequence[str], keys: Sequence[Sequence]) -> pd.DataFrame:
    """Every run's best-epoch test predictions in one table, with model and run first.

    The columns of a predictions file follow (row, true, predicted, probability_<class>, epoch, ...). `keys`
    holds (model, run, ...) for each path, as collect_curves' does.
    """
    frames = []
    for path, key in zip(paths, keys, strict=True):
        table = pd.read_parquet(path)
        table.insert(0, "run", int(key[1]))
        table.insert(0, "model", key[0])
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


MACRO = "macro"  # the class_name of a macro average's row


def _probabilities(predictions: pd.DataFrame, class_names: Sequence[str]) -> np.ndarray:
    """Scores that rank the galaxies as each class's probability does (for AUCs and ROC curves).

    The one-vs-rest log-odds from the stored logits (logit_<class>, float32) where the table has them, never
    saturated (float32 probabilities round to 1 for confident galaxies and tie them); else the
    probability_<class> columns.
    """
    logits = [f"logit_{name}" for name in class_names]
    # a run written before logits were kept has none (NaN beside the others' in the gathered table)
    if all(c in predictions for c in logits) and predictions[logits].notna().all().all():
        return one_vs_rest_log_odds(predictions[logits].to_numpy(dtype=np.float64))
    columns = [f"probability_{name}" for name in class_names]
    missing = [c for c in columns if c not in predictions]
    if missing:
        raise ValueError(f"the predictions table lacks {missing}; its classes differ from the config's")
    return predictions[columns].to_numpy()


def one_vs_rest_log_odds(logits: np.ndarray) -> np.ndarray:
    """log(p_c / (1 - p_c)) of each class of softmax(logits) (N x K), as logit_c - logsumexp of the others.

    Exact for any margin (in a binary problem the two classes' scores are each other's negatives).
    """
    from scipy.special import logsumexp

    k = logits.shape[1]
    return np.stack([logits[:, c] - logsumexp(logits[:, [j for j in range(k) if j != c]], axis=1)
                     for c in range(k)], axis=1)


def roc_auc_table(predictions: pd.DataFrame, class_names: Sequence[str]) -> pd.DataFrame:
    """AUC per model, run and class (one class against the rest), and their macro average.

    From the best epoch's probabilities, with sklearn's roc_auc_score. The macro average (class_name `macro`) is the
    mean over the classes present in the run's test set. A class absent from a run's test set has no AUC (NaN). A
    diverged run (column `diverged`) has no AUC either, and is marked `diverged`. Raises ValueError naming the model
    and run when a run that did not diverge has probabilities that are not finite.
    """
    from sklearn.metrics import roc_auc_score

    rows = []
    for (model, run), group in predictions.groupby(["model", "run"], sort=True):
        probabilities, true = _probabilities(group, class_names), group["true"].to_numpy()
        if "diverged" in group and group["diverged"].any():
            rows += [(model, int(run), name, int((true == c).sum()), np.nan, True)
                     for c, name in enumerate(class_names)]
            rows.append((model, int(run), MACRO, len(true), np.nan, True))
            continue
        if not np.isfinite(probabilities).all():
            raise ValueError(f"model {model} run {run}: {int((~np.isfinite(probabilities)).any(axis=1).sum())} test "
                             "galaxies have probabilities that are not finite, but the run is not marked diverged "
                             "(predictions of an older version?); delete its last.pt to train it again")
        aucs = []
        for c, name in enumerate(class_names):
            positive = true == c
            auc = roc_auc_score(positive, probabilities[:, c]) if 0 < positive.sum() < len(true) else np.nan
            aucs.append(auc)
            rows.append((model, int(run), name, int(positive.sum()), auc, False))
        rows.append((model, int(run), MACRO, len(true), float(np.nanmean(aucs)), False))
    return pd.DataFrame(rows, columns=["model", "run", "class_name", "support", "auc", "diverged"])


def roc_auc_summary(roc_auc: pd.DataFrame, class_names: Sequence[str]) -> pd.DataFrame:
    """Mean and sd over runs of each model's AUC per class and macro average (classes in config order).

    N_runs counts the runs with an AUC, n_diverged the diverged runs left out.
    """
    order = {name: i for i, name in enumerate([*class_names, MACRO])}
    if "diverged" not in roc_auc:
        roc_auc = roc_auc.assign(diverged=False)
    summary = roc_auc.groupby(["model", "class_name"], sort=False).agg(
        n_runs=("auc", "count"), n_diverged=("diverged", "sum"), auc_mean=("auc", "mean"),
        auc_sd=("auc", "std")).reset_index()
    summary["n_diverged"] = summary["n_diverged"].astype(int)
    summary["order"] = summary["class_name"].map(order)
    return summary.sort_values(["model", "order"]).drop(columns="order").reset_index(drop=True).round(4)


def roc_curve_points(predictions: pd.DataFrame, class_names: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One run's ROC curve of each class against the rest.

    Class -> (false positive rates, true positive rates) (sklearn's roc_curve); classes absent from the predictions
    are left out.
    """
    from sklearn.metrics import roc_curve

    probabilities, true = _probabilities(predictions, class_names), predictions["true"].to_numpy()
    curves = {}
    for c, name in enumerate(class_names):
        positive = true == c
        if 0 < positive.sum() < len(true):
            fpr, tpr, _ = roc_curve(positive, probabilities[:, c])
            curves[name] = (fpr, tpr)
    return curves
