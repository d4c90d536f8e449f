"""Zhu et al. (2019) as options of the engine: their views, whitening, colour jitter, schedule and iteration
limit, stratified split, networks, and their published numbers beside ours (papers.zhu2019). The ROC/AUC
tables and the accuracy per test side are tested with the analysis (tests/unit/analysis/test_roc.py,
test_curves.py)."""

import copy
import signal
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
import yaml
from PIL import Image

from galaxy_pretraining import study as S
from galaxy_pretraining.analysis.curves import collect_curves
from galaxy_pretraining.config import ConfigError
from galaxy_pretraining.data.array_store import ImageDecodeError, open_array_store, write_array_store
from galaxy_pretraining.data.splits import make_splits
from galaxy_pretraining.models.build import build_model, module_at
from galaxy_pretraining.models.weights import WeightsError
from galaxy_pretraining.papers import zhu2019
from galaxy_pretraining.training.augment import (
    colour_jitter,
    normalize,
    scale_crop,
    scale_crop_theta,
    scale_jitter_view,
    scale_test_view,
)
from galaxy_pretraining.training.checkpoints import resume
from galaxy_pretraining.training.data import load_store
from galaxy_pretraining.training.job import write_outputs
from galaxy_pretraining.training.loop import train_epochs
from galaxy_pretraining.training.optim import Schedule
from galaxy_pretraining.training.run import build_run
from galaxy_pretraining.training.spec import RunPaths
from galaxy_pretraining.training.stopping import StopRequest, TrainingInterrupted
from galaxy_pretraining.training.views import Views

from helpers.training import TIMING, VIEWS, machine, settings, zhu_settings


