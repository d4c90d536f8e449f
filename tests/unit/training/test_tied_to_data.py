"""A run's last.pt and finished record are tied to the data it read: changed labels, images, class order or rows
retrain it (and the log says why in one line), also from a checkpoint in the middle of an epoch."""

import logging
import shutil
import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from galaxy_pretraining.training.job import train_group
from galaxy_pretraining.training.stopping import StopRequest, TrainingInterrupted

from helpers.training import CLASSES, TIMING, group_outputs, machine, paths_in, settings, train_tiny

RELABELLED = 20


@pytest.fixture
def study(tiny_study, tmp_path) -> Path:
    """A copy of the tiny study that a test may change."""
    folder = tmp_path / "study"
    shutil.copytree(tiny_study, folder)
    return folder


def test_corrected_labels_retrain_a_finished_run_and_its_predictions_hold_the_new_labels(study, tmp_path, caplog):
    s = settings(epochs=2)
    first = train_tiny(study, tmp_path / "out", s)
    catalog = pd.read_parquet(study / "catalog.parquet")
    catalog.loc[: RELABELLED - 1, "class_index"] = (catalog.loc[: RELABELLED - 1, "class_index"] + 1) % 3
    catalog["class_name"] = [CLASSES[c] for c in catalog["class_index"]]
    catalog.to_parquet(study / "catalog.parquet")
    with caplog.at_level(logging.INFO):
        second = train_tiny(study, tmp_path / "out", s)
    lines = [r.getMessage() for r in caplog.records if "retrained" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith(f"run 0: retrained (reason=data changed: labels of {RELABELLED} rows")
    predictions = pd.read_parquet(tmp_path / "out" / "predictions.parquet")
    assert (predictions["true"].to_numpy() == catalog["class_index"].to_numpy()[predictions["row"]]).all()
    assert not first.drop(columns=TIMING).equals(second.drop(columns=TIMING))
    fresh = train_tiny(study, tmp_path / "fresh", s)  # retrained from epoch 0: a fresh run's numbers
    pd.testing.assert_frame_equal(second.drop(columns=TIMING), fresh.drop(columns=TIMING))


def test_replaced_images_retrain_a_finished_run(study, tmp_path, caplog):
    s = settings(epochs=2)
    first = train_tiny(study, tmp_path / "out", s)
    images = np.load(study / "images.npy")
    images[:RELABELLED] = 128  # uniform grey frames, as the case's replacement cutouts
    np.save(study / "images.npy", images)
    with caplog.at_level(logging.INFO):
        second = train_tiny(study, tmp_path / "out", s)
    assert f"run 0: retrained (reason=data changed: images of {RELABELLED} rows" in caplog.text
    assert not first.drop(columns=TIMING).equals(second.drop(columns=TIMING))


def test_swapped_class_order_retrains_and_galaxies_added_retrain(study, tmp_path, caplog):
    s = settings(epochs=1)
    train_tiny(study, tmp_path / "out", s)
    catalog = pd.read_parquet(study / "catalog.parquet")
    swapped = ["b", "a", "c"]  # config classes [b, a, c]: the catalog's indices follow them
    catalog["class_index"] = [swapped.index(name) for name in catalog["class_name"]]
    catalog.to_parquet(study / "catalog.parquet")
    with caplog.at_level(logging.INFO):
        train_tiny_named(study, tmp_path / "out", s, swapped)
    # The class names are part of the protocol: a checkpoint of the old order is of another protocol.
    assert "run 0: retrained from epoch 0 (reason=the checkpoint is of another protocol" in caplog.text
    predictions = pd.read_parquet(tmp_path / "out" / "predictions.parquet")
    assert (predictions["true"].to_numpy() == catalog["class_index"].to_numpy()[predictions["row"]]).all()
    assert [c for c in predictions.columns if c.startswith("probability_")] == [f"probability_{c}" for c in swapped]

    caplog.clear()
    images = np.load(study / "images.npy")
    np.save(study / "images.npy", np.concatenate([images, images[:4] // 2]))
    added = pd.DataFrame({"id": [f"new{i}" for i in range(4)], "class_index": catalog["class_index"][:4].to_numpy(),
                          "class_name": catalog["class_name"][:4].to_numpy()})
    pd.concat([catalog, added], ignore_index=True).to_parquet(study / "catalog.parquet")
    with caplog.at_level(logging.INFO):
        train_tiny_named(study, tmp_path / "out", s, swapped)
    assert "run 0: retrained (reason=data changed: " in caplog.text and " in, " in caplog.text


def train_tiny_named(study, out, s, class_names):
    """train_tiny with the config's class names in another order."""
    return train_group([replace(s, class_names=tuple(class_names))], [paths_in(out)], machine(), study / "images.npy",
                       study / "catalog.parquet", progress=False)[0]


def test_a_run_stopped_mid_epoch_is_not_resumed_on_changed_data(study, tmp_path, caplog):
    """SIGTERM in epoch 1, then the labels are corrected: the job trains from epoch 0, not from the saved batch."""
    s = settings(epochs=2)
    outputs = group_outputs(tmp_path / "stopped", [0])
    Path(outputs[0].metrics).parent.mkdir(parents=True)
    early = StopRequest()
    early.signum = signal.SIGTERM
    with pytest.raises(TrainingInterrupted):
        train_group([s], outputs, machine(), study / "images.npy", study / "catalog.parquet", progress=False, stop=early)
    catalog = pd.read_parquet(study / "catalog.parquet")
    catalog.loc[: RELABELLED - 1, "class_index"] = (catalog.loc[: RELABELLED - 1, "class_index"] + 1) % 3
    catalog.to_parquet(study / "catalog.parquet")
    with caplog.at_level(logging.INFO):
        resumed = train_group([s], outputs, machine(), study / "images.npy", study / "catalog.parquet",
                              progress=False)[0]
    assert f"labels of {RELABELLED} rows" in caplog.text
    fresh = train_tiny(study, tmp_path / "fresh", s)
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMING), fresh.drop(columns=TIMING))
