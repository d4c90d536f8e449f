"""Tables derived only from the per-epoch metrics: pure functions, unit-tested.

Restricted budgets are a re-reading of the stored curves (the peak over the
first `budget` epochs), never new training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..papers import fu, schneider2023, zhu2019


def peak_accuracy(metrics: pd.DataFrame, budget: int) -> tuple[float, int]:
    """Peak test accuracy over epochs 1..budget and the first epoch that reaches it."""
    window = metrics[metrics["epoch"] <= budget]
    if window.empty:
        raise ValueError(f"no epochs within a budget of {budget}")
    best = window.loc[window["test_accuracy"].idxmax()]
    return float(best["test_accuracy"]), int(best["epoch"])


def collect_curves(paths: Sequence[str], keys: Sequence[Sequence], max_iterations: int | None = None) -> pd.DataFrame:
    """All runs' per-epoch metrics in one table with model, run, epochs (configured), long_run and train_fraction.

    `keys` holds (model, run, epochs, long_run, train_fraction) for each path;
    long_run marks the repeats of the long_runs config block (the paper's
    Table 3), train_fraction the label budget (1.0: all the labels). A run is
    complete with its `epochs` epochs, or fewer when it stopped at
    `max_iterations` optimiser steps (training.max_iterations).
    """
    frames = []
    for path, (model, run, epochs, long_run, train_fraction) in zip(paths, keys, strict=True):
        metrics = pd.read_parquet(path)
        trained = int(metrics["epoch"].max())
        stopped = (max_iterations is not None and "iterations" in metrics
                   and int(metrics["iterations"].iloc[-1]) >= max_iterations)
        if len(metrics) != trained or (trained != int(epochs) and not (stopped and trained < int(epochs))):
            limit = "" if max_iterations is None else f" or fewer ending at {max_iterations} iterations"
            raise ValueError(f"{path}: {len(metrics)} epochs up to {trained}, expected 1..{epochs}{limit}")
        metrics = metrics.drop(columns=["run"], errors="ignore")
        metrics.insert(0, "train_fraction", float(train_fraction))
        metrics.insert(0, "long_run", bool(long_run))
        metrics.insert(0, "epochs", int(epochs))
        metrics.insert(0, "run", int(run))
        metrics.insert(0, "model", model)
        frames.append(metrics)
    return pd.concat(frames, ignore_index=True)


def peak_accuracy_table(curves: pd.DataFrame, budgets: Sequence[int]) -> pd.DataFrame:
    """One row per (model, run, epochs trained, budget) for every budget the run reaches.

    The budget equal to the epochs trained is always included; a budget longer
    than the run trained is left out, not extrapolated.
    With a validation split, `validation_selected_accuracy` is the test
    accuracy at the epoch of best validation accuracy within the budget (no
    selection on the test set); NaN without one.
    """
    rows = []
    for (model, run, epochs, long_run), metrics in curves.groupby(["model", "run", "epochs", "long_run"], sort=True):
        for budget in sorted(set(budgets) | {int(epochs)}):
            if budget > epochs:
                continue
            accuracy, epoch = peak_accuracy(metrics, budget)
            selected, selected_epoch = validation_selected_accuracy(metrics, budget)
            rows.append({"model": model, "run": int(run), "epochs": int(epochs), "long_run": bool(long_run),
                         "budget": int(budget), "peak_accuracy": accuracy, "peak_epoch": epoch,
                         "validation_selected_accuracy": selected, "validation_epoch": selected_epoch})
    return pd.DataFrame(rows, columns=["model", "run", "epochs", "long_run", "budget", "peak_accuracy", "peak_epoch",
                                       "validation_selected_accuracy", "validation_epoch"])


def validation_selected_accuracy(metrics: pd.DataFrame, budget: int) -> tuple[float, float]:
    """Test accuracy at the first epoch of best validation accuracy within the budget (NaN without validation)."""
    if "validation_accuracy" not in metrics or metrics["validation_accuracy"].isna().all():
        return np.nan, np.nan
    window = metrics[metrics["epoch"] <= budget]
    best = window.loc[window["validation_accuracy"].idxmax()]
    return float(best["test_accuracy"]), float(best["epoch"])


def budget_table(peaks: pd.DataFrame, paper_arms: Mapping[str, str]) -> pd.DataFrame:
    """Table 1: mean and sd (per cent) of peak accuracy per model, epochs trained and budget.

    Says how many runs each cell covers. In the paper's comparison (`paper_arms`
    maps each model to its arm) the paper's values sit beside ours; otherwise
    there is no paper column.
    """
    grouped = peaks.groupby(["model", "long_run", "epochs", "budget"], sort=True)
    table = grouped["peak_accuracy"].agg(n_runs="count", mean="mean", sd="std").reset_index()
    table["mean"] *= 100
    table["sd"] *= 100
    if "validation_selected_accuracy" in peaks and peaks["validation_selected_accuracy"].notna().any():
        selected = grouped["validation_selected_accuracy"].agg(["mean", "std"]).reset_index(drop=True) * 100
        table["validation_selected_mean"], table["validation_selected_sd"] = selected["mean"], selected["std"]
    if paper_arms:
        published_cells = [schneider2023.TABLE1.get((paper_arms.get(row.model), row.budget), (np.nan, np.nan))
                           if not row.long_run else (np.nan, np.nan) for row in table.itertuples()]
        table["paper_mean"] = [mean for mean, _ in published_cells]
        table["paper_sd"] = [np.nan if sd is None else sd for _, sd in published_cells]
    return table.round(2)


# --- per-class metrics and confusion matrices at each run's best epoch -------------------------


def full_budget(peaks: pd.DataFrame, long_run: bool = False) -> pd.DataFrame:
    """The rows of the peak table at each run's full budget (all its epochs): standard or long runs."""
    return peaks[(peaks["long_run"] == long_run) & (peaks["budget"] == peaks["epochs"])]


