"""How far to trust the probabilities: expected calibration error (ECE) and reliability diagrams.

Of the best-epoch test predictions, per model and run, and their mean and sd over runs.

The ECE is Guo et al. (2017, "On calibration of modern neural networks", ICML, eq. 3): the top-class
confidence cut into equal-width bins, and the share-weighted mean of |accuracy - mean confidence| over the
bins. Probabilities come from the stored logits (float64 softmax) where the table has them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

BINS = 15  # Guo et al. (2017)'s bins


def class_probabilities(predictions: pd.DataFrame, class_names: Sequence[str]) -> np.ndarray:
    """The N x K probabilities of a predictions table, as float64.

    The softmax of its logit_<class> columns where it has them, else its probability_<class> columns.

    Raises ValueError naming the missing columns.
    """
    from scipy.special import softmax

    logits = [f"logit_{name}" for name in class_names]
    # a run written before logits were kept has none (NaN beside the others' in the gathered table)
    if all(c in predictions for c in logits) and predictions[logits].notna().all().all():
        return softmax(predictions[logits].to_numpy(dtype=np.float64), axis=1)
    columns = [f"probability_{name}" for name in class_names]
    missing = [c for c in columns if c not in predictions]
    if missing:
        raise ValueError(f"the predictions table lacks {missing}; its classes differ from the config's")
    return predictions[columns].to_numpy(dtype=np.float64)


def reliability(probabilities: np.ndarray, true: np.ndarray, bins: int = BINS) -> pd.DataFrame:
    """One row per confidence bin (equal width over 0-1, the last closed).

    Its columns: bin, lower, upper, count, the mean top-class confidence and the accuracy of its galaxies (NaN
    for an empty bin).
    """
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    for b in range(bins):
        chosen = index == b
        n = int(chosen.sum())
        rows.append((b, edges[b], edges[b + 1], n, float(confidence[chosen].mean()) if n else np.nan,
                     float(correct[chosen].mean()) if n else np.nan))
    return pd.DataFrame(rows, columns=["bin", "lower", "upper", "count", "confidence", "accuracy"])


def expected_calibration_error(table: pd.DataFrame) -> float:
    """The ECE of a reliability table: sum over bins of count / total x |accuracy - confidence|."""
    filled = table[table["count"] > 0]
    return float((filled["count"] * (filled["accuracy"] - filled["confidence"]).abs()).sum() / filled["count"].sum())


def _groups(predictions: pd.DataFrame):
    keys = [k for k in ("model", "run") if k in predictions]
    return predictions.groupby(keys, sort=True) if keys else [((), predictions)]


def reliability_table(predictions: pd.DataFrame, class_names: Sequence[str], bins: int = BINS) -> pd.DataFrame:
    """The reliability bins of every model and run (diverged runs left out)."""
    frames = []
    for key, group in _groups(predictions):
        if "diverged" in group and group["diverged"].any():
            continue
        table = reliability(class_probabilities(group, class_names), group["true"].to_numpy(), bins)
        model, run = key if isinstance(key, tuple) and len(key) == 2 else ("", -1)
        frames.append(table.assign(model=model, run=int(run)))
    columns = ["model", "run", "bin", "lower", "upper", "count", "confidence", "accuracy"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def calibration_table(predictions: pd.DataFrame, class_names: Sequence[str], bins: int = BINS) -> pd.DataFrame:
    """Per model and run: test galaxies, accuracy, mean top-class confidence, ECE and mean NLL (nats).

    Of the best epoch's predictions; a diverged run's are NaN and it is marked diverged.
    """
    rows = []
    for (model, run), group in predictions.groupby(["model", "run"], sort=True):
        true = group["true"].to_numpy()
        if "diverged" in group and group["diverged"].any():
            rows.append((model, int(run), len(true), np.nan, np.nan, np.nan, np.nan, True))
            continue
        p = class_probabilities(group, class_names)
        table = reliability(p, true, bins)
        nll = float(-np.log(np.clip(p[np.arange(len(true)), true], 1e-300, None)).mean())
        rows.append((model, int(run), len(true), float((p.argmax(1) == true).mean()), float(p.max(1).mean()),
                     expected_calibration_error(table), nll, False))
    return pd.DataFrame(rows, columns=["model", "run", "n_galaxies", "accuracy", "confidence", "ece", "nll",
                                       "diverged"])


def calibration_summary(calibration: pd.DataFrame) -> pd.DataFrame:
    """Per model: accuracy, confidence, ECE and NLL, mean and sd over its runs.

    Diverged runs are left out and counted.
    """
    kept = calibration[~calibration["diverged"].astype(bool)]
    summary = kept.groupby("model", sort=False).agg(
        n_runs=("run", "count"), accuracy_mean=("accuracy", "mean"), accuracy_sd=("accuracy", "std"),
        confidence_mean=("confidence", "mean"), confidence_sd=("confidence", "std"), ece_mean=("ece", "mean"),
        ece_sd=("ece", "std"), nll_mean=("nll", "mean"), nll_sd=("nll", "std")).reset_index()
    diverged = calibration.groupby("model", sort=False)["diverged"].sum().astype(int)
    summary.insert(2, "n_diverged", summary["model"].map(diverged).fillna(0).astype(int))
    return summary.round(4)


def prediction_set_calibration(predictions: pd.DataFrame, class_names: Sequence[str], bins: int = BINS
                               ) -> pd.DataFrame:
    """A labelled prediction set's ensemble: galaxies, accuracy, confidence, ECE and NLL.

    Its reliability bins follow, one row each.

    Of its mean probabilities (predict.ensemble.summary_table).
    """
    p = predictions[[f"probability_{name}" for name in class_names]].to_numpy(dtype=np.float64)
    true = predictions["true"].to_numpy()
    table = reliability(p, true, bins)
    nll = float(-np.log(np.clip(p[np.arange(len(true)), true], 1e-300, None)).mean())
    head = pd.DataFrame({"bin": ["all"], "count": [len(true)], "confidence": [float(p.max(1).mean())],
                         "accuracy": [float((p.argmax(1) == true).mean())],
                         "ece": [expected_calibration_error(table)], "nll": [nll]})
    return pd.concat([head, table.assign(bin=table["bin"].astype(str))], ignore_index=True)