def images(n=3, side=40, seed=0):
    return torch.randint(0, 256, (n, 3, side, side), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


# --- views ---------------------------------------------------------------------------------------------------


def test_the_test_view_is_a_centre_crop_resized_then_centre_cropped():
    """Crop 30 of 40 at (5, 5), resize to 20 (bilinear, no antialiasing), centre crop 16 at (2, 2)."""
    batch = images()
    reference = F.interpolate(batch[:, :, 5:35, 5:35].float(), size=(20, 20), mode="bilinear", align_corners=False,
                              antialias=False)[:, :, 2:18, 2:18]
    assert torch.allclose(scale_test_view(batch, 30, 20, 16), reference, atol=1e-3)
    assert torch.allclose(scale_test_view(batch, 40, 40, 40), batch.float(), atol=1e-3)  # the whole image


def test_a_crop_offset_is_rows_then_columns():
    """Side 40 of 50 resized to 20, the 16 crop at row 1, column 3: torch's resize then slicing."""
    batch = images(2, side=50)
    reference = F.interpolate(batch[:, :, 5:45, 5:45].float(), size=(20, 20), mode="bilinear", align_corners=False,
                              antialias=False)[:, :, 1:17, 3:19]
    none = torch.zeros(2, dtype=torch.long)
    theta = scale_crop_theta(torch.tensor([40, 40]), torch.tensor([[1, 3], [1, 3]]), none, none.bool(), 50, 20, 16)
    assert torch.allclose(scale_crop(batch, theta, 16), reference, atol=1e-3)


def test_training_views_are_turned_flipped_and_scaled_per_image():
    """Every image of a batch gets its own side, offset, quarter turns and flip: with one image repeated, the
    views differ; each is one of the eight turns and flips of a view at some side and offset."""
    batch = images(1).repeat(64, 1, 1, 1)
    generator = torch.Generator().manual_seed(3)
    views = scale_jitter_view(batch, {**VIEWS, "sides": [40, 40]}, 16, True, True, generator)
    centre = scale_test_view(batch[:1], 40, 20, 20)  # the resized image; every view is a turned crop of it
    found = set()
    for view in views:
        matches = [(k, flip, top, left) for k in range(4) for flip in (False, True) for top in range(5)
                   for left in range(5)
                   if torch.allclose(torch.rot90((centre[0, :, top:top + 16, left:left + 16]).flip(2) if flip else
                                                 centre[0, :, top:top + 16, left:left + 16], k, (1, 2)), view,
                                     atol=1e-3)]
        assert matches, "a view that is no turned or flipped crop of the resized image"
        found.add(matches[0][:2])
    assert len(found) == 8  # all eight symmetries of the square occur in 64 draws


def test_training_sides_are_drawn_between_the_configured_ends():
    """At sides [24, 24] every view is the resized 24-pixel centre crop's; at [24, 40] views differ in scale."""
    batch = images(1).repeat(16, 1, 1, 1)
    fixed = scale_jitter_view(batch, {**VIEWS, "sides": [24, 24], "resize": 16}, 16, False, False,
                              torch.Generator().manual_seed(0))
    assert torch.allclose(fixed, scale_test_view(batch, 24, 16, 16), atol=1e-3)
    varied = scale_jitter_view(batch, {**VIEWS, "resize": 16}, 16, False, False, torch.Generator().manual_seed(0))
    assert len({tuple(v.flatten()[:50].round().tolist()) for v in varied}) > 4


def test_per_image_whitening_gives_mean_0_and_sd_1_and_leaves_a_flat_image_finite():
    batch = torch.rand(4, 3, 8, 8) * torch.arange(1, 5).view(4, 1, 1, 1)
    batch[3] = 0.5
    out = normalize(batch, "per_image")
    assert torch.allclose(out[:3].mean(dim=(1, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(out[:3].std(dim=(1, 2, 3), correction=0), torch.ones(3), atol=1e-4)
    assert torch.equal(out[3], torch.zeros(3, 8, 8))


def test_colour_jitter_is_per_image_within_its_ranges_and_nothing_at_zero():
    batch = torch.full((32, 3, 4, 4), 0.5)
    generator = torch.Generator().manual_seed(0)
    none = {"brightness": 0.0, "contrast": 0.0, "saturation": 0.0, "hue": 0.0}
    assert torch.allclose(colour_jitter(batch, none, generator), batch, atol=1e-5)
    brighter = colour_jitter(batch, {**none, "brightness": 0.2}, generator)
    shifts = brighter[:, 0, 0, 0] - 0.5
    assert shifts.abs().max() <= 0.2 + 1e-6 and len(set(shifts.round(decimals=4).tolist())) > 20
    grey = colour_jitter(batch, {**none, "hue": 0.5, "saturation": 0.5}, generator)  # grey has no hue to turn
    assert torch.allclose(grey, batch, atol=1e-5)


def test_the_training_transform_takes_the_zhu_path_only_with_scale_jitter():
    batch = images(8)
    zhu = Views(crop_size=16, flips=True, rotation="quarter_turns", interpolation="nearest", normalization="per_image",
                evaluation="center", channel_shift=0.0, scale_jitter=VIEWS,
                colour_jitter={"brightness": 0.1, "contrast": 0.2, "saturation": 0.2, "hue": 0.1})
    out = zhu.train(batch, torch.Generator().manual_seed(0))
    assert out.shape == (8, 3, 16, 16) and torch.allclose(out.mean(dim=(1, 2, 3)), torch.zeros(8), atol=1e-5)
    with pytest.raises(ValueError, match="quarter_turns belongs to the scale_jitter"):
        replace(zhu, scale_jitter=None)


# --- schedule, iteration limit, resume -----------------------------------------------------------------------


def test_the_step_decay_drops_the_rate_at_its_milestones_and_the_limit_ends_the_run():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.1, momentum=0.9, nesterov=True)
    schedule = Schedule(optimizer, {"milestones": [2, 4], "gamma": 0.1, "unit": "iterations"}, 5)
    rates = []
    for _ in range(5):
        optimizer.step()
        schedule.after_step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert np.allclose(rates, [0.1, 0.01, 0.01, 0.001, 0.001]) and schedule.done
    by_epoch = Schedule(optimizer, {"milestones": [1], "gamma": 0.5, "unit": "epochs"}, None)
    by_epoch.after_step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.001)
    by_epoch.after_epoch()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0005) and not by_epoch.done


def test_a_run_stops_at_max_iterations_inside_an_epoch_with_a_metric_per_test_side(tiny_study, tmp_path):
    """72 training images in batches of 16: 5 steps an epoch, so 10 steps end after epoch 2 of 4; 5 + 3 steps
    with 8 would end inside epoch 2, after 3 of its batches (48 images)."""
    catalog = pd.read_parquet(tiny_study / "catalog.parquet")
    store = load_store(tiny_study / "images.npy", len(catalog), torch.device("cpu"))
    run = build_run(zhu_settings(max_iterations=8), machine(), store, catalog, None)
    train_epochs(run, tmp_path / "last.pt", progress=False)
    metrics = pd.DataFrame(run.history)
    assert metrics["epoch"].tolist() == [1, 2] and metrics["iterations"].tolist() == [5, 8]
    assert metrics["train_accuracy"].notna().all() and run.optimizer.param_groups[0]["lr"] == pytest.approx(0.005)
    assert {"test_accuracy_side30", "test_accuracy_side40"} <= set(metrics)
    assert metrics["test_accuracy"].tolist() == metrics["test_accuracy_side40"].tolist()  # the test_side's view
    paths = [tmp_path / name for name in ("metrics.parquet", "predictions.parquet", "best.pt")]
    write_outputs(run, RunPaths(*paths))
    keys = [["m", 0, 4, False, 1.0]]
    assert len(collect_curves([paths[0]], keys, max_iterations=8)) == 2
    with pytest.raises(ValueError, match="expected 1..4 or fewer ending at 9 iterations"):
        collect_curves([paths[0]], keys, max_iterations=9)


def test_a_stopped_run_resumes_with_its_rate_and_step_count(tiny_study, tmp_path):
    """Stopped after its first batch, resumed from last.pt: the same metrics, rate and steps as a run through."""
    catalog = pd.read_parquet(tiny_study / "catalog.parquet")
    store = load_store(tiny_study / "images.npy", len(catalog), torch.device("cpu"))
    through = build_run(zhu_settings(), machine(), store, catalog, None)
    train_epochs(through, tmp_path / "through.pt", progress=False)
    stopped = build_run(zhu_settings(), machine(), store, catalog, None)
    stop = StopRequest()
    stop.signum = signal.SIGTERM
    with pytest.raises(TrainingInterrupted):
        train_epochs(stopped, tmp_path / "last.pt", progress=False, stop=stop)
    resumed = build_run(zhu_settings(), machine(), store, catalog, None)
    assert resume(resumed, tmp_path / "last.pt") and resumed.schedule.iterations == 1
    train_epochs(resumed, tmp_path / "last.pt", progress=False)
    pd.testing.assert_frame_equal(pd.DataFrame(through.history).drop(columns=TIMING, errors="ignore"),
                                  pd.DataFrame(resumed.history).drop(columns=TIMING, errors="ignore"))
    assert resumed.schedule.iterations == through.schedule.iterations == 10


# --- stratified split --------------------------------------------------------------------------------------


def test_the_stratified_split_gives_each_class_its_share_of_zhus_test_set():
    """Zhu et al.'s 9:1 split of their Table 1 counts: 843 / 807 / 58 / 390 / 781 test galaxies."""
    labels = np.repeat(np.arange(5), [8434, 8069, 578, 3903, 7806])
    ids = [f"g{i}" for i in range(len(labels))]
    splits = make_splits(ids, [0, 1], 2879, 2023, 0, labels)
    for run in (0, 1):
        chosen = splits[(splits["run"] == run)]
        test = chosen[chosen["subset"] == "test"]["row"].to_numpy()
        train = chosen[chosen["subset"] == "train"]["row"].to_numpy()
        assert np.bincount(labels[test]).tolist() == [843, 807, 58, 390, 781]
        assert np.bincount(labels[train]).tolist() == [7591, 7262, 520, 3513, 7025]
    first = set(splits[(splits["run"] == 0) & (splits["subset"] == "test")]["row"])
    second = set(splits[(splits["run"] == 1) & (splits["subset"] == "test")]["row"])
    assert first != second


# --- networks ----------------------------------------------------------------------------------------------


def weight_layers(model):
    return [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]


# Their network as their code defines it (resnet_v2_26_2 in GalaxyNet/resnet_v2.py of
# github.com/Adaydl/GalaxyClassification), transcribed: per block, per unit (depth, depth_bottleneck, stride),
# k = 2 on both widths.
K = 2
THEIR_BLOCKS = {
    "conv2": [(256 * K, 64 * K, 1), (256 * K, 64 * K, 2)],
    "conv3": [(512 * K, 128 * K, 1), (512 * K, 128 * K, 2)],
    "conv4": [(1024 * K, 256 * K, 1), (1024 * K, 256 * K, 2)],
    "conv5": [(2048 * K, 512 * K, 1)] * 2,
}


def their_parameter_count(n_classes):
    """The trainable variables their TF-slim code creates, counted from THEIR_BLOCKS and TF-slim's rules: a
    slim.conv2d with a normalizer (batch norm, with scale: gamma and beta) has no bias, one without has a bias;
    conv1 (6x6, 64), the shortcut projections, each unit's last 1x1 and the logits have none."""
    def conv(inputs, outputs, size, bias):
        return inputs * outputs * size * size + (outputs if bias else 0)

    total, depth_in = conv(3, 64, 6, True), 64
    for units in THEIR_BLOCKS.values():
        for depth, middle, _ in units:
            total += 2 * depth_in  # preact batch norm
            total += conv(depth_in, depth, 1, True) if depth != depth_in else 0  # else subsample: no weights
            total += conv(depth_in, middle, 1, False) + 2 * middle + conv(middle, middle, 3, False) + 2 * middle
            total += conv(middle, depth, 1, True)
            depth_in = depth
    return total + 2 * depth_in + conv(depth_in, n_classes, 1, True)  # postnorm, logits


def test_the_wide_resnet_is_their_code_layer_by_layer_and_counts_their_parameters():
    """Unit by unit against their resnet_v2_26_2: widths, the stride in the 3x3, a projection shortcut exactly
    where the depth changes (4 of 8 units; the 3 stride-only units subsample their input), biases where TF-slim
    makes them. 26 weight layers besides the shortcuts (1 + 4 x 2 x 3 + 1). Their code holds 55,679,429
    parameters with five classes, not the paper's 26.3 M (docs/studies/zhu2019.md)."""
    model = build_model("wide_preact_resnet26", 5)
    stem = model.stem[1]
    assert (stem.in_channels, stem.out_channels, stem.kernel_size, stem.stride) == (3, 64, (6, 6), (1, 1))
    assert stem.bias is not None and isinstance(model.pool, torch.nn.MaxPool2d) and model.pool.kernel_size == 2
    depth_in = 64
    for group, units in THEIR_BLOCKS.items():
        for unit, (depth, middle, stride) in zip(module_at(model, group), units, strict=True):
            assert (unit.conv1.in_channels, unit.conv1.out_channels, unit.conv1.kernel_size) == (depth_in, middle, (1, 1))
            assert (unit.conv2.out_channels, unit.conv2.kernel_size, unit.conv2.stride) == (middle, (3, 3), (stride,) * 2)
            assert (unit.conv3.out_channels, unit.conv3.kernel_size) == (depth, (1, 1))
            assert unit.conv1.bias is None and unit.conv2.bias is None and unit.conv3.bias is not None
            if depth != depth_in:
                assert unit.shortcut.stride == (stride, stride) and unit.shortcut.bias is not None
            else:
                assert unit.shortcut is None
            assert unit.norm1.num_features == depth_in and unit.norm1.affine
            depth_in = depth
    assert model.final[0].num_features == 4096 and model.fc.in_features == 4096
    shortcuts = [m for name, m in model.named_modules() if name.endswith("shortcut") and m is not None]
    assert len(weight_layers(model)) - len(shortcuts) == 26 and len(shortcuts) == 4
    assert sum(p.numel() for p in model.parameters()) == their_parameter_count(5) == 55_679_429
    # 64 px in: 32 after the pool, then 16, 8, 4 (the paper's 4x4 global pool)
    sizes = {}
    for group in THEIR_BLOCKS:
        module_at(model, group).register_forward_hook(lambda m, i, o, g=group: sizes.update({g: o.shape[-1]}))
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 5)
    assert sizes == {"conv2": 16, "conv3": 8, "conv4": 4, "conv5": 4}