def confusion_matrix(cells: pd.DataFrame, k: int, value: str = "count") -> np.ndarray:
    """A k x k matrix (rows true, columns predicted) from long-form cells with true, predicted and `value`."""
    matrix = np.full((k, k), np.nan) if value != "count" else np.zeros((k, k), dtype=np.int64)
    matrix[cells["true"], cells["predicted"]] = cells[value]
    return matrix


def best_epoch_confusions(curves: pd.DataFrame, peaks: pd.DataFrame) -> pd.DataFrame:
    """The test confusion matrix of each standard run at its peak epoch (full budget), long form.

    Columns: model, run, peak_epoch, true, predicted, count (rows of the matrix are true classes).
    """
    full = full_budget(peaks)
    keyed = curves[~curves["long_run"]].set_index(["model", "run", "epoch"])
    rows = []
    for peak in full.itertuples():
        matrix = np.stack(list(keyed.loc[(peak.model, peak.run, peak.peak_epoch), "test_confusion"]))
        for true in range(matrix.shape[0]):
            for predicted in range(matrix.shape[1]):
                rows.append((peak.model, peak.run, peak.peak_epoch, true, predicted, int(matrix[true, predicted])))
    return pd.DataFrame(rows, columns=["model", "run", "peak_epoch", "true", "predicted", "count"])


def per_class_metrics(confusions: pd.DataFrame, class_names: Sequence[str]) -> pd.DataFrame:
    """Recall (= per-class accuracy), precision and F1 per model, run and class.

    A class absent from a run's test split has no recall (NaN); a class never
    predicted has no precision (NaN). Summaries average over the runs where
    the number exists and say how many those are.
    """
    rows = []
    for (model, run), group in confusions.groupby(["model", "run"], sort=True):
        matrix = confusion_matrix(group, len(class_names))
        for c, name in enumerate(class_names):
            support, predicted, hits = matrix[c].sum(), matrix[:, c].sum(), matrix[c, c]
            recall = hits / support if support else np.nan
            precision = hits / predicted if predicted else np.nan
            f1 = (2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0) \
                if not (np.isnan(recall) or np.isnan(precision)) else np.nan
            rows.append((model, run, name, int(support), recall, precision, f1))
    return pd.DataFrame(rows, columns=["model", "run", "class_name", "support", "recall", "precision", "f1"])


