"""Small tables the analysis and paper tests share: a curve of one run, and confusion matrices in long form."""

import numpy as np
import pandas as pd


def curve(accuracies, model="m", run=0, long_run=False):
    """One run's curves table: its test accuracy per epoch, trained for as many epochs as `accuracies` holds."""
    n = len(accuracies)
    return pd.DataFrame({"model": model, "run": run, "epochs": n, "long_run": long_run,
                         "epoch": np.arange(1, n + 1), "test_accuracy": accuracies})


def confusion_rows(model, run, matrix, epoch=1):
    """A run's confusion matrix (rows true) as rows of best_epoch_confusions."""
    return [(model, run, epoch, t, p, n) for t, row in enumerate(matrix) for p, n in enumerate(row)]


def confusions(*blocks):
    """A best_epoch_confusions table from blocks of confusion_rows."""
    return pd.DataFrame([r for b in blocks for r in b], columns=["model", "run", "peak_epoch", "true", "predicted", "count"])


def frozen_share_runs():
    """Three runs of 2 epochs of a DenseNet-121 with 20 % of its layers frozen and of one from scratch, whose
    test accuracy peaks at epoch 1, not the last: the curves and the models' arms."""
    rows = []
    for model, base in (("d-frozen020", 0.70), ("d-scratch", 0.50)):
        for run in range(3):
            for epoch in (1, 2):
                accuracy = base + 0.01 * run + (0.05 if epoch == 1 else 0.0)  # the peak is epoch 1, not the last
                rows.append({"model": model, "run": run, "epochs": 2, "long_run": False, "epoch": epoch,
                             "train_loss": 1.0 / epoch, "train_accuracy": accuracy + 0.1, "test_loss": 1.5 / epoch,
                             "test_accuracy": accuracy})
    arms = {"d-frozen020": {"architecture": "densenet121", "weights": "imagenet", "frozen_share": 0.2},
            "d-scratch": {"architecture": "densenet121", "weights": "none", "frozen_share": 0.0}}
    return pd.DataFrame(rows), arms
