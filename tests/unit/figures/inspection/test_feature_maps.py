"""First-layer filters and one galaxy's feature maps (Zhu et al. 2019, Figs. 10-13) from a run's best model."""

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image
from torch import nn

from galaxy_pretraining import study as S
from galaxy_pretraining.config import ConfigError
from galaxy_pretraining.figures.inspection.feature_maps import (
    FeatureMapError,
    choose_galaxy,
    chosen_layers,
    convolutions_in_order,
    filter_images,
    layer_outputs,
    map_pictures,
    network_view,
    render,
    spread,
    strongest_channels,
)
from galaxy_pretraining.training.augment import normalize, scale_test_view
from galaxy_pretraining.training.job import train_run

from helpers.training import CLASSES, machine, paths_in, zhu_settings

VIEWS = {"sides": [32, 40], "resize": 40, "test_sides": [36, 40], "test_side": 36}


@pytest.fixture(scope="module")
def dieleman_run(tiny_study, tmp_path_factory):
    """One epoch of Dieleman et al.'s network under Zhu et al.'s protocol (whitening, the test side's view)."""
    out = tmp_path_factory.mktemp("dieleman")
    s = zhu_settings(architecture="dieleman2015", epochs=1, crop_size=40, scale_jitter=VIEWS, max_iterations=None)
    train_run(s, paths_in(out), machine(), tiny_study / "images.npy", tiny_study / "catalog.parquet", progress=False)
    return out


class Backwards(nn.Module):
    """Declares its convolutions in the opposite order to the one they run in."""

    def __init__(self):
        super().__init__()
        self.late = nn.Conv2d(4, 2, 1)
        self.early = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(2, 2)

    def forward(self, x):
        return self.head(self.late(self.early(x)).mean(dim=(2, 3)))


def test_convolutions_come_in_the_order_the_input_runs_through_them():
    assert convolutions_in_order(Backwards(), torch.rand(1, 3, 8, 8)) == ["early", "late"]


def test_layers_are_spread_from_the_first_to_the_last():
    names = [f"c{i}" for i in range(10)]
    assert spread(names, 4) == ["c0", "c3", "c6", "c9"]
    assert spread(names, 1) == ["c0"] and spread(names, 20) == names


def test_a_named_layer_that_is_missing_or_gives_no_maps_is_an_error_naming_it():
    model, batch = Backwards(), torch.rand(1, 3, 8, 8)
    with pytest.raises(FeatureMapError, match=r"no module 'middle'; its convolutions are early, late \(2 in all\)"):
        chosen_layers(model, convolutions_in_order(model, batch), ["early", "middle"])
    with pytest.raises(FeatureMapError, match=r"module 'head' gives \(1, 2\), not maps"):
        layer_outputs(model, batch, chosen_layers(model, convolutions_in_order(model, batch), ["head"]))


def test_the_strongest_channels_have_the_largest_mean_absolute_response():
    maps = np.zeros((4, 2, 2))
    maps[1] = -3.0  # strongest, though negative
    maps[3] = 1.0
    maps[2, 0, 0] = 2.0  # mean 0.5
    assert strongest_channels(maps, 2).tolist() == [1, 3]
    assert strongest_channels(maps, 9).tolist() == [1, 3, 2, 0]


def test_maps_are_stretched_each_on_its_own_and_one_pixel_maps_against_each_other():
    maps = np.random.default_rng(0).normal(size=(5, 3, 3))
    pictures = map_pictures(maps, 3)
    assert pictures.shape == (3, 3, 3)
    assert np.allclose(pictures.min(axis=(1, 2)), 0) and np.allclose(pictures.max(axis=(1, 2)), 1)
    single = map_pictures(np.array([1.0, -4.0, 2.0]).reshape(3, 1, 1), 3)
    assert single.ravel() == pytest.approx([0, 1, 5 / 6])  # -4, 2, 1: strongest first, shaded from -4 to 2


def test_a_galaxy_of_the_chosen_class_is_the_first_of_the_test_set():
    predictions = pd.DataFrame({"row": [9, 3, 5, 7], "true": [1, 2, 1, 0], "predicted": [1, 1, 1, 0]})
    assert choose_galaxy(predictions, CLASSES, None)["row"] == 3
    assert choose_galaxy(predictions, CLASSES, "b")["row"] == 5
    with pytest.raises(FeatureMapError, match="class_name: 'd' is not one of the classes"):
        choose_galaxy(predictions, CLASSES, "d")
    with pytest.raises(FeatureMapError, match="no galaxy of class a"):
        choose_galaxy(predictions[predictions["true"] > 0], CLASSES, "a")