METRICS = ("recall", "precision", "f1")


def per_class_summary(per_class: pd.DataFrame, class_names: Sequence[str], paper_arms: Mapping[str, str]) -> pd.DataFrame:
    """Tables 2 and 4: mean and sd (per cent) over runs of recall, precision and F1 per model and class.

    In the paper's comparison, the paper's mean and sd of each sit beside ours (paper_<metric>_mean, _sd).
    """
    rows = []
    for (model, name), group in per_class.groupby(["model", "class_name"], sort=False):
        row = {"model": model, "class_name": name, "n_runs": len(group)}
        for metric in METRICS:
            values = group[metric].dropna() * 100
            row[f"{metric}_n_runs"] = len(values)
            row[f"{metric}_mean"] = values.mean() if len(values) else np.nan
            row[f"{metric}_sd"] = values.std() if len(values) > 1 else np.nan
        if paper_arms:
            cells = schneider2023.PER_CLASS.get(paper_arms.get(model), {}).get(name, {})
            for metric in METRICS:
                row[f"paper_{metric}_mean"], row[f"paper_{metric}_sd"] = cells.get(metric, (np.nan, np.nan))
        rows.append(row)
    table = pd.DataFrame(rows)
    order = {name: i for i, name in enumerate(class_names)}
    table = table.sort_values(["model", "class_name"], key=lambda s: s.map(order) if s.name == "class_name" else s)
    return table.reset_index(drop=True).round(2)


