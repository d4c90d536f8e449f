"""Partial fine-tuning (models.frozen_share) and random oversampling (training.oversample)."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from galaxy_pretraining.models.build import build_model
from galaxy_pretraining.models.freezing import freeze_layers, frozen_layer_count, hold_frozen_batch_norms, layers
from galaxy_pretraining.models.registry import ARCHITECTURES, architecture_spec
from galaxy_pretraining.training.data import load_store
from galaxy_pretraining.training.job import train_run
from galaxy_pretraining.training.loop import epoch_order
from galaxy_pretraining.training.run import build_run

from helpers.training import CLASSES, machine, paths_in, settings


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_layers_cover_every_parameter_below_the_head_once_in_forward_order(name):
    model = build_model(name, 10)
    found = layers(model, name)
    head = architecture_spec(name).head
    counted = {id(p) for _, module in found for p in module.parameters(recurse=False)}
    for parameter_name, parameter in model.named_parameters():
        in_head = parameter_name.startswith(head + ".")
        assert (id(parameter) in counted) != in_head, parameter_name
    assert len(counted) == sum(1 for _ in found for _ in _[1].parameters(recurse=False))


def test_densenet121_counts_its_241_convolutions_and_batch_norms():
    model = build_model("densenet121", 10)
    found = layers(model, "densenet121")
    assert len(found) == 241  # 120 convolutions and 121 batch norms; the classifier is the head
    assert [name for name, _ in found[:3]] == ["features.conv0", "features.norm0", "features.denseblock1.denselayer1.norm1"]
    assert found[-1][0] == "features.norm5"
    assert [frozen_layer_count(241, share) for share in (0, 0.2, 0.4, 0.6, 0.8, 1.0)] == [0, 48, 96, 145, 193, 241]


def test_a_share_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="frozen_share"):
        frozen_layer_count(10, 1.5)


def test_frozen_batch_norms_stay_in_eval_mode_in_training():
    model = build_model("resnet18", 3)
    frozen = freeze_layers(model, "resnet18", 0.5)
    model.train()
    hold_frozen_batch_norms(model)
    modes = {name: module.training for name, module in model.named_modules() if isinstance(module, nn.BatchNorm2d)}
    assert not any(modes[name] for name in frozen if name in modes)
    assert all(mode for name, mode in modes.items() if name not in frozen)
    assert any(name in modes for name in frozen) and any(name not in frozen for name in modes)


def _tiny_run(tiny_study, out, weights, **overrides):
    s = settings(architecture="efficientnet_lite0", weights="imagenet", epochs=1, normalization="imagenet",
                 optimizer={"name": "adam", "lr": 0.001, "weight_decay": 0.0}, **overrides)
    train_run(s, paths_in(out), machine(), tiny_study / "images.npy", tiny_study / "catalog.parquet",
              weights_path=weights, progress=False)
    return s, torch.load(out / "best.pt", weights_only=False)["model"]  # one epoch: its best is its last


@pytest.mark.parametrize("share", [0.6, 1.0])
def test_after_training_frozen_layers_equal_the_imagenet_file_and_the_others_have_moved(tiny_study, tmp_path,
                                                                                         lite0_weights, share):
    s, trained = _tiny_run(tiny_study, tmp_path, lite0_weights, frozen_share=share)
    imagenet = torch.load(lite0_weights, weights_only=True)
    model = build_model("efficientnet_lite0", 3)
    found = layers(model, "efficientnet_lite0")
    n_frozen = frozen_layer_count(len(found), share)
    frozen_names = {name for name, _ in found[:n_frozen]}
    assert len(frozen_names) == n_frozen > 0
    for name, module in found:
        for key, _ in module.named_parameters(recurse=False):
            full = f"{name}.{key}"
            same = torch.equal(trained[full], imagenet[full])
            assert same == (name in frozen_names), f"{full}: frozen={name in frozen_names}, unchanged={same}"
        if isinstance(module, nn.BatchNorm2d):  # a frozen batch norm keeps ImageNet's statistics too
            assert torch.equal(trained[f"{name}.running_mean"], imagenet[f"{name}.running_mean"]) == (
                name in frozen_names), name
    head = architecture_spec("efficientnet_lite0").head
    fresh = build_model("efficientnet_lite0", 3)
    assert not torch.equal(trained[f"{head}.weight"], fresh.state_dict()[f"{head}.weight"])


def test_the_optimiser_holds_only_the_trainable_parameters(tiny_study, lite0_weights):
    s = settings(architecture="efficientnet_lite0", weights="imagenet", frozen_share=0.4)
    catalog = pd.read_parquet(tiny_study / "catalog.parquet")
    images = load_store(tiny_study / "images.npy", len(catalog), torch.device("cpu"))
    run = build_run(s, machine(), images, catalog, lite0_weights)
    held = {id(p) for group in run.optimizer.param_groups for p in group["params"]}
    trainable = {id(p) for p in run.model.parameters() if p.requires_grad}
    frozen = {id(p) for p in run.model.parameters() if not p.requires_grad}
    assert held == trainable and frozen and not held & frozen


def test_epoch_order_with_oversampling_balances_the_classes_from_the_training_rows_only():
    labels = torch.tensor([0] * 10 + [1] * 3 + [2] * 1)
    generator = torch.Generator().manual_seed(0)
    first = epoch_order(labels, generator, oversample=True)
    second = epoch_order(labels, generator, oversample=True)
    for order in (first, second):
        assert len(order) == 30
        assert torch.bincount(labels[order]).tolist() == [10, 10, 10]
        assert set(order.tolist()) == set(range(14))  # every training image at least once, nothing else
    assert not torch.equal(first, second)
    plain = epoch_order(labels, generator, oversample=False)
    assert sorted(plain.tolist()) == list(range(14))


def test_oversampling_leaves_the_test_set_alone(tmp_path):
    """An imbalanced sample: the test predictions are those of the split's test rows, each once."""
    rng = np.random.default_rng(1)
    labels = np.array([0] * 70 + [1] * 20 + [2] * 6)
    images = rng.integers(0, 60, (len(labels), 3, 40, 40)) + labels[:, None, None, None] * 80
    np.save(tmp_path / "images.npy", images.astype(np.uint8))
    pd.DataFrame({"id": [f"g{i}" for i in range(len(labels))], "class_index": labels,
                  "class_name": [CLASSES[c] for c in labels]}).to_parquet(tmp_path / "catalog.parquet")
    s = settings(oversample=True, epochs=1)
    metrics = train_run(s, paths_in(tmp_path), machine(), tmp_path / "images.npy", tmp_path / "catalog.parquet",
                        progress=False)
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    assert len(predictions) == 24 and predictions["row"].is_unique
    confusion = np.array(metrics["test_confusion"].iloc[0])
    assert confusion.sum() == 24
