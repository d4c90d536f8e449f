"""training.data: the store on the device and a run's rows of it."""

import numpy as np
import pandas as pd
import pytest
import torch

from galaxy_pretraining.training.data import load_store

from helpers.training import SPLIT


def test_rows_read_from_the_store_equal_the_stored_images(tiny_study):
    from galaxy_pretraining.data.array_store import read_rows

    store = np.load(tiny_study / "images.npy")
    rows = np.array([5, 0, 95, 17])
    assert np.array_equal(read_rows(tiny_study / "images.npy", rows), store[rows])
    with pytest.raises(IndexError, match="row 96"):
        read_rows(tiny_study / "images.npy", np.array([96]))


def test_a_label_budget_trains_on_its_subset_and_steps_scaling_keeps_the_epochs_length(tiny_study):
    from galaxy_pretraining.analysis.label_budgets import training_set_sizes
    from galaxy_pretraining.training.data import run_data
    from galaxy_pretraining.training.loop import epoch_order

    catalog = pd.read_parquet(tiny_study / "catalog.parquet")
    images = load_store(tiny_study / "images.npy", len(catalog), torch.device("cpu"))
    full = run_data(images, catalog, SPLIT, 0, 1.0, "steps")
    epochs = run_data(images, catalog, SPLIT, 0, 0.25, "epochs")
    steps = run_data(images, catalog, SPLIT, 0, 0.25, "steps")
    assert full.epoch_images is None and epochs.epoch_images is None and steps.epoch_images == 72
    assert set(steps.rows["train"].tolist()) < set(full.rows["train"].tolist())
    assert torch.equal(steps.rows["test"], full.rows["test"])  # the test set is never touched
    sizes = training_set_sizes(catalog, SPLIT, [0], [0.25, 1.0]).set_index("train_fraction")["n_train"]
    assert sizes.to_dict() == {0.25: len(steps.rows["train"]), 1.0: 72}  # the tables count what training used
    order = epoch_order(steps.labels[steps.rows["train"]], torch.Generator().manual_seed(0), False, 72)
    n = len(steps.rows["train"])
    assert len(order) == 72 and sorted(order[:n].tolist()) == list(range(n))  # whole passes, one after another