def confusion_summary(confusions: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over runs of each confusion matrix cell as a proportion of its true class (Fig. 11)."""
    table = confusions.copy()
    totals = table.groupby(["model", "run", "true"])["count"].transform("sum")
    table["proportion"] = table["count"] / totals.where(totals > 0)
    grouped = table.groupby(["model", "true", "predicted"])["proportion"]
    return grouped.agg(n_runs="count", mean="mean", sd="std").reset_index()


# --- pretrained versus scratch: paired per run -------------------------------------------------

def sign_test(differences: Sequence[float]) -> dict:
    """Two-sided sign test: positive differences are wins; ties are left out of the test."""
    from scipy.stats import binomtest

    differences = np.asarray(differences, dtype=float)
    wins, losses = int((differences > 0).sum()), int((differences < 0).sum())
    ties = len(differences) - wins - losses
    p_value = binomtest(wins, wins + losses, 0.5, alternative="two-sided").pvalue if wins + losses else np.nan
    return {"wins": wins, "losses": losses, "ties": ties, "p_value": p_value}


def paired_gains(peaks: pd.DataFrame, pretrained: str, scratch: str) -> pd.DataFrame:
    """Per run: peak accuracy gain (points), equal-budget gain and peak epoch difference.

    `equal_budget_gain` compares both at the pretrained model's epochs (the
    scratch curve read only up to there). Runs present for only one model are
    left out.
    """
    standard = peaks[~peaks["long_run"]]
    a = standard[standard["model"] == pretrained]
    b = standard[standard["model"] == scratch]
    a_full = full_budget(a).set_index("run")
    b_full = full_budget(b).set_index("run")
    budget = int(a_full["epochs"].iloc[0]) if len(a_full) else 0
    b_equal = b[b["budget"] == budget].set_index("run")
    runs = a_full.index.intersection(b_full.index)
    table = pd.DataFrame({"run": runs})
    table["peak_accuracy_gain"] = (a_full.loc[runs, "peak_accuracy"].to_numpy() - b_full.loc[runs, "peak_accuracy"].to_numpy()) * 100
    table["peak_epoch_difference"] = a_full.loc[runs, "peak_epoch"].to_numpy() - b_full.loc[runs, "peak_epoch"].to_numpy()
    equal = runs.intersection(b_equal.index)
    table["equal_budget_gain"] = np.nan
    table.loc[table["run"].isin(equal), "equal_budget_gain"] = (
        a_full.loc[equal, "peak_accuracy"].to_numpy() - b_equal.loc[equal, "peak_accuracy"].to_numpy()) * 100
    table.insert(0, "scratch", scratch)
    table.insert(0, "pretrained", pretrained)
    table["equal_budget"] = budget
    return table


def comparison_table(gains: pd.DataFrame, paper_arms: Mapping[str, str]) -> pd.DataFrame:
    """Sign tests of pretrained against scratch per pair: peak accuracy, peak epoch, equal budget.

    For the peak epoch a win is an earlier peak (fewer epochs needed). The
    paper's wins, p-value and mean difference sit beside a pair only in the
    paper's comparison.
    """
    rows = []
    for (pretrained, scratch), group in gains.groupby(["pretrained", "scratch"], sort=False):
        for comparison, column, sign in (("peak_accuracy", "peak_accuracy_gain", 1),
                                         ("peak_epoch", "peak_epoch_difference", -1),
                                         ("equal_budget", "equal_budget_gain", 1)):
            values = group[column].dropna()
            row = {"pretrained": pretrained, "scratch": scratch, "comparison": comparison, "n_runs": len(values),
                   **sign_test(sign * values), "mean_difference": values.mean(), "sd_difference": values.std()}
            if paper_arms:
                is_paper_pair = (paper_arms.get(pretrained), paper_arms.get(scratch)) == schneider2023.ARMS
                row.update({k: (v if is_paper_pair else None) for k, v in schneider2023.SIGN_TESTS[comparison].items()})
            rows.append(row)
    columns = ["pretrained", "scratch", "comparison", "n_runs", "wins", "losses", "ties", "p_value",
               "mean_difference", "sd_difference"]
    if paper_arms:
        columns += ["paper_wins", "paper_p_value", "paper_mean_difference"]
    return pd.DataFrame(rows).reindex(columns=columns).round({"mean_difference": 3, "sd_difference": 3})


def long_runs_table(peaks: pd.DataFrame, paper_arms: Mapping[str, str]) -> pd.DataFrame:
    """Table 3: peak accuracy (per cent) and its epoch of every long run; the paper's beside it in its comparison."""
    table = full_budget(peaks, long_run=True)[["model", "run", "epochs", "peak_accuracy", "peak_epoch"]].copy()
    table["peak_accuracy"] = (table["peak_accuracy"] * 100).round(2)
    if paper_arms:
        cells = [schneider2023.LONG_RUNS.get(paper_arms.get(row.model), {}).get(row.run, (np.nan, np.nan))
                 if row.epochs == schneider2023.LONG_RUN_EPOCHS else (np.nan, np.nan) for row in table.itertuples()]
        table["paper_peak_accuracy"] = [accuracy for accuracy, _ in cells]
        table["paper_peak_epoch"] = [epoch for _, epoch in cells]
    return table.reset_index(drop=True)


# --- partial fine-tuning (Fu) -------------------------------------------------------------------

LAST_EPOCH_METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


