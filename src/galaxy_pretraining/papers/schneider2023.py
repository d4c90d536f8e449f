"""Schneider, Stenning & Elliott (2023): ImageNet-pretrained AlexNet against AlexNet from scratch.

Front. Astron. Space Sci. 10:1197358, on the Nair & Abraham sample.

Its published numbers (values from its Tables 1-4 and Section 3, mean and sd
over 100 runs, per cent), keyed by arm (pretrained / scratch), never by a
config's model name; its protocol; the notes its numbers add to our captions;
and the `with_*` functions that put its numbers beside our tables. They
belong to AlexNet under the paper's protocol on the Nair & Abraham sample
only: `arms` attaches them to a study's models when, and only when, the study
is that comparison. Every other study shows no paper column.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..analysis.per_class import METRICS
from ..data.classes import CLASS_NAMES
from .protocol import differences

CITATION = "Schneider, Stenning & Elliott (2023)"
CAPTION_CREDIT = f"{CITATION}, AlexNet, the same protocol"  # closes a caption that carries one of NOTES
ARMS = ("pretrained", "scratch")
CLASSES = list(CLASS_NAMES)

# Table 1: peak test accuracy by training budget (epochs): (mean, sd); sd None where not printed.
TABLE1 = {
    ("pretrained", 200): (84.2, 0.7), ("pretrained", 50): (83.1, 0.7), ("pretrained", 20): (82.0, 0.8),
    ("pretrained", 10): (80.8, 1.1), ("pretrained", 5): (79.3, 1.2),
    ("scratch", 400): (82.4, 0.9), ("scratch", 200): (79.7, 1.5),
}

# Tables 2 and 4: per class, (mean, sd) of precision, recall (= class accuracy, Table 2) and F1.
# (Table 2 prints the pretrained elliptical recall sd as 3.2, Table 4 as 3.3; Table 4's is used.)
PER_CLASS = {
    "pretrained": {
        "elliptical": {"precision": (79.0, 2.7), "recall": (83.3, 3.3), "f1": (81.0, 1.5)},
        "lenticular": {"precision": (69.4, 2.5), "recall": (66.4, 3.0), "f1": (67.8, 1.7)},
        "spiral": {"precision": (91.7, 1.2), "recall": (92.9, 1.2), "f1": (92.3, 0.6)},
        "irregular+misc": {"precision": (58.5, 9.0), "recall": (38.1, 7.9), "f1": (45.5, 6.8)},
    },
    "scratch": {
        "elliptical": {"precision": (78.2, 3.6), "recall": (81.5, 4.0), "f1": (79.7, 1.6)},
        "lenticular": {"precision": (66.5, 2.6), "recall": (64.2, 3.0), "f1": (65.3, 2.0)},
        "spiral": {"precision": (90.0, 1.4), "recall": (92.4, 1.7), "f1": (91.1, 0.6)},
        "irregular+misc": {"precision": (56.6, 10.9), "recall": (21.4, 6.7), "f1": (30.3, 7.2)},
    },
}

# Table 3: runs 45-49 at 1,000 epochs: (peak accuracy, epoch of the peak).
LONG_RUNS = {
    "pretrained": {45: (85.1, 227), 46: (84.9, 244), 47: (84.4, 243), 48: (84.5, 466), 49: (84.5, 380)},
    "scratch": {45: (84.5, 878), 46: (84.1, 922), 47: (83.4, 994), 48: (83.7, 847), 49: (84.4, 932)},
}
LONG_RUN_EPOCHS = 1000

# Section 3: pretrained against scratch, paired over 100 runs.
PEAK_EPOCH = {"pretrained": (155, 34), "scratch": (367, 33)}
SIGN_TESTS = {
    "peak_accuracy": {"paper_wins": 100, "paper_p_value": 2.0**-99, "paper_mean_difference": 84.2 - 82.4},
    "peak_epoch": {"paper_wins": None, "paper_p_value": None, "paper_mean_difference": 155 - 367},
    "equal_budget": {"paper_wins": None, "paper_p_value": None, "paper_mean_difference": 4.6},
}

# The protocol the numbers belong to: every key below must hold for a study to be the paper's comparison.
PROTOCOL = {
    ("data", "kind"): "nair_abraham",
    ("classes",): CLASSES,
    ("image_size",): 256,
    ("splits", "test_size"): 2034,
    ("splits", "validation_size"): 0,
    ("splits", "stratify"): False,
    ("training", "batch_size"): 384,
    ("training", "optimizer"): {"name": "sgd", "lr": 0.001, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False},
    ("training", "crop_size"): 224,
    ("training", "flips"): True,
    ("training", "rotation"): 180,
    ("training", "interpolation"): "nearest",
    ("training", "normalization"): "none",
    ("training", "evaluation"): "paper",
}
ARCHITECTURE = "alexnet"
ARM_OF_WEIGHTS = {"imagenet": "pretrained", "none": "scratch"}


def protocol_differences(config: Mapping) -> list[str]:
    """The keys where a resolved config leaves the paper's protocol (PROTOCOL).

    Empty when the config follows it.
    """
    return differences(config, PROTOCOL)


def arms(config: Mapping) -> dict[str, str]:
    """{model: arm} for the AlexNet models of a study under the paper's protocol; {} for any other study."""
    if protocol_differences(config):
        return {}
    return {model: ARM_OF_WEIGHTS[spec["weights"]] for model, spec in config["models"].items()
            if spec["architecture"] == ARCHITECTURE and spec["weights"] in ARM_OF_WEIGHTS}


