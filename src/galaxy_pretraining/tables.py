"""The table registry: every table the workflow derives, what it reads and the function that makes it.

One wildcard rule (`table` in workflow/rules/analysis.smk) makes any of them:
it reads the `inputs` (other tables, or `catalog`), passes the context values
the table `needs` (computed from the config by study.table_arguments) and
writes the result as Parquet and CSV. Adding a table is one entry here plus
its function in analysis/ (or, for one that puts a paper's numbers beside
ours, in that paper's module in papers/) and its test.

Context values: `class_names`, `budgets` (budgets read off the curves),
`pairs` ([pretrained, scratch] model pairs), `paper_arms` ({model: arm} in
the paper's comparison, {} otherwise; papers.schneider2023.arms), `arms`
({model: architecture, weights, frozen_share}), `fu_arms` ({model: frozen
share} in Fu's comparison, {} otherwise; papers.fu.arms), `split` (the splits
block without runs and train_fractions: what draws each run's training set)
and `zhu_arms` ({model: Zhu et al.'s network} in their comparison, {}
otherwise; papers.zhu2019.arms). Besides tables, inputs may be `catalog`,
`curves` and `predictions` (every run's best-epoch test probabilities,
gathered with the curves by rule `curves`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from .analysis.calibration import calibration_summary, calibration_table, reliability_table
from .analysis.curves import (
    budget_table,
    frozen_share_table,
    long_runs_table,
    peak_accuracy_table,
    side_accuracy_table,
)
from .analysis.label_budgets import label_budget_peaks, label_budget_sign_tests, label_budget_table, labels_saved_table
from .analysis.pairs import comparison_table, paired_gains
from .analysis.per_class import best_epoch_confusions, confusion_summary, per_class_metrics, per_class_summary
from .analysis.roc import roc_auc_summary, roc_auc_table
from .data.catalog import sample_summary
from .papers import fu, schneider2023, zhu2019


@dataclass(frozen=True)
class TableStep:
    make: Callable[..., pd.DataFrame]
    inputs: tuple[str, ...]  # tables read (Parquet under tables/), or "catalog", "image_checks"; make()'s argument names
    needs: tuple[str, ...] = ()  # context values passed to make()
    when: str | None = None  # "pairs", "long_runs", "frozen_shares", "label_budgets", "label_budget_pairs",
    # "test_sides", "zhu2019" or "zhu2019_ours": made only in studies that have them
    data_inputs: bool = False  # also the data kind's summary inputs (a download manifest)
    description: str = ""


def _table2(per_class, class_names, paper_arms):
    summary = schneider2023.with_tables_2_and_4(per_class_summary(per_class, class_names), paper_arms)
    renamed = {"recall_n_runs": "n_runs", "recall_mean": "accuracy_mean", "recall_sd": "accuracy_sd",
               "paper_recall_mean": "paper_accuracy_mean", "paper_recall_sd": "paper_accuracy_sd"}
    columns = ["model", "class_name", *[c for c in renamed if c in summary]]
    columns.insert(3, "n_diverged")  # after n_runs: the diverged runs, left out of the mean
    return summary[columns].rename(columns=renamed)


def _gains(peak_accuracy, pairs):
    tables = [paired_gains(peak_accuracy, pretrained, scratch) for pretrained, scratch in pairs]
    return pd.concat(tables, ignore_index=True)


TABLES: dict[str, TableStep] = {
    "sample_summary": TableStep(
        sample_summary, ("catalog", "image_checks"), ("class_names",), data_inputs=True,
        description="The sample: galaxies per class; what the array store's image checks found (images identical "
                    "to another galaxy's, with no data, transparent, non-square); and, for downloaded cutouts, how "
                    "many galaxies were dropped because their cutout could not be fetched."),
    "peak_accuracy": TableStep(
        lambda curves, budgets: peak_accuracy_table(curves, budgets), ("curves",), ("budgets",),
        description="Peak test accuracy and its epoch per model, run and budget, read off the stored curves "
                    "(a budget of B epochs is the best epoch among the first B)."),
    "table1_budgets": TableStep(
        lambda peak_accuracy, paper_arms: schneider2023.with_table1(budget_table(peak_accuracy), paper_arms),
        ("peak_accuracy",), ("paper_arms",),
        description="Table 1: mean and sd (per cent) of the peak test accuracy per model and training budget."),
    "best_epoch_confusions": TableStep(
        lambda curves, peak_accuracy: best_epoch_confusions(curves, peak_accuracy),
        ("curves", "peak_accuracy"),
        description="Test confusion matrix of each run at its best epoch (long form: true, predicted, count)."),
    "per_class": TableStep(
        lambda best_epoch_confusions, class_names: per_class_metrics(best_epoch_confusions, class_names),
        ("best_epoch_confusions",), ("class_names",),
        description="Recall, precision and F1 per model, run and class at each run's best epoch."),
    "table2_class_accuracy": TableStep(
        _table2, ("per_class",), ("class_names", "paper_arms"),
        description="Table 2: per-class accuracy (recall, per cent) at each run's best epoch, mean and sd over runs."),
    "table4_precision_recall_f1": TableStep(
        lambda per_class, class_names, paper_arms: schneider2023.with_tables_2_and_4(
            per_class_summary(per_class, class_names), paper_arms), ("per_class",), ("class_names", "paper_arms"),
        description="Table 4: precision, recall and F1 per class (per cent) at each run's best epoch, mean and sd "
                    "over the runs where each is defined."),
    "confusion_summary": TableStep(
        lambda best_epoch_confusions: confusion_summary(best_epoch_confusions), ("best_epoch_confusions",),
        description="Mean and sd over runs of the confusion matrices as proportions of each true class."),
    "gains": TableStep(
        _gains, ("peak_accuracy",), ("pairs",), when="pairs",
        description="Per run: pretrained minus scratch peak accuracy, peak epoch, and accuracy at equal budget."),
    "sign_tests": TableStep(
        lambda gains, paper_arms: schneider2023.with_sign_tests(comparison_table(gains), paper_arms), ("gains",),
        ("paper_arms",), when="pairs",
        description="Two-sided sign tests, pretrained against scratch, paired by run: peak accuracy (a win is a "
                    "higher peak), epoch of the peak (a win is an earlier peak) and peak accuracy when scratch gets "
                    "only the pretrained model's epochs. A pair with a diverged run is left out of the test, with "
                    "its partner (pairs_dropped_diverged; n_diverged_* per arm)."),
    "frozen_share_results": TableStep(
        lambda curves, arms, fu_arms: fu.with_table1(frozen_share_table(curves, arms), fu_arms), ("curves",),
        ("arms", "fu_arms"), when="frozen_shares",
        description="Partial fine-tuning: per model, the share of its layers kept at their ImageNet weights and the "
                    "last epoch's train and test loss and accuracy (per cent), mean and sd over runs, as Fu's "
                    "Table 1; and the peak test accuracy over the epochs."),
    "label_budget_peaks": TableStep(
        lambda label_budget_curves, catalog, split: label_budget_peaks(label_budget_curves, catalog, split),
        ("label_budget_curves", "catalog"), ("split",), when="label_budgets",
        description="Label budgets: per model, run and share of the training labels, the labelled galaxies "
                    "trained on and the peak test accuracy (per cent)."),
    "label_budget": TableStep(
        lambda label_budget_peaks: label_budget_table(label_budget_peaks), ("label_budget_peaks",),
        when="label_budgets",
        description="Peak test accuracy (per cent) against the number of labelled galaxies: mean and sd over runs "
                    "per model and label budget."),
    "labels_saved": TableStep(
        lambda label_budget_peaks, pairs: labels_saved_table(label_budget_peaks, pairs),
        ("label_budget_peaks",), ("pairs",), when="label_budget_pairs",
        description="Labels saved by pretraining: at each label budget, the labelled galaxies the scratch model "
                    "needs to match the pretrained model's mean peak accuracy (interpolated on a log axis), as a "
                    "ratio to the pretrained model's; per-run ratios give the median and quartiles."),
    "label_budget_sign_tests": TableStep(
        lambda label_budget_peaks, pairs: label_budget_sign_tests(label_budget_peaks, pairs),
        ("label_budget_peaks",), ("pairs",), when="label_budget_pairs",
        description="Two-sided sign tests per label budget: pretrained against scratch peak accuracy, paired by "
                    "run."),
    "roc_auc": TableStep(
        lambda predictions, class_names: roc_auc_table(predictions, class_names), ("predictions",),
        ("class_names",),
        description="AUC of each class against the rest, per model and run, from the best epoch's test "
                    "probabilities, and their macro average (class macro)."),
    "roc_auc_summary": TableStep(
        lambda roc_auc, class_names: roc_auc_summary(roc_auc, class_names), ("roc_auc",), ("class_names",),
        description="AUC per model and class (one against the rest) and macro average: mean and sd over runs."),
    "calibration": TableStep(
        lambda predictions, class_names: calibration_table(predictions, class_names), ("predictions",),
        ("class_names",),
        description="Calibration of the best epoch's test probabilities per model and run: accuracy, mean top-class "
                    "confidence, expected calibration error (ECE: 15 equal-width confidence bins, Guo et al. 2017) "
                    "and mean negative log likelihood (nats), from the stored logits."),
    "calibration_summary": TableStep(
        lambda calibration: calibration_summary(calibration), ("calibration",),
        description="Calibration beside accuracy per model: accuracy, confidence, ECE and NLL of the best epoch's "
                    "test probabilities, mean and sd over runs. No paper reports it."),
    "reliability": TableStep(
        lambda predictions, class_names: reliability_table(predictions, class_names), ("predictions",),
        ("class_names",),
        description="Reliability bins per model and run: the best epoch's test galaxies by top-class confidence "
                    "(15 equal-width bins), their count, mean confidence and accuracy."),
    "test_side_accuracy": TableStep(
        lambda curves: side_accuracy_table(curves), ("curves",), when="test_sides",
        description="Test accuracy (per cent) at each test side of the scale_jitter views: the peak over the "
                    "epochs, and the accuracy at the best epoch of the study's test side; mean and sd over runs."),
    "zhu2019_comparison": TableStep(
        lambda peak_accuracy, roc_auc, per_class, zhu_arms: zhu2019.comparison_table(
            peak_accuracy, roc_auc, per_class, zhu_arms),
        ("peak_accuracy", "roc_auc", "per_class"), ("zhu_arms",), when="zhu2019",
        description="Zhu et al.'s networks run here (from scratch, their protocol) beside their published "
                    "accuracy, AUC and macro precision, recall and F1 (zhu2019_* columns)."),
    "zhu2019_per_class": TableStep(
        lambda per_class, roc_auc, class_names, zhu_arms: zhu2019.per_class_table(
            per_class, roc_auc, class_names, zhu_arms),
        ("per_class", "roc_auc"), ("class_names", "zhu_arms"), when="zhu2019_ours",
        description="Zhu et al.'s wide ResNet run here: precision, recall and F1 per class (per cent) and AUC, "
                    "mean and sd over runs, beside their best model's (zhu2019_* columns)."),
    "table3_long_runs": TableStep(
        lambda peak_accuracy, paper_arms: schneider2023.with_table3(long_runs_table(peak_accuracy), paper_arms),
        ("peak_accuracy",), ("paper_arms",), when="long_runs",
        description="Table 3: the long repeats: peak accuracy and its epoch."),
}


def make_table(name: str, inputs: Mapping[str, str], arguments: Mapping) -> pd.DataFrame:
    """Read a table's inputs (Parquet paths by argument name) and make it."""
    tables = {key: pd.read_parquet(path) for key, path in inputs.items()}
    return TABLES[name].make(**tables, **arguments)