def frozen_share_table(curves: pd.DataFrame, arms: Mapping[str, Mapping], fu_arms: Mapping[str, float]) -> pd.DataFrame:
    """Per model: its frozen share and the mean and sd over runs of the last epoch's losses and accuracies
    (per cent), as Fu's Table 1 reports them, plus the peak test accuracy over the epochs.

    `arms`: {model: {architecture, weights, frozen_share}}; a model trained from scratch has no share (NaN).
    In Fu's comparison (`fu_arms`: {model: share}) Fu's single runs sit beside ours in paper_* columns.
    """
    standard = curves[~curves["long_run"]]
    last = standard[standard["epoch"] == standard["epochs"]]
    rows = []
    for model, spec in arms.items():
        mine, runs = last[last["model"] == model], standard[standard["model"] == model]
        if mine.empty:
            raise ValueError(f"the curves hold no finished run of model {model!r}")
        row = {"model": model, "architecture": spec["architecture"], "weights": spec["weights"],
               "frozen_share": spec["frozen_share"] if spec["weights"] != "none" else np.nan,
               "epochs": int(mine["epochs"].iloc[0]), "n_runs": len(mine)}
        for metric in LAST_EPOCH_METRICS:
            scale = 100 if metric.endswith("accuracy") else 1
            row[f"{metric}_mean"] = mine[metric].mean() * scale
            row[f"{metric}_sd"] = mine[metric].std() * scale
        peaks = runs.groupby("run")["test_accuracy"].max() * 100
        row["peak_test_accuracy_mean"], row["peak_test_accuracy_sd"] = peaks.mean(), peaks.std()
        if fu_arms:
            paper = fu.TABLE1.get(fu_arms.get(model), {})
            for metric in LAST_EPOCH_METRICS:
                row[f"paper_{metric}"] = paper.get(metric, np.nan)
        rows.append(row)
    return pd.DataFrame(rows).round(3)


# --- label budgets: accuracy against the number of labelled galaxies ------------------------------


def training_set_sizes(catalog: pd.DataFrame, split: Mapping, runs: Sequence[int],
                       fractions: Sequence[float]) -> pd.DataFrame:
    """(run, train_fraction, n_train): how many labelled galaxies each run trains on at each budget, drawn
    exactly as the training jobs draw them (splits.study_splits, then splits.labelled_subset)."""
    from ..data.splits import labelled_subset, rows_of, study_splits

    splits = study_splits(catalog, runs, split)
    ids, labels = catalog["id"].to_numpy(), catalog["class_index"].to_numpy()
    rows = []
    for run in runs:
        train = rows_of(splits, run, "train")
        for fraction in fractions:
            rows.append({"run": int(run), "train_fraction": float(fraction),
                         "n_train": len(labelled_subset(train, ids, labels, float(fraction), split["seed"], run))})
    return pd.DataFrame(rows)


def label_budget_peaks(curves: pd.DataFrame, catalog: pd.DataFrame, split: Mapping) -> pd.DataFrame:
    """Per model, run and label budget: the labelled galaxies trained on and the peak test accuracy (per cent)."""
    peaks = (curves.groupby(["model", "run", "train_fraction"], sort=True)["test_accuracy"].max() * 100).rename(
        "peak_accuracy").reset_index()
    sizes = training_set_sizes(catalog, split, sorted(peaks["run"].unique()), sorted(peaks["train_fraction"].unique()))
    return peaks.merge(sizes, on=["run", "train_fraction"], how="left", validate="many_to_one")


def label_budget_table(peaks: pd.DataFrame) -> pd.DataFrame:
    """Per model and label budget: labelled galaxies (mean over runs) and the peak accuracy's mean and sd."""
    grouped = peaks.groupby(["model", "train_fraction"], sort=True)
    table = grouped.agg(n_train=("n_train", "mean"), n_runs=("run", "count"), mean=("peak_accuracy", "mean"),
                        sd=("peak_accuracy", "std")).reset_index()
    return table.round(3)


