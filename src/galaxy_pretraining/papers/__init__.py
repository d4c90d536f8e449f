"""Published numbers, in one place, keyed by arm (pretrained / scratch), never by a config's model name.

Schneider, Stenning & Elliott (2023), Front. Astron. Space Sci. 10:1197358
(values from its Tables 1-4 and Section 3, mean and sd over 100 runs, per cent).
They belong to AlexNet under the paper's protocol on the Nair & Abraham
sample only: `paper_arms` attaches them to a study's models when, and only
when, the study is that comparison. Every other study shows no paper column.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..data.classes import CLASS_NAMES
from ..data.kinds.galaxy10_decals.galaxy10 import CLASS_NAMES as GALAXY10_CLASSES

PAPER = "Schneider, Stenning & Elliott (2023)"
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
    """The keys where a resolved config leaves the paper's protocol (empty: the paper's protocol)."""
    return _differences(config, PROTOCOL)


def paper_arms(config: Mapping) -> dict[str, str]:
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


# --- Fu: Galaxy10 DECaLS, DenseNet-121 with part of its ImageNet layers frozen -------------------------------
# (values from Fu's Table 1: one run per share; losses as printed, accuracies in per cent).
# They belong to DenseNet-121 from ImageNet weights, Adam lr 0.0005, 10 epochs, random oversampling, on the real
# Galaxy10 DECaLS file; `fu_arms` attaches them to such models only. Fu's split, batch size and layer count are
# not published, so the comparison is of the same architecture and stated protocol, not of the same split.

FU = "Fu"
FU_ARCHITECTURE = "densenet121"
FU_EPOCHS = 10
FU_TABLE1 = {  # frozen share -> train loss, train accuracy, test loss, test accuracy
    0.0: {"train_loss": 0.62, "train_accuracy": 78.0, "test_loss": 0.91, "test_accuracy": 65.0},
    0.2: {"train_loss": 0.36, "train_accuracy": 87.0, "test_loss": 0.60, "test_accuracy": 79.0},
    0.4: {"train_loss": 0.42, "train_accuracy": 85.0, "test_loss": 0.68, "test_accuracy": 73.0},
    0.6: {"train_loss": 0.41, "train_accuracy": 85.0, "test_loss": 0.66, "test_accuracy": 76.0},
    0.8: {"train_loss": 0.63, "train_accuracy": 77.0, "test_loss": 0.87, "test_accuracy": 67.0},
    1.0: {"train_loss": 1.22, "train_accuracy": 56.0, "test_loss": 1.26, "test_accuracy": 48.0},
}
FU_PROTOCOL = {
    ("data", "kind"): "galaxy10_decals",
    ("data", "galaxy10_decals", "mock"): None,
    ("classes",): list(GALAXY10_CLASSES),
    ("training", "optimizer", "name"): "adam",
    ("training", "optimizer", "lr"): 0.0005,
    ("training", "oversample"): True,
}


def _differences(config: Mapping, protocol: Mapping) -> list[str]:
    differences = []
    for path, wanted in protocol.items():
        value = config
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if value != wanted:
            differences.append(".".join(path))
    return differences


def fu_arms(config: Mapping) -> dict[str, float]:
    """{model: frozen share} for the ImageNet DenseNet-121 models of 10 epochs at one of Fu's shares, when the
    study is Fu's (the real Galaxy10 DECaLS file, Adam lr 0.0005, oversampling); {} for any other study."""
    if _differences(config, FU_PROTOCOL):
        return {}
    return {model: spec["frozen_share"] for model, spec in config["models"].items()
            if spec["architecture"] == FU_ARCHITECTURE and spec["weights"] == "imagenet"
            and spec["epochs"] == FU_EPOCHS and spec["frozen_share"] in FU_TABLE1}


