"""training.run: a run and a group of runs, their outputs and what they refuse."""

import numpy as np
import pandas as pd
import pytest
import torch

from galaxy_pretraining.data.splits import make_splits
from galaxy_pretraining.training.data import load_store
from galaxy_pretraining.training.loop import confusion_matrices, evaluate
from galaxy_pretraining.training.run import build_run

from helpers.training import CLASSES, TIMING, N, machine, settings, train_group_of, train_tiny

MAJORITY = 1 / 3  # the tiny study's three classes are equally frequent


MARGIN = 0.3


def test_a_short_training_learns_well_beyond_the_majority_class(tiny_study, tmp_path):
    """Brightness tells the classes apart: 4 epochs of SGD must beat always-the-majority by 30 points."""
    metrics = train_tiny(tiny_study, tmp_path, settings(epochs=4, rotation=0.0))
    assert metrics["test_accuracy"].max() >= MAJORITY + MARGIN, metrics["test_accuracy"].tolist()
    assert metrics["train_loss"].iloc[-1] < metrics["train_loss"].iloc[0]


def test_a_run_writes_per_epoch_metrics_predictions_and_best_model(tiny_study, tmp_path):
    metrics = train_tiny(tiny_study, tmp_path, settings())
    stored = pd.read_parquet(tmp_path / "metrics.parquet")
    assert list(stored["epoch"]) == [1, 2, 3]
    for column in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds", "images_per_second"):
        assert stored[column].notna().all(), column
    confusion = confusion_matrices(stored)
    assert confusion.shape == (3, 3, 3) and (confusion.sum(axis=(1, 2)) == 24).all()
    assert np.allclose(np.trace(confusion, axis1=1, axis2=2) / 24, stored["test_accuracy"])
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    # the run's test set is the one of the published splits table
    published = make_splits([f"g{i}" for i in range(N)], [0], test_size=24, seed=1, validation_size=0)
    assert sorted(predictions["row"]) == sorted(published[published.subset == "test"]["row"])
    best_epoch = int(metrics.loc[metrics["test_accuracy"].idxmax(), "epoch"])
    assert len(predictions) == 24 and (predictions["epoch"] == best_epoch).all()
    assert np.isclose((predictions["true"] == predictions["predicted"]).mean(), metrics["test_accuracy"].max())
    probabilities = predictions[[f"probability_{c}" for c in CLASSES]].to_numpy()
    assert np.allclose(probabilities.sum(1), 1, atol=1e-5)
    best = torch.load(tmp_path / "best.pt", weights_only=False)
    assert best["epoch"] == best_epoch and best["class_names"] == CLASSES


def test_a_pretrained_model_without_weights_is_an_error(tiny_study, tmp_path):
    with pytest.raises(ValueError, match="needs a weights file"):
        train_tiny(tiny_study, tmp_path, settings(weights="imagenet"))


def test_a_group_gives_each_run_the_numbers_it_gets_alone(tiny_study, tmp_path):
    """runs_per_job: two runs trained one after the other in one process, on one model object, equal solo runs."""
    group = [settings(run=0, epochs=2), settings(run=1, epochs=2)]
    together = train_group_of(tiny_study, tmp_path / "group", group)
    for s, grouped in zip(group, together):
        alone = train_tiny(tiny_study, tmp_path / f"alone{s.run}", s)
        pd.testing.assert_frame_equal(grouped.drop(columns=TIMING), alone.drop(columns=TIMING))
        a = torch.load(tmp_path / "group" / f"run{s.run}" / "best.pt", weights_only=False)["model"]
        b = torch.load(tmp_path / f"alone{s.run}" / "best.pt", weights_only=False)["model"]
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert not together[0].drop(columns=TIMING).equals(together[1].drop(columns=TIMING))  # two runs, not one twice


def test_runs_of_different_settings_cannot_share_a_job(tiny_study, tmp_path):
    with pytest.raises(ValueError, match=r"runs 0 and 1 cannot share a job: they differ in \['epochs'\]"):
        train_group_of(tiny_study, tmp_path, [settings(run=0, epochs=2), settings(run=1, epochs=3)])


def test_normalisation_from_the_weights_is_in_the_runs_saved_settings(tiny_study, tmp_path):
    """training.normalization `weights`: resnet18 from scratch gets ImageNet's values (its ImageNet arm's),
    and its checkpoint and best model hold them, not the word `weights`."""
    from galaxy_pretraining.training.augment import IMAGENET_MEAN, IMAGENET_STD, normalize

    s = settings(epochs=1, normalization="weights")
    train_tiny(tiny_study, tmp_path, s)
    for file in ("best.pt", "last.pt"):
        path = tmp_path / file
        if path.exists():
            saved = torch.load(path, weights_only=False)["settings"]["normalization"]
            assert saved["mean"] == list(IMAGENET_MEAN) and saved["std"] == list(IMAGENET_STD), (file, saved)
    images, catalog = load_store(tiny_study / "images.npy", N, torch.device("cpu")), pd.read_parquet(
        tiny_study / "catalog.parquet")
    r = build_run(s, machine(), images, catalog, None)
    assert r.normalization["source"].startswith("ImageNet") and s.normalization == "weights"
    result = evaluate(r.model, r.data, "test", r.views, r.generators["evaluate"], r.device, r.machine.eval_batch_size)
    labels = r.data.labels[r.data.rows["test"]].cpu().numpy()
    assert len(labels) == 24 and result["accuracy"] == pytest.approx((result["probabilities"].argmax(1) == labels).mean())
    pixels = torch.rand(2, 3, 4, 4)
    assert np.allclose(r.views.displayable(normalize(pixels, r.normalization)),
                       pixels.permute(0, 2, 3, 1).numpy(), atol=1e-6)