def labels_needed(n_train: Sequence[float], accuracy: Sequence[float], target: float) -> float:
    """Labelled galaxies at which an accuracy curve (ascending n_train) first reaches `target`: linear
    interpolation on log n between the two budgets around the crossing; the smallest budget if it reaches it
    already there; NaN if it never does."""
    n, a = np.asarray(n_train, dtype=float), np.asarray(accuracy, dtype=float)
    reached = np.nonzero(a >= target)[0]
    if len(reached) == 0:
        return np.nan
    i = int(reached[0])
    if i == 0:
        return float(n[0])
    step = (target - a[i - 1]) / (a[i] - a[i - 1])
    return float(np.exp(np.log(n[i - 1]) + step * (np.log(n[i]) - np.log(n[i - 1]))))


def labels_saved_table(peaks: pd.DataFrame, pairs: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Per [pretrained, scratch] pair and label budget: how many labels the scratch model needs to match the
    pretrained model's mean peak accuracy there, and the ratio to the pretrained model's labels.

    Besides the ratio of the mean curves, each run's own ratio (its scratch curve against its pretrained
    peak) gives the spread: median and quartiles over the runs where the scratch curve reaches it;
    `runs_not_reached` counts the others (scratch never matches within the budgets trained). A ratio at the
    smallest budget is an upper bound: scratch may match with fewer labels than were tried.
    """
    rows = []
    for pretrained, scratch in pairs:
        own = peaks[peaks["model"] == pretrained]
        other = peaks[peaks["model"] == scratch]
        mean_other = other.groupby("train_fraction").agg(n_train=("n_train", "mean"), accuracy=("peak_accuracy", "mean"))
        mean_other = mean_other.sort_values("n_train")
        for fraction, runs in own.groupby("train_fraction", sort=True):
            target, n_pretrained = runs["peak_accuracy"].mean(), runs["n_train"].mean()
            needed = labels_needed(mean_other["n_train"], mean_other["accuracy"], target)
            ratios = []
            for run in runs.itertuples():
                curve = other[other["run"] == run.run].sort_values("n_train")
                ratios.append(labels_needed(curve["n_train"], curve["peak_accuracy"], run.peak_accuracy) / run.n_train)
            ratios = np.asarray(ratios)
            reached = ratios[np.isfinite(ratios)]
            rows.append({
                "pretrained": pretrained, "scratch": scratch, "train_fraction": fraction,
                "n_train_pretrained": n_pretrained, "pretrained_accuracy": target,
                "scratch_labels_needed": needed, "labels_saved_ratio": needed / n_pretrained,
                "at_smallest_budget": bool(np.isfinite(needed) and needed <= mean_other["n_train"].min()),
                "run_ratio_median": np.median(reached) if len(reached) else np.nan,
                "run_ratio_q25": np.quantile(reached, 0.25) if len(reached) else np.nan,
                "run_ratio_q75": np.quantile(reached, 0.75) if len(reached) else np.nan,
                "runs_not_reached": int((~np.isfinite(ratios)).sum()), "n_runs": len(ratios),
            })
    return pd.DataFrame(rows).round(3)


def label_budget_sign_tests(peaks: pd.DataFrame, pairs: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Per pair and label budget: two-sided sign test of the pretrained model's peak accuracy against the
    scratch model's, paired by run; and the mean difference (points)."""
    rows = []
    for pretrained, scratch in pairs:
        a = peaks[peaks["model"] == pretrained].set_index(["train_fraction", "run"])["peak_accuracy"]
        b = peaks[peaks["model"] == scratch].set_index(["train_fraction", "run"])["peak_accuracy"]
        both = a.index.intersection(b.index)
        for fraction in sorted(both.get_level_values(0).unique()):
            keys = [key for key in both if key[0] == fraction]
            differences = a.loc[keys].to_numpy() - b.loc[keys].to_numpy()
            rows.append({"pretrained": pretrained, "scratch": scratch, "train_fraction": fraction,
                         "n_runs": len(keys), "mean_difference": differences.mean(), **sign_test(differences)})
    return pd.DataFrame(rows)


# --- best-epoch probabilities: ROC curves and AUC (Zhu et al. 2019) ----------------------------