FU_NOTES = {
    "frozen_share_results": "Fu's Table 1 (one run per share, last epoch) in the paper_* columns: test accuracy "
                            "65 % (0 % frozen), 79 (20 %), 73 (40 %), 76 (60 %), 67 (80 %), 48 (100 %).",
    "frozen_share_accuracy": "Crosses: Fu's single runs (Table 1).",
}


# --- Zhu et al. (2019): Galaxy Zoo 2, five classes -------------------------------------------------------------
# (values from Zhu et al. 2019, Ap&SS 364:55, its results and Table 6: accuracies and per-class numbers in per cent, AUC as a fraction).
# Their networks were trained from initialisation (He's), so the numbers sit beside a study's scratch arms of
# the same architecture under their protocol only; `zhu_arms` finds those. torchvision's ResNet-50 is not their
# pre-activation ResNet-50 (timm's resnetv2_50 is), so their ResNet-50 numbers go beside timm/resnetv2_50 only.

ZHU = "Zhu et al. (2019)"
ZHU_OURS = "wide pre-activation ResNet-26"
ZHU_ARCHITECTURES = {  # architecture -> their network
    "wide_preact_resnet26": ZHU_OURS,
    "dieleman2015": "Dieleman",
    "alexnet": "AlexNet",
    "vgg16": "VGG-16",
    "inception_v3": "Inception v3",
    "timm/resnetv2_50": "pre-activation ResNet-50",
}
# accuracy: their best single model at its best test scale; table6_mean: the mean over 10 runs of each run's best.
ZHU_NETWORKS = {
    ZHU_OURS: {"accuracy": 95.21, "auc": 0.9823, "table6_mean": 94.69,
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
ZHU_CLASSES = ["round-smooth", "in-between-smooth", "cigar-smooth", "edge-on", "spiral"]
ZHU_PER_CLASS = {
    name: {"precision": precision, "recall": recall, "f1": f1}
    for name, precision, recall, f1 in zip(ZHU_CLASSES, (96.11, 95.61, 72.34, 94.12, 95.73),
                                           (96.34, 94.31, 58.62, 94.85, 97.82), (96.22, 94.95, 64.76, 94.48, 96.77))
}
ZHU_PROTOCOL = {
    ("data", "kind"): "galaxy_zoo2",
    ("data", "galaxy_zoo2", "mock"): None,
    ("classes",): ZHU_CLASSES,
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
ZHU_PROTOCOL_SOURCES = {
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


def zhu_arms(config: Mapping) -> dict[str, str]:
    """{model: their network} for the scratch models of Zhu et al.'s architectures when the study follows their
    protocol (the real Galaxy Zoo 2 sample, their views and optimiser, and the schedule of their paper or of their
    code: ZHU_PROTOCOL_SOURCES); {} for any other study."""
    training_of = {source: {path: value for path, value in settings.items() if path[0] == "training"}
                   for source, settings in ZHU_PROTOCOL_SOURCES.items()}
    if _differences(config, ZHU_PROTOCOL) or all(_differences(config, t) for t in training_of.values()):
        return {}
    return {model: ZHU_ARCHITECTURES[spec["architecture"]] for model, spec in config["models"].items()
            if spec["architecture"] in ZHU_ARCHITECTURES and spec["weights"] == "none"}


ZHU_NOTES = {
    "zhu2019_comparison": "Their best single models: ours 95.21 % (AUC 0.9823), Dieleman 94.65 (0.9793), AlexNet "
                          "92.26 (0.9809), VGG 93.65 (0.9846), Inception 94.51 (0.9852), ResNet-50 94.69 (0.9823); "
                          "their Table 6 (mean of 10 runs' best): 94.69, 93.88, 91.82, 93.13, 94.20, 94.10.",
    "zhu2019_per_class": "Their best model: recall 96.34 / 94.31 / 58.62 / 94.85 / 97.82 %, macro AUC 0.9823.",
    "roc_auc_summary": "Zhu et al.'s macro AUC: 0.9793 (Dieleman) to 0.9852 (Inception); theirs 0.9823.",
}
