"""The table registry: every table the workflow derives, what it reads and the function that makes it.

One wildcard rule (`table` in workflow/rules/analysis.smk) makes any of them:
it reads the `inputs` (other tables, or `catalog`), passes the context values
the table `needs` (computed by the study, study.outputs.context) and writes
the result as Parquet and CSV. Both are read off the signature of the
table's function, as the figure registry reads draw()'s: an argument named
in CONTEXT is a context value, any other (without a default) an input of
that name. Adding a table is one entry here plus its function in analysis/
(or, for one that puts a paper's numbers beside ours, in that paper's module
in papers/) and its test; where that function's arguments are named
otherwise, a function here names them after the inputs.

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

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from .analysis.calibration import calibration_summary, calibration_table, reliability_table
from .analysis.cost import budget_cost_table, cost_table, cost_to_peak_table
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
from .provenance import provenance_table

# The context values a table's function may take; any other argument is an input.
CONTEXT = ("class_names", "budgets", "pairs", "paper_arms", "arms", "fu_arms", "zhu_arms", "split")
# Inputs that are files of the array store, not tables: results/<study>/<name>.parquet.
FILES = ("catalog", "image_checks")


@dataclass(frozen=True)
class TableStep:
    """One table: its function, when a study makes it, and its caption.

    Its inputs and context come from the function's signature.
    """

    make: Callable[..., pd.DataFrame]
    when: str | None = None  # "pairs", "long_runs", "frozen_shares", "label_budgets", "label_budget_pairs",
    # "test_sides", "zhu2019" or "zhu2019_ours": made only in studies that have them
    data_inputs: bool = False  # also the data kind's summary inputs (a download manifest)
    description: str = ""
    inputs: tuple[str, ...] = field(init=False)  # tables read, or FILES; make()'s argument names
    needs: tuple[str, ...] = field(init=False)  # context values passed to make()

    def __post_init__(self):
        arguments = [p for p in inspect.signature(self.make).parameters.values() if p.default is p.empty]
        object.__setattr__(self, "inputs", tuple(p.name for p in arguments if p.name not in CONTEXT))
        object.__setattr__(self, "needs", tuple(p.name for p in arguments if p.name in CONTEXT))


# The tables whose function in analysis/ or papers/ names its arguments otherwise, or combines two steps.

def _sample_summary(catalog, image_checks, class_names, manifest=None):
    return sample_summary(catalog, class_names, image_checks, manifest)


def _table1_budgets(peak_accuracy, paper_arms):
    return schneider2023.with_table1(budget_table(peak_accuracy), paper_arms)


def _best_epoch_confusions(curves, peak_accuracy):
    return best_epoch_confusions(curves, peak_accuracy)


def _per_class(best_epoch_confusions, class_names):
    return per_class_metrics(best_epoch_confusions, class_names)


def _table2(per_class, class_names, paper_arms):
    summary = schneider2023.with_tables_2_and_4(per_class_summary(per_class, class_names), paper_arms)
    renamed = {"recall_n_runs": "n_runs", "recall_mean": "accuracy_mean", "recall_sd": "accuracy_sd",
               "paper_recall_mean": "paper_accuracy_mean", "paper_recall_sd": "paper_accuracy_sd"}
    columns = ["model", "class_name", *[c for c in renamed if c in summary]]
    columns.insert(3, "n_diverged")  # after n_runs: the diverged runs, left out of the mean
    return summary[columns].rename(columns=renamed)


def _table4(per_class, class_names, paper_arms):
    return schneider2023.with_tables_2_and_4(per_class_summary(per_class, class_names), paper_arms)


def _confusion_summary(best_epoch_confusions):
    return confusion_summary(best_epoch_confusions)


def _gains(peak_accuracy, pairs):
    tables = [paired_gains(peak_accuracy, pretrained, scratch) for pretrained, scratch in pairs]
    return pd.concat(tables, ignore_index=True)


def _sign_tests(gains, paper_arms):
    return schneider2023.with_sign_tests(comparison_table(gains), paper_arms)


def _frozen_share_results(curves, arms, fu_arms):
    return fu.with_table1(frozen_share_table(curves, arms), fu_arms)


def _label_budget_peaks(label_budget_curves, catalog, split):
    return label_budget_peaks(label_budget_curves, catalog, split)


def _label_budget(label_budget_peaks):
    return label_budget_table(label_budget_peaks)


def _labels_saved(label_budget_peaks, pairs):
    return labels_saved_table(label_budget_peaks, pairs)


def _label_budget_sign_tests(label_budget_peaks, pairs):
    return label_budget_sign_tests(label_budget_peaks, pairs)


def _zhu2019_comparison(peak_accuracy, roc_auc, per_class, zhu_arms):
    return zhu2019.comparison_table(peak_accuracy, roc_auc, per_class, zhu_arms)


def _zhu2019_per_class(per_class, roc_auc, class_names, zhu_arms):
    return zhu2019.per_class_table(per_class, roc_auc, class_names, zhu_arms)


def _table3_long_runs(peak_accuracy, paper_arms):
    return schneider2023.with_table3(long_runs_table(peak_accuracy), paper_arms)


TABLES: dict[str, TableStep] = {
    "sample_summary": TableStep(
        _sample_summary, data_inputs=True,
        description="The sample: galaxies per class; what the array store's image checks found (images identical "
                    "to another galaxy's, with no data, transparent, non-square); and, for downloaded cutouts, how "
                    "many galaxies were dropped because their cutout could not be fetched."),
    "peak_accuracy": TableStep(
        peak_accuracy_table,
        description="Peak test accuracy and its epoch per model, run and budget, read off the stored curves "
                    "(a budget of B epochs is the best epoch among the first B)."),
    "table1_budgets": TableStep(
        _table1_budgets,
        description="Table 1: mean and sd (per cent) of the peak test accuracy per model and training budget."),
    "best_epoch_confusions": TableStep(
        _best_epoch_confusions,
        description="Test confusion matrix of each run at its best epoch (long form: true, predicted, count)."),
    "per_class": TableStep(
        _per_class,
        description="Recall, precision and F1 per model, run and class at each run's best epoch."),
    "table2_class_accuracy": TableStep(
        _table2,
        description="Table 2: per-class accuracy (recall, per cent) at each run's best epoch, mean and sd over runs."),
    "table4_precision_recall_f1": TableStep(
        _table4,
        description="Table 4: precision, recall and F1 per class (per cent) at each run's best epoch, mean and sd "
                    "over the runs where each is defined."),
    "confusion_summary": TableStep(
        _confusion_summary,
        description="Mean and sd over runs of the confusion matrices as proportions of each true class."),
    "gains": TableStep(
        _gains, when="pairs",
        description="Per run: pretrained minus scratch peak accuracy, peak epoch, and accuracy at equal budget."),
    "sign_tests": TableStep(
        _sign_tests, when="pairs",
        description="Two-sided sign tests, pretrained against scratch, paired by run: peak accuracy (a win is a "
                    "higher peak), epoch of the peak (a win is an earlier peak) and peak accuracy when scratch gets "
                    "only the pretrained model's epochs. A pair with a diverged run is left out of the test, with "
                    "its partner (pairs_dropped_diverged; n_diverged_* per arm)."),
    "frozen_share_results": TableStep(
        _frozen_share_results, when="frozen_shares",
        description="Partial fine-tuning: per model, the share of its layers kept at their ImageNet weights and the "
                    "last epoch's train and test loss and accuracy (per cent), mean and sd over runs, as Fu's "
                    "Table 1; and the peak test accuracy over the epochs."),
    "label_budget_peaks": TableStep(
        _label_budget_peaks, when="label_budgets",
        description="Label budgets: per model, run and share of the training labels, the labelled galaxies "
                    "trained on and the peak test accuracy (per cent)."),
    "label_budget": TableStep(
        _label_budget, when="label_budgets",
        description="Peak test accuracy (per cent) against the number of labelled galaxies: mean and sd over runs "
                    "per model and label budget."),
    "labels_saved": TableStep(
        _labels_saved, when="label_budget_pairs",
        description="Labels saved by pretraining: at each label budget, the labelled galaxies the scratch model "
                    "needs to match the pretrained model's mean peak accuracy (interpolated on a log axis), as a "
                    "ratio to the pretrained model's; per-run ratios give the median and quartiles."),
    "label_budget_sign_tests": TableStep(
        _label_budget_sign_tests, when="label_budget_pairs",
        description="Two-sided sign tests per label budget: pretrained against scratch peak accuracy, paired by "
                    "run."),
    "roc_auc": TableStep(
        roc_auc_table,
        description="AUC of each class against the rest, per model and run, from the best epoch's test "
                    "probabilities, and their macro average (class macro)."),
    "roc_auc_summary": TableStep(
        roc_auc_summary,
        description="AUC per model and class (one against the rest) and macro average: mean and sd over runs."),
    "calibration": TableStep(
        calibration_table,
        description="Calibration of the best epoch's test probabilities per model and run: accuracy, mean top-class "
                    "confidence, expected calibration error (ECE: 15 equal-width confidence bins, Guo et al. 2017) "
                    "and mean negative log likelihood (nats), from the stored logits."),
    "calibration_summary": TableStep(
        calibration_summary,
        description="Calibration beside accuracy per model: accuracy, confidence, ECE and NLL of the best epoch's "
                    "test probabilities, mean and sd over runs. No paper reports it."),
    "reliability": TableStep(
        reliability_table,
        description="Reliability bins per model and run: the best epoch's test galaxies by top-class confidence "
                    "(15 equal-width bins), their count, mean confidence and accuracy."),
    "test_side_accuracy": TableStep(
        side_accuracy_table, when="test_sides",
        description="Test accuracy (per cent) at each test side of the scale_jitter views: the peak over the "
                    "epochs, and the accuracy at the best epoch of the study's test side; mean and sd over runs."),
    "zhu2019_comparison": TableStep(
        _zhu2019_comparison, when="zhu2019",
        description="Zhu et al.'s networks run here (from scratch, their protocol) beside their published "
                    "accuracy, AUC and macro precision, recall and F1 (zhu2019_* columns)."),
    "zhu2019_per_class": TableStep(
        _zhu2019_per_class, when="zhu2019_ours",
        description="Zhu et al.'s wide ResNet run here: precision, recall and F1 per class (per cent) and AUC, "
                    "mean and sd over runs, beside their best model's (zhu2019_* columns)."),
    "compute_cost": TableStep(
        cost_table,
        description="What the runs cost: per model (standard and long runs apart) and device, the runs, device-hours "
                    "per run (mean, sd) and in all, then per device the whole study (model 'all runs'; label-budget "
                    "runs not included). Hours are the sum of each run's epoch seconds (training and evaluation, "
                    "each epoch once over its attempts), measured on the device named; devices are never pooled."),
    "compute_cost_budgets": TableStep(
        budget_cost_table,
        description="Device-hours to reach each training budget (the paper's epochs): per model and device, the "
                    "hours of a run's first B epochs, mean and sd over runs."),
    "compute_cost_to_peak": TableStep(
        cost_to_peak_table, when="pairs",
        description="Cheaper in the unit users pay: the device-hours each arm needs until its test accuracy first "
                    "reaches the other arm's mean peak accuracy (runs that reach it; n_reached of n_runs)."),
    "provenance": TableStep(
        provenance_table,
        description="What made each run: per model, run and attempt, the git commit (and whether the tree was "
                    "dirty), the digest of requirements.lock, the torch, CUDA and cuDNN versions, the device, host "
                    "and SLURM job id, with the epochs that attempt trained."),
    "table3_long_runs": TableStep(
        _table3_long_runs, when="long_runs",
        description="Table 3: the long repeats: peak accuracy and its epoch."),
}


def make_table(name: str, inputs: Mapping[str, str], arguments: Mapping) -> pd.DataFrame:
    """Read a table's inputs (Parquet paths by argument name) and make it."""
    tables = {key: pd.read_parquet(path) for key, path in inputs.items()}
    return TABLES[name].make(**tables, **arguments)