def collect_predictions(paths: Sequence[str], keys: Sequence[Sequence]) -> pd.DataFrame:
    """Every run's best-epoch test predictions (row, true, predicted, probability_<class>, epoch) in one
    table with model and run first; `keys` holds (model, run, ...) for each path, as collect_curves'."""
    frames = []
    for path, key in zip(paths, keys, strict=True):
        table = pd.read_parquet(path)
        table.insert(0, "run", int(key[1]))
        table.insert(0, "model", key[0])
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


MACRO = "macro"  # the class_name of a macro average's row


def _probabilities(predictions: pd.DataFrame, class_names: Sequence[str]) -> np.ndarray:
    columns = [f"probability_{name}" for name in class_names]
    missing = [c for c in columns if c not in predictions]
    if missing:
        raise ValueError(f"the predictions table lacks {missing}; its classes differ from the config's")
    return predictions[columns].to_numpy()


def roc_auc_table(predictions: pd.DataFrame, class_names: Sequence[str]) -> pd.DataFrame:
    """AUC per model, run and class, one class against the rest, from the best epoch's probabilities
    (sklearn's roc_auc_score), and their macro average (class_name `macro`: the mean over the classes present
    in the run's test set). A class absent from a run's test set has no AUC (NaN)."""
    from sklearn.metrics import roc_auc_score

    rows = []
    for (model, run), group in predictions.groupby(["model", "run"], sort=True):
        probabilities, true = _probabilities(group, class_names), group["true"].to_numpy()
        aucs = []
        for c, name in enumerate(class_names):
            positive = true == c
            auc = roc_auc_score(positive, probabilities[:, c]) if 0 < positive.sum() < len(true) else np.nan
            aucs.append(auc)
            rows.append((model, int(run), name, int(positive.sum()), auc))
        rows.append((model, int(run), MACRO, len(true), float(np.nanmean(aucs))))
    return pd.DataFrame(rows, columns=["model", "run", "class_name", "support", "auc"])


def roc_auc_summary(roc_auc: pd.DataFrame, class_names: Sequence[str]) -> pd.DataFrame:
    """Mean and sd over runs of each model's AUC per class and macro average (classes in config order)."""
    order = {name: i for i, name in enumerate([*class_names, MACRO])}
    summary = roc_auc.groupby(["model", "class_name"], sort=False)["auc"].agg(
        n_runs="count", auc_mean="mean", auc_sd="std").reset_index()
    summary["order"] = summary["class_name"].map(order)
    return summary.sort_values(["model", "order"]).drop(columns="order").reset_index(drop=True).round(4)


