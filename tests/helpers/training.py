"""The tiny study the training tests share, and training settings shrunk to it (the schema's defaults, then
the tests' overrides): the Schneider protocol (`settings`) and Zhu et al.'s (`zhu_settings`)."""

from pathlib import Path

import numpy as np
import pandas as pd

from galaxy_pretraining.config import schema_defaults
from galaxy_pretraining.training.run import RunOutputs, train_group, train_run
from galaxy_pretraining.training.settings import TrainSettings

N, SIZE, CLASSES = 96, 40, ["a", "b", "c"]
SPLIT = {"test_size": 24, "validation_size": 0, "stratify": False, "seed": 1}


def settings(**overrides):
    """The schema's training defaults, shrunk to the tiny study."""
    base = dict(schema_defaults("training"), architecture="resnet18", weights="none", epochs=3, frozen_share=0.0, dropout=None,
                n_classes=3, run=0, train_fraction=1.0,
                batch_size=16, optimizer={"name": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False},
                crop_size=32, evaluation="center", device="cpu", deterministic=True, checkpoint_every=1, split=SPLIT)
    return TrainSettings(**{**base, **overrides})


VIEWS = {"sides": [24, 40], "resize": 20, "test_sides": [30, 40], "test_side": 40}


def write_tiny_study(folder: Path) -> Path:
    """96 images of 3 classes told apart by brightness: an array store and a catalog."""
    rng = np.random.default_rng(0)
    labels = np.arange(N) % 3
    images = rng.integers(0, 60, (N, 3, SIZE, SIZE)) + labels[:, None, None, None] * 80
    np.save(folder / "images.npy", images.astype(np.uint8))
    ids = [f"g{i}" for i in range(N)]
    pd.DataFrame({"id": ids, "class_index": labels, "class_name": [CLASSES[c] for c in labels]}).to_parquet(
        folder / "catalog.parquet")
    return folder


def zhu_settings(**overrides):
    protocol = dict(epochs=4, crop_size=16, rotation="quarter_turns", normalization="per_image",
                    scale_jitter=VIEWS, evaluation="center",
                    colour_jitter={"brightness": 0.1, "contrast": 0.2, "saturation": 0.2, "hue": 0.05},
                    optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4, "nesterov": True},
                    lr_schedule={"milestones": [6], "gamma": 0.1, "unit": "iterations"}, max_iterations=10)
    return settings(**{**protocol, **overrides})


# Metrics columns that differ between equal runs: timings, and which attempt (of a resumed run) trained an epoch.
TIMING = ["seconds", "train_seconds", "eval_seconds", "images_per_second", "peak_memory_gb", "gpu_utilisation",
          "attempt"]


def train_tiny(study, out, s, progress=False):
    """One run of the tiny study trained into `out` (metrics, predictions, best.pt), alone."""
    return train_run(s, study / "images.npy", study / "catalog.parquet",
                     out / "metrics.parquet", out / "predictions.parquet", out / "best.pt",
                     weights_path=None, class_names=CLASSES, threads=1, progress=progress)


def group_outputs(out, runs):
    return [RunOutputs(out / f"run{r}" / "metrics.parquet", out / f"run{r}" / "predictions.parquet",
                       out / f"run{r}" / "best.pt") for r in runs]


def train_group_of(study, out, group):
    outputs = group_outputs(out, [s.run for s in group])
    for o in outputs:
        Path(o.metrics).parent.mkdir(parents=True, exist_ok=True)
    return train_group(group, study / "images.npy", study / "catalog.parquet", outputs, None, CLASSES, threads=1,
                       progress=False)