# What the paper shows for each table and figure, added to its caption in the paper's comparison only.
NOTES = {
    "sample_summary": "Paper: 2,738 elliptical, 3,215 lenticular, 7,708 spiral, 373 irregular+misc = 14,034.",
    "table1_budgets": "Paper: pretrained 79.3 (5 epochs), 80.8 (10), 82.0 (20), 83.1 (50), 84.2 sd 0.7 (200); "
                      "scratch 79.7 sd 1.5 (200), 82.4 sd 0.9 (400).",
    "table2_class_accuracy": "Paper: irregular+misc 38.1 (pretrained) against 21.4 (scratch); every class in the "
                             "paper_* columns.",
    "table3_long_runs": "Paper: pretrained 84.4-85.1 %, scratch 83.4-84.5 % (runs 45-49, 1,000 epochs).",
    "table4_precision_recall_f1": "Paper: every class in the paper_* columns.",
    "sign_tests": "Paper: pretrained wins 100 of 100 runs, p = 2^-99 = 1.58e-30; equal-budget gap 4.6 points; "
                  "peak epochs 155 (sd 34) against 367 (sd 33).",
    "peak_histograms": "Paper Fig. 3: 84.2 % against 82.4 %; epoch 155 against 367.",
    "gain_histograms": "Paper Fig. 4: pretrained higher in all 100 runs, about 1.8 points on average, peaking about "
                       "200 epochs earlier.",
    "equal_budget_gain": "Paper Fig. 5: 4.6 points at 200 epochs.",
    "budget_gains": "Paper Fig. 6A/B: pretrained 84.2 % at 200 epochs against 83.1 % at 50 and 82.0 % at 20.",
    "test_accuracy_curves": "Paper Fig. 6C/D: the pretrained AlexNet peaks at 84.2 % (sd 0.7) near epoch 155, "
                            "the scratch AlexNet at 82.4 % (sd 0.9) near epoch 367.",
    "training_curves": "Paper Fig. 7 (run 49).",
    "per_class_histograms": "Paper Figs. 8-9: irregular+misc 38.1 % pretrained against 21.4 % scratch.",
    "confusion_matrices": "Paper Fig. 10.",
    "mean_confusion_matrices": "Paper Fig. 11.",
}


# --- the paper's numbers beside ours: each takes our table and the study's {model: arm} (arms) ----------------


