"""training.loop: an epoch, evaluation, and an epoch stopped and continued."""

import signal

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from galaxy_pretraining.errors import BadData
from galaxy_pretraining.training.data import RunData, load_store
from galaxy_pretraining.training.loop import batches, confusion_matrices, evaluate, predictions_table, train_one_epoch
from galaxy_pretraining.training.run import EpochInterrupted, build_run
from galaxy_pretraining.training.stopping import StopRequest
from galaxy_pretraining.training.views import Views

from helpers.training import SPLIT, machine, settings, train_tiny


class Constant(nn.Module):
    """Always the same logits, whatever the image."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.tensor(logits)

    def forward(self, x):
        return self.logits.expand(len(x), -1)


def test_one_epoch_of_evaluation_checked_by_hand():
    labels = torch.tensor([0, 1, 1, 2])
    data = RunData(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), labels, {"test": torch.arange(4)})
    s = settings(crop_size=8)
    result = evaluate(Constant([0.0, 1.0, 0.0]), data, "test", Views.from_settings(s), torch.Generator(),
                      torch.device("cpu"), machine().eval_batch_size)
    assert result["accuracy"] == 0.5
    p = np.exp([0, 1, 0]) / np.exp([0, 1, 0]).sum()
    assert result["loss"] == pytest.approx(-(np.log(p[0]) + 2 * np.log(p[1]) + np.log(p[2])) / 4, rel=1e-6)
    assert result["confusion"].tolist() == [[0, 1, 0], [0, 2, 0], [0, 1, 0]]
    # the logits themselves are kept (float32 probabilities saturate; AUCs and calibration read these)
    assert result["logits"].tolist() == [[0.0, 1.0, 0.0]] * 4
    table = predictions_table(data, result, ["e", "s", "i"])
    assert table[["logit_e", "logit_s", "logit_i"]].to_numpy().tolist() == [[0.0, 1.0, 0.0]] * 4
    np.testing.assert_allclose(table[["probability_e", "probability_s", "probability_i"]].to_numpy(), [p] * 4, rtol=1e-6)


def fresh_run(s, images, catalog):
    """A newly built run and the arguments train_one_epoch takes for it (its first epoch)."""
    r = build_run(s, machine(), images, catalog, None)
    return r, (r, 1)


@pytest.mark.parametrize("protocol", [{}, {"oversample": True, "channel_shift": 20.0}], ids=["paper", "fu"])
def test_an_epoch_stopped_after_a_batch_continues_exactly_where_it_stopped(tiny_study, protocol):
    """The stopped epoch's position, continued, gives the weights and metrics of the epoch run through
    (with oversampling too: the saved order is the epoch's oversampled draw)."""
    s = settings(**protocol)
    catalog = pd.read_parquet(tiny_study / "catalog.parquet")
    images = load_store(tiny_study / "images.npy", len(catalog), torch.device("cpu"))

    whole, args = fresh_run(s, images, catalog)
    through = train_one_epoch(*args, progress=False)
    stopped, args = fresh_run(s, images, catalog)
    stop = StopRequest()
    stop.signum = signal.SIGUSR1
    with pytest.raises(EpochInterrupted) as interrupted:
        train_one_epoch(*args, stop=stop, progress=False)
    assert interrupted.value.position.next_image == s.batch_size  # one batch, then the stop
    continued = train_one_epoch(*args, position=interrupted.value.position, progress=False)
    assert {k: through[k] for k in ("train_loss", "train_accuracy")} == {
        k: continued[k] for k in ("train_loss", "train_accuracy")}
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, stopped.model.state_dict()[name]), name


def test_a_validation_split_is_evaluated_every_epoch(tiny_study, tmp_path):
    metrics = train_tiny(tiny_study, tmp_path, settings(epochs=2, split={**SPLIT, "validation_size": 12}))
    # an accuracy over the 12 validation galaxies: a whole number of them right, every epoch
    right = metrics["validation_accuracy"] * 12
    assert len(metrics) == 2 and np.allclose(right, right.round()) and metrics["validation_loss"].notna().all()
    assert (confusion_matrices(metrics).sum(axis=(1, 2)) == 24).all()  # the test set is unchanged


def test_no_batch_of_one_reaches_the_network_and_a_stopped_epoch_continues_on_the_same_batches(tiny_study):
    """65 training galaxies, batch_size 16 (the case bn-last-batch-of-one: 4 x 16 + 1): ResNet-18 at 32 px ends
    in a 1 x 1 map, where BatchNorm cannot train on one image. The last image joins the batch before it (17),
    every image is trained once per epoch, and an epoch stopped after a batch continues to the same numbers."""
    s = settings(split={**SPLIT, "test_size": 31})
    catalog = pd.read_parquet(tiny_study / "catalog.parquet")
    images = load_store(tiny_study / "images.npy", len(catalog), torch.device("cpu"))

    whole, args = fresh_run(s, images, catalog)
    assert len(whole.data.rows["train"]) == 65
    sizes = []
    whole.model.register_forward_pre_hook(lambda module, inputs: sizes.append(len(inputs[0])))
    through = train_one_epoch(*args, progress=False)
    assert sizes == [16, 16, 16, 17]
    assert through["train_accuracy"] * 65 == pytest.approx(round(through["train_accuracy"] * 65))
    stopped, args = fresh_run(s, images, catalog)
    stop = StopRequest()
    stop.signum = signal.SIGUSR1
    with pytest.raises(EpochInterrupted) as interrupted:
        train_one_epoch(*args, stop=stop, progress=False)
    continued = train_one_epoch(*args, position=interrupted.value.position, progress=False)
    assert {k: through[k] for k in ("train_loss", "train_accuracy")} == {
        k: continued[k] for k in ("train_loss", "train_accuracy")}
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, stopped.model.state_dict()[name]), name


def test_batches_merge_only_a_last_batch_of_one_and_refuse_an_epoch_of_one_image():
    assert list(batches(0, 33, 16)) == [(0, 16), (16, 33)]
    assert list(batches(0, 32, 16)) == [(0, 16), (16, 32)]
    assert list(batches(0, 34, 16)) == [(0, 16), (16, 32), (32, 34)]
    assert list(batches(16, 33, 16)) == [(16, 33)]  # resumed after the first batch: the same bounds
    with pytest.raises(BadData, match="the training set holds 1 image"):
        list(batches(0, 1, 16))