def test_a_stride_only_unit_adds_its_input_subsampled():
    """Their `subsample(inputs, 2)` (a 1x1 max pool of stride 2): with the residual path zeroed, the unit's
    output is every second pixel of its (not pre-activated) input."""
    unit = module_at(build_model("wide_preact_resnet26", 5), "conv3")[1]
    torch.nn.init.zeros_(unit.conv3.weight)
    torch.nn.init.zeros_(unit.conv3.bias)
    x = torch.randn(2, 1024, 8, 8)
    assert torch.equal(unit.eval()(x), x[:, :, ::2, ::2])


def test_the_wide_resnet_is_drawn_with_the_variance_of_tf_slims_variance_scaling():
    """TF-slim's variance_scaling_initializer(): variance 2 / fan_in (fan in, not out); biases 0."""
    torch.manual_seed(0)
    model = build_model("wide_preact_resnet26", 5)
    for weight, fan_in in ((model.conv5[0].conv2.weight, 9 * 1024), (model.conv2[0].conv3.weight, 128)):
        assert abs(weight.std().item() / (2 / fan_in) ** 0.5 - 1) < 0.02, fan_in
    assert not model.conv2[0].conv3.bias.any() and not model.stem[1].bias.any()


def test_dielemans_network_has_seven_weight_layers_and_maxout_dense_layers():
    model = build_model("dieleman2015", 5)
    assert len(weight_layers(model)) == 7
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 5)
    features = model.features(torch.zeros(1, 3, 64, 64))
    assert features.shape == (1, 128, 4, 4)


