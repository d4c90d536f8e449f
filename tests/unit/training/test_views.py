import pytest
import torch

from galaxy_pretraining.training.augment import center_crop
from galaxy_pretraining.training.views import Views

from helpers.training import VIEWS, settings


def views(crop_size, **fields):
    """The views of a paper-like protocol (flips, rotation up to 180 degrees, no normalisation), with changes."""
    base = dict(flips=True, rotation=180.0, interpolation="nearest", normalization="none", evaluation="center",
                channel_shift=0.0, scale_jitter=None, colour_jitter=None)
    return Views(crop_size=crop_size, **{**base, **fields})


def test_the_training_view_draws_per_image_parameters():
    batch = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8).repeat(8, 1, 1, 1)
    out = views(24).train(batch, torch.Generator().manual_seed(2))
    assert out.shape == (8, 3, 24, 24) and out.dtype == torch.float32
    assert 0.0 <= out.min() and out.max() <= 1.0


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_the_same_image_repeated_in_a_batch_gets_its_own_rotation(interpolation):
    """No crop (crop = image size) and no flips: only the rotation can make the copies differ."""
    batch = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8).repeat(16, 1, 1, 1)
    out = views(32, flips=False, interpolation=interpolation).train(batch, torch.Generator().manual_seed(2))
    distinct = {tuple(o.flatten().tolist()) for o in out}
    assert len(distinct) == 16  # sixteen angles, not one for the whole batch
    unrotated = views(32, flips=False, rotation=0.0, interpolation=interpolation).train(
        batch, torch.Generator().manual_seed(2))
    assert all(torch.equal(o, batch[0].float() / 255) for o in unrotated)


def test_center_evaluation_is_deterministic_and_paper_evaluation_is_random():
    batch = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    g = torch.Generator().manual_seed(3)
    first = views(24).evaluate(batch, g)
    second = views(24).evaluate(batch, g)
    assert torch.equal(first, second)
    assert torch.equal(first, center_crop(batch, 24).float() / 255)
    paper_a = views(24, evaluation="paper").evaluate(batch, g)
    paper_b = views(24, evaluation="paper").evaluate(batch, g)
    assert not torch.equal(paper_a, paper_b)


def test_the_training_view_with_a_channel_shift_moves_brightness_only():
    batch = torch.randint(10, 240, (16, 3, 32, 32), dtype=torch.uint8)
    plain = views(24, rotation=0.0).train(batch, torch.Generator().manual_seed(3))
    shifted = views(24, rotation=0.0, channel_shift=30.0).train(batch, torch.Generator().manual_seed(3))
    difference = (shifted - plain).flatten(1) * 255
    assert difference.abs().max() <= 30.0 + 1e-3 and difference.abs().max() > 1.0
    # the same crops and flips: per image, all pixels but the clipped ones moved by the same value
    median = difference.median(dim=1, keepdim=True).values
    assert ((difference - median).abs() < 1e-3).float().mean(dim=1).min() > 0.7


def test_the_views_of_a_run_are_those_its_settings_state():
    """Views.from_settings reads every view field of a Protocol, and of the mapping a best.pt holds."""
    s = settings(crop_size=24, channel_shift=12.0, rotation=90.0, evaluation="paper")
    built = Views.from_settings(s)
    assert (built.crop_size, built.channel_shift, built.rotation, built.evaluation) == (24, 12.0, 90.0, "paper")
    assert Views.from_settings(vars(s)) == built
    with pytest.raises(KeyError, match="crop_size"):
        Views.from_settings({k: v for k, v in vars(s).items() if k != "crop_size"})


@pytest.mark.parametrize("fields, message", [
    ({"rotation": "quarter_turns"}, "quarter_turns belongs to the scale_jitter"),
    ({"evaluation": "random"}, "unknown evaluation transform 'random'"),
    ({"interpolation": "cubic"}, "unknown interpolation 'cubic'"),
    ({"normalization": "weights"}, "resolved when the model is built"),
    ({"normalization": "zca"}, "unknown normalization 'zca'"),
])
def test_views_no_protocol_has_are_refused_when_built(fields, message):
    with pytest.raises(ValueError, match=message):
        views(24, **fields)


def test_with_scale_jitter_the_centre_view_is_the_test_sides_view():
    """Grad-CAM and the feature maps see views.center: with scale_jitter, the view at its test_side (or the
    side asked for), which evaluation shows too."""
    from galaxy_pretraining.training.augment import scale_test_view

    batch = torch.randint(0, 256, (4, 3, 40, 40), dtype=torch.uint8)
    zhu = views(16, rotation="quarter_turns", scale_jitter=VIEWS)
    assert torch.equal(zhu.center(batch), scale_test_view(batch, VIEWS["test_side"], VIEWS["resize"], 16) / 255.0)
    assert torch.equal(zhu.evaluate(batch, torch.Generator(), 30), zhu.center(batch, 30))
    assert not torch.equal(zhu.center(batch, 30), zhu.center(batch))