def test_the_filters_are_the_best_models_first_kernels_each_stretched(tiny_study, dieleman_run):
    view = network_view(dieleman_run / "best.pt", tiny_study / "images.npy", dieleman_run / "predictions.parquet", 2)
    saved = torch.load(dieleman_run / "best.pt", weights_only=False)["model"]
    assert view.first_layer == "features.0"
    assert np.array_equal(view.kernels, saved["features.0.weight"].numpy())
    pictures = filter_images(view.kernels)
    assert pictures.shape == (32, 6, 6, 3)
    assert np.allclose(pictures.min(axis=(1, 2, 3)), 0) and np.allclose(pictures.max(axis=(1, 2, 3)), 1)


def test_the_maps_are_each_layers_output_for_the_galaxys_evaluation_view(tiny_study, dieleman_run):
    view = network_view(dieleman_run / "best.pt", tiny_study / "images.npy", dieleman_run / "predictions.parquet", 3,
                        class_name="c")
    predictions = pd.read_parquet(dieleman_run / "predictions.parquet")
    row = predictions[predictions["true"] == 2]["row"].min()
    assert view.galaxy["row"] == row
    # Dieleman's four convolutions are features.0, .3, .6, .8: three spread from the first to the last
    assert [layer.name for layer in view.layers] == ["features.0", "features.6", "features.8"]
    # the maps are what the layers give the test side's view (36 of 40 px, resized to 40, centre 40), whitened
    from galaxy_pretraining.figures.inspection.gradcam import load_best_model

    model, _, _ = load_best_model(dieleman_run / "best.pt")
    image = torch.from_numpy(np.load(tiny_study / "images.npy")[[row]])
    seen = normalize(scale_test_view(image, 36, 40, 40) / 255.0, "per_image")
    with torch.no_grad():
        for layer, depth in zip(view.layers, (1, 7, 9)):
            assert np.allclose(layer.maps, model.features[:depth](seen)[0].numpy(), atol=1e-5), layer.name
    assert view.image.shape == (40, 40, 3) and view.image.min() == 0 and view.image.max() == 1


def test_both_figures_are_written_whole(tiny_study, dieleman_run, tmp_path):
    outputs = {name: [tmp_path / name / f"m.{suffix}" for suffix in ("png", "pdf")] for name in ("filters", "maps")}
    options = {"layers": ["features.3", "features.8"], "class_name": None, "maps_per_layer": 4}
    render(dieleman_run / "best.pt", tiny_study / "images.npy", dieleman_run / "predictions.parquet", options, "m",
           outputs["filters"], outputs["maps"])
    for name, paths in outputs.items():
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["m.pdf", "m.png"]  # no temporary left
        assert Image.open(paths[0]).size[0] > 200
    with pytest.raises(FeatureMapError, match="no module 'features.99'"):
        render(dieleman_run / "best.pt", tiny_study / "images.npy", dieleman_run / "predictions.parquet",
               {**options, "layers": ["features.99"]}, "m", [tmp_path / "x.png"], [tmp_path / "y.png"])
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "y.png").exists()


@pytest.fixture
def zhu_config(root):
    return yaml.safe_load((root / "config/zhu2019-gz2.yaml").read_text())


def test_the_zhu_config_draws_both_figures_of_every_model(zhu_config):
    zhu_config = S.resolve(zhu_config)
    targets = S.Study(zhu_config).targets
    for model in zhu_config["models"]:
        for figure in ("first_layer_filters", "feature_maps"):
            assert f"results/zhu2019-gz2/figures/{figure}/{model}.png" in targets
    inputs = S.Study(zhu_config).model_figure_inputs("feature_maps", "dieleman2015-scratch")
    assert inputs["best_model"] == "results/zhu2019-gz2/runs/dieleman2015-scratch/run000/best.pt"
    assert not any("/feature_maps/" in t for t in S.Study({**zhu_config, "feature_maps": None}).targets)


@pytest.mark.parametrize("change, message", [
    ({"class_name": "barred"}, "feature_maps.class_name: 'barred' is not one of the classes"),
    ({"run": 10}, "feature_maps.run: run 10 is not among the configured runs"),
])
def test_bad_feature_map_keys_are_named(zhu_config, change, message):
    zhu_config["feature_maps"].update(change)
    with pytest.raises(ConfigError, match=message):
        S.resolve(zhu_config)