def test_inception_v3_takes_64_pixels_by_resizing_them_to_75():
    model = build_model("inception_v3", 5).eval()
    seen = []
    model.Conv2d_1a_3x3.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].shape[-1]))
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 5)
        model(torch.zeros(1, 3, 80, 80))
    assert seen == [75, 80]


def test_a_published_galaxy_network_has_no_imagenet_weights(tmp_path):
    (tmp_path / "w.pth").write_bytes(b"x")
    with pytest.raises(WeightsError, match="no pretrained weights"):
        build_model("dieleman2015", 5, tmp_path / "w.pth")


# --- config --------------------------------------------------------------------------------------------------


@pytest.fixture
def zhu_config(root):
    return yaml.safe_load((root / "config/zhu2019-gz2.yaml").read_text())


def test_zhus_config_has_six_networks_ten_runs_and_their_numbers_beside_the_scratch_arms(zhu_config):
    config = S.resolve(copy.deepcopy(zhu_config))
    assert len(S.Study(config).jobs) == 10 * 10
    assert zhu2019.arms(config) == {
        "wide_preact_resnet26-scratch": zhu2019.OWN_NETWORK, "dieleman2015-scratch": "Dieleman",
        "alexnet-scratch": "AlexNet", "vgg16-scratch": "VGG-16", "inception_v3-scratch": "Inception v3"}
    assert {"zhu2019_comparison", "zhu2019_per_class", "roc_auc_summary", "test_side_accuracy"} <= set(
        S.Study(config).table_names)
    assert "roc_curves" in S.Study(config).figure_names
    assert sorted(S.Study(config).model_pairs) == sorted([[f"{a}-imagenet", f"{a}-scratch"]
                                                    for a in ("alexnet", "vgg16", "inception_v3", "resnet50")])
    config["data"]["galaxy_zoo2"]["mock"] = {"n_galaxies": 50}  # a mock is not their sample
    assert zhu2019.arms(config) == {}


