"""Zhu et al. (2019), Ap&SS 364:55.

Galaxy Zoo 2, five classes, their networks trained from initialisation.

Their published numbers (values from their results and Table 6: accuracies
and per-class numbers in per cent, AUC as a fraction), their protocol, where
their paper and their public code disagree (PROTOCOL_SOURCES), the notes their
numbers add to our captions, and the tables that put our runs of their
networks beside their numbers. Their networks were trained from
initialisation (He's), so the numbers sit beside a study's scratch arms of
the same architecture under their protocol only; `arms` finds those.
torchvision's ResNet-50 is not their pre-activation ResNet-50 (timm's
resnetv2_50 is), so their ResNet-50 numbers go beside timm/resnetv2_50 only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..analysis.curves import full_budget
from ..analysis.per_class import METRICS, per_class_summary
from ..analysis.roc import MACRO
from .protocol import differences

CITATION = "Zhu et al. (2019)"
CAPTION_CREDIT = f"{CITATION}, the same networks and protocol"  # closes a caption that carries one of NOTES
OWN_NETWORK = "wide pre-activation ResNet-26"  # the network they propose ("ours" in their paper)
NETWORK_OF_ARCHITECTURE = {  # architecture -> their network
    "wide_preact_resnet26": OWN_NETWORK,
    "dieleman2015": "Dieleman",
    "alexnet": "AlexNet",
    "vgg16": "VGG-16",
    "inception_v3": "Inception v3",
    "timm/resnetv2_50": "pre-activation ResNet-50",
}
# accuracy: their best single model at its best test scale; table6_mean: the mean over 10 runs of each run's best.
NETWORKS = {
    OWN_NETWORK: {"accuracy": 95.21, "auc": 0.9823, "table6_mean": 94.69,
                  "precision_macro": 95.12, "recall_macro": 95.21, "f1_macro": 95.15},
    "Dieleman": {"accuracy": 94.65, "auc": 0.9793, "table6_mean": 93.88},
    "AlexNet": {"accuracy": 92.26, "auc": 0.9809, "table6_mean": 91.82},
    "VGG-16": {"accuracy": 93.65, "auc": 0.9846, "table6_mean": 93.13},
    "Inception v3": {"accuracy": 94.51, "auc": 0.9852, "table6_mean": 94.20},
    "pre-activation ResNet-50": {"accuracy": 94.69, "auc": 0.9823, "table6_mean": 94.10},
}
# Their best model's per-class precision, recall and F1 (per cent), by the config's class names. (Its per-class
# accuracies are printed as 96.68 / 94.42 / 58.62 / 94.36 / 97.70, slightly off these recalls; the recalls of
# the precision-recall table are used.)
CLASSES = ["round-smooth", "in-between-smooth", "cigar-smooth", "edge-on", "spiral"]
PER_CLASS = {
    name: {"precision": precision, "recall": recall, "f1": f1}
    for name, precision, recall, f1 in zip(CLASSES, (96.11, 95.61, 72.34, 94.12, 95.73),
                                           (96.34, 94.31, 58.62, 94.85, 97.82), (96.22, 94.95, 64.76, 94.48, 96.77))
}
PROTOCOL = {
    ("data", "kind"): "galaxy_zoo2",
    ("data", "galaxy_zoo2", "mock"): None,
    ("classes",): CLASSES,
    ("splits", "test_size"): 2879,
    ("splits", "stratify"): True,
    ("training", "batch_size"): 128,
    ("training", "crop_size"): 64,
    ("training", "optimizer", "name"): "sgd",
    ("training", "optimizer", "lr"): 0.1,
    ("training", "optimizer", "momentum"): 0.9,
    ("training", "optimizer", "nesterov"): True,
    ("training", "rotation"): "quarter_turns",
    ("training", "flips"): True,
    ("training", "normalization"): "per_image",
    ("training", "scale_jitter", "sides"): [170, 240],
    ("training", "scale_jitter", "resize"): 80,
}


# Where Zhu et al.'s paper and their public code (github.com/Adaydl/GalaxyClassification) disagree: config key
# protocol_source (study.apply_protocol_source) puts one side's settings in place. ("dropout",): every model whose
# architecture takes a dropout (wide_preact_resnet26).
# - schedule: the paper (Sect. 4) divides lr 0.1 by 10 at 30k and 60k iterations and stops at 72k; the code
#   (GalaxyNet/resnet_v2.py `optimize`, GalaxyNet/training.py) decays it x0.1 every 30,000 steps
#   (exponential_decay, staircase) over MAX_STEP = 100,000 steps.
# - weight decay: the paper states 1e-4; in the code resnet_arg_scope attaches an L2 regulariser of 1e-4 to the
#   convolutions, but the loss minimised (resnet_v2.py `loss`) is the sum of the 'losses' collection, which holds
#   the cross-entropy alone: the regularisation losses are never added, so no weight decay ran.
# - dropout after each 3x3: the paper prints "0.8" (read here as TensorFlow's keep probability: 0.2 dropped);
#   the code calls tf.nn.dropout(residual, 1.0): nothing dropped.
# - the crop side S and the quarter turns k: the paper draws them per image; the code (GalaxyNet/input_data.py)
#   draws S = random.randint(170, 241) and k = random.randint(0, 3) in Python when the graph is built, so they
#   stay fixed for a whole training run.
PROTOCOL_SOURCES = {
    "paper": {
        ("training", "lr_schedule"): {"milestones": [30000, 60000], "gamma": 0.1, "unit": "iterations"},
        ("training", "max_iterations"): 72000,
        ("training", "optimizer", "weight_decay"): 0.0001,
        ("training", "scale_jitter", "draw"): "per_image",
        ("dropout",): 0.2,
    },
    "code": {
        ("training", "lr_schedule"): {"milestones": [30000, 60000, 90000], "gamma": 0.1, "unit": "iterations"},
        ("training", "max_iterations"): 100000,
        ("training", "optimizer", "weight_decay"): 0.0,
        ("training", "scale_jitter", "draw"): "per_run",
        ("dropout",): 0.0,
    },
}


def arms(config: Mapping) -> dict[str, str]:
    """{model: their network} for Zhu et al.'s scratch models when the study follows their protocol.

    {model: their network} for the scratch models of Zhu et al.'s architectures when the study follows their
    protocol (the real Galaxy Zoo 2 sample, their views and optimiser, and the schedule of their paper or of their
    code: PROTOCOL_SOURCES); {} for any other study.
    """
    training_of = {source: {path: value for path, value in settings.items() if path[0] == "training"}
                   for source, settings in PROTOCOL_SOURCES.items()}
    if differences(config, PROTOCOL) or all(differences(config, t) for t in training_of.values()):
        return {}
    return {model: NETWORK_OF_ARCHITECTURE[spec["architecture"]] for model, spec in config["models"].items()
            if spec["architecture"] in NETWORK_OF_ARCHITECTURE and spec["weights"] == "none"}


NOTES = {
    "zhu2019_comparison": "Their best single models: ours 95.21 % (AUC 0.9823), Dieleman 94.65 (0.9793), AlexNet "
                          "92.26 (0.9809), VGG 93.65 (0.9846), Inception 94.51 (0.9852), ResNet-50 94.69 (0.9823); "
                          "their Table 6 (mean of 10 runs' best): 94.69, 93.88, 91.82, 93.13, 94.20, 94.10.",
    "zhu2019_per_class": "Their best model: recall 96.34 / 94.31 / 58.62 / 94.85 / 97.82 %, macro AUC 0.9823.",
    "roc_auc_summary": "Zhu et al.'s macro AUC: 0.9793 (Dieleman) to 0.9852 (Inception); theirs 0.9823.",
}


# --- our runs of their networks beside their numbers ------------------------------------------------------------


def comparison_table(peak_accuracy: pd.DataFrame, roc_auc: pd.DataFrame, per_class: pd.DataFrame,
                     network_of: Mapping[str, str]) -> pd.DataFrame:
    """Each of Zhu et al.'s networks run here beside their numbers (table zhu2019_comparison).

    Takes the peak table, the AUC table (analysis.roc.roc_auc_table) and the per-class metrics
    (analysis.per_class.per_class_metrics), and `network_of` ({model: their network}, from `arms`: their
    architecture, from scratch, their protocol); only those models are shown. Returns per model the
    best-epoch test accuracy (per cent) mean and sd over runs beside their Table 6 mean (the mean of each
    run's best; zhu2019_accuracy_mean), the best run's beside their single best model (zhu2019_accuracy_best,
    from their results), and the macro AUC and macro precision, recall and F1 (mean over runs) beside theirs
    (zhu2019_*; from their results, the macro precision, recall and F1 for their own network only: NaN for the
    others). Raises ValueError when `network_of` is empty.
    """
    if not network_of:
        raise ValueError("no model of this study is one of Zhu et al.'s networks under their protocol")
    full = full_budget(peak_accuracy)
    macro = roc_auc[roc_auc["class_name"] == MACRO]
    rows = []
    for model, network in network_of.items():
        accuracy = full.loc[full["model"] == model, "peak_accuracy"] * 100
        ours = per_class[per_class["model"] == model].groupby("run")[list(METRICS)].mean() * 100
        theirs = NETWORKS[network]
        diverged = full.loc[full["model"] == model, "diverged"].sum() if "diverged" in full else 0
        row = {"model": model, "zhu2019_network": network, "n_runs": int(accuracy.count()),
               "n_diverged": int(diverged),
               "accuracy_mean": accuracy.mean(), "accuracy_sd": accuracy.std(), "accuracy_best_run": accuracy.max(),
               "zhu2019_accuracy_mean": theirs["table6_mean"], "zhu2019_accuracy_best": theirs["accuracy"],
               "auc_macro_mean": macro.loc[macro["model"] == model, "auc"].mean(), "zhu2019_auc_macro": theirs["auc"]}
        for metric in METRICS:
            row[f"{metric}_macro_mean"] = ours[metric].mean()
            row[f"zhu2019_{metric}_macro"] = theirs.get(f"{metric}_macro", np.nan)
        rows.append(row)
    return pd.DataFrame(rows).round(4)


def per_class_table(per_class: pd.DataFrame, roc_auc: pd.DataFrame, class_names: Sequence[str],
                    network_of: Mapping[str, str]) -> pd.DataFrame:
    """Their own network run here, per class, beside their best model's (table zhu2019_per_class).

    Takes the per-class metrics, the AUC table, the config's classes and `network_of` ({model: their
    network}, from `arms`). Returns, for the models that are their own network (OWN_NETWORK), precision,
    recall (= class accuracy) and F1 per class (per cent, analysis.per_class.per_class_summary) and AUC (a
    fraction), mean and sd over runs, beside their best model's precision, recall and F1 (zhu2019_<metric>;
    PER_CLASS, their Tables 4 and 5; NaN for a class they do not have). Raises ValueError when no model is
    their own network.
    """
    ours = [model for model, network in network_of.items() if network == OWN_NETWORK]
    if not ours:
        raise ValueError(f"no model of this study is Zhu et al.'s own network ({OWN_NETWORK})")
    summary = per_class_summary(per_class[per_class["model"].isin(ours)], class_names)
    auc = roc_auc[roc_auc["model"].isin(ours)].groupby(["model", "class_name"])["auc"].agg(
        auc_mean="mean", auc_sd="std").reset_index()
    table = summary.merge(auc, on=["model", "class_name"], how="left")
    for metric in METRICS:
        table[f"zhu2019_{metric}"] = table["class_name"].map(
            lambda name, m=metric: PER_CLASS.get(name, {}).get(m, np.nan))
    return table.round(4)
