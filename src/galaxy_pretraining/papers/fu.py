"""Fu: Galaxy10 DECaLS, DenseNet-121 with part of its ImageNet layers frozen.

Its published numbers (values from Fu's Table 1: one run per share; losses
as printed, accuracies in per cent), its stated protocol, the notes its
numbers add to our captions and `with_table1`, which puts them beside our
frozen-share table. They belong to DenseNet-121 from ImageNet weights, Adam
lr 0.0005, 10 epochs, random oversampling, on the real Galaxy10 DECaLS file;
`arms` attaches them to such models only. Fu's split, batch size and layer
count are not published, so the comparison is of the same architecture and
stated protocol, not of the same split.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..analysis.curves import LAST_EPOCH_METRICS
from ..data.kinds.galaxy10_decals.classes import CLASS_NAMES as GALAXY10_CLASSES
from .protocol import differences

CITATION = "Fu"
CAPTION_CREDIT = f"{CITATION}, DenseNet-121, the stated protocol"  # closes a caption that carries one of NOTES
ARCHITECTURE = "densenet121"
EPOCHS = 10
TABLE1 = {  # frozen share -> train loss, train accuracy, test loss, test accuracy
    0.0: {"train_loss": 0.62, "train_accuracy": 78.0, "test_loss": 0.91, "test_accuracy": 65.0},
    0.2: {"train_loss": 0.36, "train_accuracy": 87.0, "test_loss": 0.60, "test_accuracy": 79.0},
    0.4: {"train_loss": 0.42, "train_accuracy": 85.0, "test_loss": 0.68, "test_accuracy": 73.0},
    0.6: {"train_loss": 0.41, "train_accuracy": 85.0, "test_loss": 0.66, "test_accuracy": 76.0},
    0.8: {"train_loss": 0.63, "train_accuracy": 77.0, "test_loss": 0.87, "test_accuracy": 67.0},
    1.0: {"train_loss": 1.22, "train_accuracy": 56.0, "test_loss": 1.26, "test_accuracy": 48.0},
}
PROTOCOL = {
    ("data", "kind"): "galaxy10_decals",
    ("data", "galaxy10_decals", "mock"): None,
    ("classes",): list(GALAXY10_CLASSES),
    ("training", "optimizer", "name"): "adam",
    ("training", "optimizer", "lr"): 0.0005,
    ("training", "oversample"): True,
}


def arms(config: Mapping) -> dict[str, float]:
    """{model: frozen share} for Fu's ImageNet DenseNet-121 models when the study is Fu's; else {}.

    {model: frozen share} for the ImageNet DenseNet-121 models of 10 epochs at one of Fu's shares, when the study is
    Fu's (the real Galaxy10 DECaLS file, Adam lr 0.0005, oversampling); {} for any other study.
    """
    if differences(config, PROTOCOL):
        return {}
    return {model: spec["frozen_share"] for model, spec in config["models"].items()
            if spec["architecture"] == ARCHITECTURE and spec["weights"] == "imagenet"
            and spec["epochs"] == EPOCHS and spec["frozen_share"] in TABLE1}


NOTES = {
    "frozen_share_results": "Fu's Table 1 (one run per share, last epoch) in the paper_* columns: test accuracy "
                            "65 % (0 % frozen), 79 (20 %), 73 (40 %), 76 (60 %), 67 (80 %), 48 (100 %).",
    "frozen_share_accuracy": "Crosses: Fu's single runs (Table 1).",
}


def with_table1(frozen_shares: pd.DataFrame, share_of: Mapping[str, float]) -> pd.DataFrame:
    """Our frozen-share table (analysis.curves.frozen_share_table) with Fu's Table 1 beside it.

    Adds paper_train_loss, paper_train_accuracy, paper_test_loss and paper_test_accuracy (accuracies in per
    cent; TABLE1: Fu's Table 1, one run per share) for each model of `share_of` ({model: frozen share}, from
    `arms`); NaN for the other models. With `share_of` empty (not Fu's comparison) the table comes back
    without paper columns.
    """
    if not share_of:
        return frozen_shares
    table = frozen_shares.copy()
    cells = [TABLE1.get(share_of.get(model), {}) for model in table["model"]]
    for metric in LAST_EPOCH_METRICS:
        table[f"paper_{metric}"] = [cell.get(metric, np.nan) for cell in cells]
    return table