@pytest.mark.parametrize("change, message", [
    (lambda t: t["scale_jitter"].update(sides=[170, 300]), "training.scale_jitter.sides"),
    (lambda t: t["scale_jitter"].update(test_side=230), "training.scale_jitter.test_side: 230"),
    (lambda t: t.update(crop_size=96), "training.crop_size (96) is larger than training.scale_jitter.resize"),
    (lambda t: t.update(evaluation="paper"), "set evaluation: center"),
    (lambda t: t.update(rotation=90), "quarter_turns or 0"),
    (lambda t: t.update(scale_jitter=None, crop_size=64), "set training.scale_jitter too"),
    (lambda t: t["optimizer"].update(name="adam"), "training.optimizer.nesterov"),
    (lambda t: t.update(lr_schedule={"milestones": [60000, 30000]}),
     "in the config, but protocol_source: paper sets"),
])
def test_bad_protocol_keys_are_named(zhu_config, change, message):
    change(zhu_config["training"])
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        S.resolve(zhu_config)


def test_milestones_out_of_order_are_named(zhu_config):
    zhu_config["protocol_source"] = None
    zhu_config["training"]["lr_schedule"] = {"milestones": [60000, 30000]}
    with pytest.raises(ConfigError, match="not in ascending order"):
        S.resolve(zhu_config)