def with_table1(budgets: pd.DataFrame, arm_of: Mapping[str, str]) -> pd.DataFrame:
    """Our budget table (analysis.curves.budget_table) with the paper's Table 1 beside it.

    Adds paper_mean and paper_sd (per cent, the paper's Table 1) for the model's arm (`arm_of`: {model: arm},
    from `arms`) at the row's budget; NaN where the paper has no such cell, does not print the sd, and for the
    long runs. With `arm_of` empty (not the paper's comparison) the table comes back without paper columns.
    """
    if not arm_of:
        return budgets
    table = budgets.copy()
    cells = [TABLE1.get((arm_of.get(row.model), row.budget), (np.nan, np.nan)) if not row.long_run else (np.nan, np.nan)
             for row in table.itertuples()]
    table["paper_mean"] = [mean for mean, _ in cells]
    table["paper_sd"] = [np.nan if sd is None else sd for _, sd in cells]
    return table


def with_tables_2_and_4(summary: pd.DataFrame, arm_of: Mapping[str, str]) -> pd.DataFrame:
    """Our per-class summary with the paper's Tables 2 and 4 beside it.

    Ours is analysis.per_class.per_class_summary.

    Adds paper_<metric>_mean and paper_<metric>_sd (per cent) of recall (= class accuracy), precision and F1
    for the model's arm and the row's class (PER_CLASS: the paper's Tables 2 and 4); NaN for a class or model
    the paper does not have. With `arm_of` empty the table comes back without paper columns.
    """
    if not arm_of:
        return summary
    table = summary.copy()
    for metric in METRICS:
        cells = [PER_CLASS.get(arm_of.get(row.model), {}).get(row.class_name, {}).get(metric, (np.nan, np.nan))
                 for row in table.itertuples()]
        table[f"paper_{metric}_mean"] = [mean for mean, _ in cells]
        table[f"paper_{metric}_sd"] = [sd for _, sd in cells]
    return table


def with_sign_tests(comparisons: pd.DataFrame, arm_of: Mapping[str, str]) -> pd.DataFrame:
    """Our sign tests (analysis.pairs.comparison_table) with the paper's Section 3 beside them.

    Adds paper_wins, paper_p_value and paper_mean_difference (SIGN_TESTS: the paper's Section 3 and Table 1)
    to the rows of the pair whose models are the paper's pretrained and scratch arms, in that order; missing
    (None, NaN in a numeric column) for every other pair and where the paper prints no number. With `arm_of`
    empty the table comes back without paper columns.
    """
    if not arm_of:
        return comparisons
    table = comparisons.copy()
    paper_pair = [(arm_of.get(row.pretrained), arm_of.get(row.scratch)) == ARMS for row in table.itertuples()]
    for column in ("paper_wins", "paper_p_value", "paper_mean_difference"):
        table[column] = [SIGN_TESTS[row.comparison][column] if is_paper_pair else None
                         for row, is_paper_pair in zip(table.itertuples(), paper_pair, strict=True)]
    return table


def with_table3(long_runs: pd.DataFrame, arm_of: Mapping[str, str]) -> pd.DataFrame:
    """Our long runs (analysis.curves.long_runs_table) with the paper's Table 3 beside them.

    Adds paper_peak_accuracy (per cent) and paper_peak_epoch of the paper's run of the same number and arm
    (LONG_RUNS: the paper's Table 3, runs 45-49) when ours trained its LONG_RUN_EPOCHS; NaN otherwise. With
    `arm_of` empty the table comes back without paper columns.
    """
    if not arm_of:
        return long_runs
    table = long_runs.copy()
    cells = [LONG_RUNS.get(arm_of.get(row.model), {}).get(row.run, (np.nan, np.nan))
             if row.epochs == LONG_RUN_EPOCHS else (np.nan, np.nan) for row in table.itertuples()]
    table["paper_peak_accuracy"] = [accuracy for accuracy, _ in cells]
    table["paper_peak_epoch"] = [epoch for _, epoch in cells]
    return table