def roc_curve_points(predictions: pd.DataFrame, class_names: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One run's ROC curve of each class against the rest: class -> (false positive rates, true positive rates)
    (sklearn's roc_curve); classes absent from the predictions are left out."""
    from sklearn.metrics import roc_curve

    probabilities, true = _probabilities(predictions, class_names), predictions["true"].to_numpy()
    curves = {}
    for c, name in enumerate(class_names):
        positive = true == c
        if 0 < positive.sum() < len(true):
            fpr, tpr, _ = roc_curve(positive, probabilities[:, c])
            curves[name] = (fpr, tpr)
    return curves


def side_accuracy_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Accuracy at each test side (training.scale_jitter): per model, the peak over the epochs of the
    test_accuracy_side<Q> columns and the accuracy at the epoch of the peak of test_accuracy (the test side
    the study's other tables use), mean and sd over the standard runs on all the labels, per cent."""
    standard = curves[~curves["long_run"] & (curves["train_fraction"] == 1.0)]
    columns = [c for c in standard.columns if c.startswith("test_accuracy_side") and standard[c].notna().any()]
    if not columns:
        raise ValueError("the curves hold no test_accuracy_side<Q> columns: the study has no scale_jitter test sides")
    rows = []
    for (model, run), metrics in standard.groupby(["model", "run"], sort=True):
        best = metrics.loc[metrics["test_accuracy"].idxmax()]
        for column in columns:
            rows.append({"model": model, "run": int(run), "test_side": int(column.removeprefix("test_accuracy_side")),
                         "peak_accuracy": metrics[column].max() * 100, "accuracy_at_best_epoch": best[column] * 100})
    per_run = pd.DataFrame(rows)
    summary = per_run.groupby(["model", "test_side"]).agg(
        n_runs=("run", "count"), peak_accuracy_mean=("peak_accuracy", "mean"), peak_accuracy_sd=("peak_accuracy", "std"),
        accuracy_at_best_epoch_mean=("accuracy_at_best_epoch", "mean"),
        accuracy_at_best_epoch_sd=("accuracy_at_best_epoch", "std")).reset_index()
    return summary.round(2)


def zhu2019_comparison(peak_accuracy: pd.DataFrame, roc_auc: pd.DataFrame, per_class: pd.DataFrame,
                       zhu_arms: Mapping[str, str]) -> pd.DataFrame:
    """Each of Zhu et al.'s networks run here beside their numbers: the best-epoch test accuracy (per cent)
    mean and sd over runs (their Table 6: the mean of each run's best) and of the best run (their single
    best model), the macro AUC and macro precision, recall and F1 (mean over runs) beside theirs.
    Only the models of `zhu_arms` (papers.zhu2019.arms: their architecture, from scratch, their protocol)."""
    if not zhu_arms:
        raise ValueError("no model of this study is one of Zhu et al.'s networks under their protocol")
    full = full_budget(peak_accuracy)
    macro = roc_auc[roc_auc["class_name"] == MACRO]
    rows = []
    for model, network in zhu_arms.items():
        accuracy = full.loc[full["model"] == model, "peak_accuracy"] * 100
        ours = per_class[per_class["model"] == model].groupby("run")[list(METRICS)].mean() * 100
        theirs = zhu2019.NETWORKS[network]
        row = {"model": model, "zhu2019_network": network, "n_runs": len(accuracy),
               "accuracy_mean": accuracy.mean(), "accuracy_sd": accuracy.std(), "accuracy_best_run": accuracy.max(),
               "zhu2019_accuracy_mean": theirs["table6_mean"], "zhu2019_accuracy_best": theirs["accuracy"],
               "auc_macro_mean": macro.loc[macro["model"] == model, "auc"].mean(), "zhu2019_auc_macro": theirs["auc"]}
        for metric in METRICS:
            row[f"{metric}_macro_mean"] = ours[metric].mean()
            row[f"zhu2019_{metric}_macro"] = theirs.get(f"{metric}_macro", np.nan)
        rows.append(row)
    return pd.DataFrame(rows).round(4)


def zhu2019_per_class(per_class: pd.DataFrame, roc_auc: pd.DataFrame, class_names: Sequence[str],
                      zhu_arms: Mapping[str, str]) -> pd.DataFrame:
    """Their network's per-class precision, recall (= class accuracy) and F1 and our AUC per class, mean and
    sd over runs (per cent, AUC as a fraction), beside their best model's (their Tables 4 and 5)."""
    ours = [model for model, network in zhu_arms.items() if network == zhu2019.OWN_NETWORK]
    if not ours:
        raise ValueError(f"no model of this study is Zhu et al.'s own network ({zhu2019.OWN_NETWORK})")
    summary = per_class_summary(per_class[per_class["model"].isin(ours)], class_names, {})
    auc = roc_auc[roc_auc["model"].isin(ours)].groupby(["model", "class_name"])["auc"].agg(
        auc_mean="mean", auc_sd="std").reset_index()
    table = summary.merge(auc, on=["model", "class_name"], how="left")
    for metric in METRICS:
        table[f"zhu2019_{metric}"] = table["class_name"].map(
            lambda name, m=metric: zhu2019.PER_CLASS.get(name, {}).get(m, np.nan))
    return table.round(4)