@pytest.mark.parametrize(("source", "milestones", "stop", "decay", "dropout"), [
    ("paper", [30000, 60000], 72000, 0.0001, 0.2),  # their paper, Sect. 4 (dropout "0.8" read as keep)
    ("code", [30000, 60000, 90000], 100000, 0.0, 0.0),  # their GalaxyNet/resnet_v2.py and training.py
])
def test_protocol_source_follows_their_paper_or_their_code(zhu_config, source, milestones, stop, decay, dropout):
    zhu_config["protocol_source"] = source
    config = S.resolve(zhu_config)
    training = config["training"]
    assert training["lr_schedule"] == {"milestones": milestones, "gamma": 0.1, "unit": "iterations"}
    assert training["max_iterations"] == stop and training["optimizer"]["weight_decay"] == decay
    assert {m: spec["dropout"] for m, spec in config["models"].items() if spec["dropout"] is not None} == {
        "wide_preact_resnet26-scratch": dropout}
    assert max(spec["epochs"] for spec in config["models"].values()) * 203 >= stop  # 203 steps per epoch
    job = next(j for j in S.Study(config).jobs if j.model == "wide_preact_resnet26-scratch")
    assert S.Study(config).protocol(job).dropout == dropout
    assert zhu2019.arms(config)["wide_preact_resnet26-scratch"] == zhu2019.OWN_NETWORK
    # the same as the paper's or the code's: still their protocol; another schedule is not
    config["training"]["max_iterations"] = 90000
    assert zhu2019.arms(config) == {}


def test_where_the_paper_is_silent_the_config_follows_their_code(zhu_config):
    """GalaxyNet/input_data.py: random_brightness(max_delta=63) on 0-255 pixels, random_contrast(0.2, 1.8),
    saturation and hue commented out; the test view at img_width = 220."""
    training = S.resolve(zhu_config)["training"]
    jitter = training["colour_jitter"]
    assert round(jitter["brightness"] * 255, 4) == 63 and (1 - jitter["contrast"], 1 + jitter["contrast"]) == (
        pytest.approx(0.2), pytest.approx(1.8))
    assert jitter["saturation"] == jitter["hue"] == 0
    assert training["scale_jitter"]["test_side"] == 220 and training["scale_jitter"]["resize"] == 80


