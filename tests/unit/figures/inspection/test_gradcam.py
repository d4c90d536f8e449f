"""Grad-CAM: the registry's layers, the maps of a tiny trained model, the figure of a run's best model."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from galaxy_pretraining.data.synthetic import observe, render_mock_galaxy
from galaxy_pretraining.figures.inspection.gradcam import GradCamError, choose_galaxies, heatmaps, missing_classes, target_layer
from galaxy_pretraining.models.build import build_model
from galaxy_pretraining.models.registry import ARCHITECTURES

CANVAS, STAMP = 64, 24


def _galaxies(n: int, seed: int):
    """Mock galaxies (round smooth: class 0, edge-on: class 1) pasted at a random place of a dark sky."""
    rng = np.random.default_rng(seed)
    images, labels, centres = [], [], []
    for i in range(n):
        label = i % 2
        stamp = render_mock_galaxy(2 if label == 0 else 8, STAMP, rng)
        top, left = rng.integers(0, CANVAS - STAMP, 2)
        canvas = np.zeros((CANVAS, CANVAS, 3))
        canvas[top:top + STAMP, left:left + STAMP] = stamp
        images.append(observe(canvas, rng))
        labels.append(label)
        centres.append((top + STAMP / 2, left + STAMP / 2))
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
    return batch, torch.tensor(labels), np.array(centres)


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2, padding=1),
                                      nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(32, 2)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    model = TinyNet()
    images, labels, _ = _galaxies(256, seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(12):
        for first in range(0, len(images), 32):
            loss = nn.functional.cross_entropy(model(images[first:first + 32]), labels[first:first + 32])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def test_the_tiny_model_learnt_the_two_classes(trained):
    images, labels, _ = _galaxies(64, seed=1)
    with torch.no_grad():
        assert (trained(images).argmax(1) == labels).float().mean() > 0.9


def test_heatmaps_are_not_constant_and_peak_on_the_galaxy(trained):
    images, labels, centres = _galaxies(32, seed=2)
    maps = heatmaps(trained, trained.features[-1], images, labels.tolist())
    assert maps.shape == (32, CANVAS, CANVAS)
    assert (maps.std(axis=(1, 2)) > 0.05).all()
    peaks = np.array([np.unravel_index(m.argmax(), m.shape) for m in maps])
    distance = np.hypot(*(peaks - centres).T)
    assert np.mean(distance < STAMP * 0.75) > 0.8, distance  # the peak lies on the galaxy, not on the sky
    # with the galaxy blanked out, the heat is gone from where it was
    blank = images.clone()
    for i, (row, col) in enumerate(centres.astype(int)):
        blank[i, :, row - STAMP // 2:row + STAMP // 2, col - STAMP // 2:col + STAMP // 2] = images[i].amin()
    assert not np.allclose(heatmaps(trained, trained.features[-1], blank, labels.tolist()), maps)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_registry_architecture_declares_a_layer_grad_cam_can_use(name):
    model = build_model(name, 3).eval()
    if name == "vit_b_16":
        with pytest.raises(GradCamError, match="declares no Grad-CAM layer"):
            target_layer(model, name)
        return
    size = 224 if name.startswith("vit") else 96
    maps = heatmaps(model, target_layer(model, name), torch.rand(2, 3, size, size), [0, 2])
    assert maps.shape == (2, size, size) and np.isfinite(maps).all()


def test_galaxies_are_chosen_per_class_and_a_class_missing_from_the_test_set_is_named():
    predictions = pd.DataFrame({"row": [9, 3, 5, 7, 1], "true": [0, 0, 1, 0, 1], "predicted": [0, 1, 1, 0, 0]})
    chosen = choose_galaxies(predictions, ["a", "b"], 2)
    assert chosen["row"].tolist() == [3, 7, 1, 5] and chosen["class_name"].tolist() == ["a", "a", "b", "b"]
    assert missing_classes(choose_galaxies(predictions, ["a", "b", "c"], 2), ["a", "b", "c"]) == ["c"]
    with pytest.raises(GradCamError, match="test set is empty"):
        choose_galaxies(predictions.iloc[:0], ["a", "b"], 2)


def test_a_layer_that_maps_the_crop_to_one_pixel_is_refused():
    from galaxy_pretraining.figures.inspection.gradcam import check_map_size

    model = build_model("efficientnet_lite0", 3).eval()
    with pytest.raises(GradCamError, match="maps a 40 px crop to 1x1 pixel"):
        check_map_size(model, target_layer(model, "efficientnet_lite0"), torch.rand(1, 3, 40, 40), "efficientnet_lite0")
    check_map_size(model, target_layer(model, "efficientnet_lite0"), torch.rand(1, 3, 96, 96), "efficientnet_lite0")