def test_a_key_protocol_source_sets_is_an_error_when_the_config_sets_it_otherwise(zhu_config):
    zhu_config["training"]["max_iterations"] = 100000
    with pytest.raises(ConfigError, match="training.max_iterations: 100000 in the config, but protocol_source: "
                                          "paper sets 72000; remove the key, or set protocol_source: null"):
        S.resolve(copy.deepcopy(zhu_config))
    zhu_config["training"]["max_iterations"] = 72000  # the same value: fine
    S.resolve(copy.deepcopy(zhu_config))
    zhu_config["models"]["alexnet-scratch"]["dropout"] = 0.5
    with pytest.raises(ConfigError, match=r"models.alexnet-scratch.dropout: alexnet has no dropout option \(only "
                                          r"\['wide_preact_resnet26'\]\)"):
        S.resolve(zhu_config)


def test_the_dropout_of_the_wide_resnet_is_the_configured_one():
    assert {m.p for m in build_model("wide_preact_resnet26", 5, dropout=0.2).modules()
            if isinstance(m, torch.nn.Dropout)} == {0.2}
    assert {m.p for m in build_model("wide_preact_resnet26", 5).modules() if isinstance(m, torch.nn.Dropout)} == {0.0}
    with pytest.raises(ValueError, match="alexnet has no dropout option"):
        build_model("alexnet", 5, dropout=0.2)


def test_a_run_builds_its_network_with_its_dropout(tiny_study):  # noqa: F811
    images = load_store(tiny_study / "images.npy", 96, torch.device("cpu"))
    catalog = pd.read_parquet(tiny_study / "catalog.parquet")
    run = build_run(settings(architecture="wide_preact_resnet26", dropout=0.3), machine(), images, catalog, None)
    assert {m.p for m in run.model.modules() if isinstance(m, torch.nn.Dropout)} == {0.3}


def test_imagenet_weights_for_a_published_galaxy_network_are_a_config_error(zhu_config):
    zhu_config["models"]["dieleman2015-scratch"]["weights"] = "imagenet"
    with pytest.raises(ConfigError, match="models.dieleman2015-scratch.weights: dieleman2015 has no ImageNet"):
        S.resolve(zhu_config)


# --- the array store's central crop --------------------------------------------------------------------------


def test_the_store_keeps_the_central_crop_at_full_resolution_and_names_a_small_image(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (42, 42, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    write_array_store([str(tmp_path / "a.png")] * 3, tmp_path / "store.npy", 24, threads=2, crop=24, duplicates="warn")
    store = open_array_store(tmp_path / "store.npy")
    assert store.shape == (3, 3, 24, 24) and np.array_equal(store[2], pixels[9:33, 9:33].transpose(2, 0, 1))
    Image.fromarray(pixels[:20, :30]).save(tmp_path / "small.png")
    with pytest.raises(ImageDecodeError, match=r"small.png: the image is 30 x 20 pixels, smaller than image_crop"):
        write_array_store([str(tmp_path / "a.png"), str(tmp_path / "small.png")], tmp_path / "bad.npy", 24, crop=24)
    assert not list(tmp_path.glob("bad*"))


# --- their numbers beside ours ------------------------------------------------------------------------------


def test_the_comparison_puts_their_numbers_beside_our_runs_of_the_same_network():
    peaks = pd.DataFrame({"model": "wrn", "run": [0, 1], "epochs": 3, "long_run": False, "budget": 3,
                          "peak_accuracy": [0.94, 0.96], "peak_epoch": 3})
    roc = pd.DataFrame({"model": "wrn", "run": [0, 1], "class_name": "macro", "support": 10, "auc": [0.98, 0.99]})
    per_class = pd.DataFrame({"model": "wrn", "run": [0, 0, 1, 1], "class_name": ["a", "b", "a", "b"],
                              "support": 5, "recall": [1.0, .8, .9, .9], "precision": [.9, .9, .9, .9],
                              "f1": [.9, .8, .9, .9]})
    row = zhu2019.comparison_table(peaks, roc, per_class, {"wrn": zhu2019.OWN_NETWORK}).iloc[0]
    assert row["accuracy_mean"] == pytest.approx(95.0) and row["accuracy_best_run"] == pytest.approx(96.0)
    assert row["zhu2019_accuracy_mean"] == 94.69 and row["zhu2019_accuracy_best"] == 95.21
    assert row["auc_macro_mean"] == pytest.approx(0.985) and row["zhu2019_auc_macro"] == 0.9823
    assert row["recall_macro_mean"] == pytest.approx(90.0) and row["zhu2019_recall_macro"] == 95.21
    with pytest.raises(ValueError, match="no model of this study"):
        zhu2019.comparison_table(peaks, roc, per_class, {})


def test_the_per_class_table_puts_their_best_models_classes_beside_our_runs_of_their_network():
    per_class = pd.DataFrame({"model": ["wrn"] * 4 + ["alex"] * 2, "run": [0, 0, 1, 1, 0, 0],
                              "class_name": ["spiral", "edge-on"] * 3, "support": 5,
                              "recall": [1.0, .8, .9, .9, .5, .5], "precision": .9, "f1": .9})
    roc = pd.DataFrame({"model": "wrn", "run": [0, 0, 1, 1], "class_name": ["spiral", "edge-on"] * 2,
                        "support": 5, "auc": [0.9, 0.8, 1.0, 0.8]})
    network_of = {"wrn": zhu2019.OWN_NETWORK, "alex": "AlexNet"}
    table = zhu2019.per_class_table(per_class, roc, ["edge-on", "spiral"], network_of).set_index("class_name")
    assert table["model"].unique().tolist() == ["wrn"]  # their own network only
    assert table.index.tolist() == ["edge-on", "spiral"]  # in the config's order
    assert table.loc["spiral", "recall_mean"] == pytest.approx(95.0) and table.loc["spiral", "auc_mean"] == 0.95
    assert table.loc["spiral", "zhu2019_recall"] == 97.82 and table.loc["edge-on", "zhu2019_precision"] == 94.12
    with pytest.raises(ValueError, match="own network"):
        zhu2019.per_class_table(per_class, roc, ["edge-on", "spiral"], {"alex": "AlexNet"})


def test_a_per_run_view_gives_every_image_the_runs_side_and_quarter_turns():
    """draw: per_run (their code): one side and one number of turns for all images; here side 24, one turn."""
    batch = images(1).repeat(8, 1, 1, 1)
    jitter = {**VIEWS, "resize": 16, "draw": "per_run", "run_side": 24, "run_turns": 1}
    views = scale_jitter_view(batch, jitter, 16, False, True, torch.Generator().manual_seed(0))
    turned = torch.rot90(scale_test_view(batch[:1], 24, 16, 16)[0], 1, (1, 2))
    for view in views:
        assert torch.allclose(view, turned, atol=1e-3)


def test_a_per_run_draw_is_made_once_from_the_runs_seed_and_saved(tiny_study):  # noqa: F811
    store = load_store(tiny_study / "images.npy", 96, torch.device("cpu"))
    catalog = pd.read_parquet(tiny_study / "catalog.parquet")
    s = settings(crop_size=16, rotation="quarter_turns", normalization="per_image", flips=True,
                 scale_jitter={**VIEWS, "resize": 20, "draw": "per_run"})
    first, again = (build_run(s, machine(), store, catalog, None).scale_jitter for _ in range(2))
    assert first == again and VIEWS["sides"][0] <= first["run_side"] <= VIEWS["sides"][1]
    assert first["run_turns"] in range(4) and "run_side" not in s.scale_jitter
    per_image = build_run(settings(crop_size=16, rotation="quarter_turns", normalization="per_image",
                                   scale_jitter={**VIEWS, "resize": 20, "draw": "per_image"}), machine(), store, catalog, None)
    assert "run_side" not in per_image.scale_jitter


@pytest.mark.parametrize(("source", "draw"), [("paper", "per_image"), ("code", "per_run")])
def test_protocol_source_sets_how_the_view_is_drawn(zhu_config, source, draw):
    zhu_config["protocol_source"] = source
    assert S.resolve(zhu_config)["training"]["scale_jitter"]["draw"] == draw
