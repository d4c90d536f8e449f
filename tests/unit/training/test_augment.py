import pytest
import torch
import torchvision.transforms.v2.functional as TF

from galaxy_pretraining.training.augment import crop_and_flip, normalize, rotate


def pattern(n=1, size=8):
    return torch.arange(n * 3 * size * size, dtype=torch.float32).reshape(n, 3, size, size)


def test_rotation_by_90_degrees_equals_rot90_and_torchvision():
    image = pattern(size=10)
    turned = rotate(image, torch.tensor([90.0]))
    assert torch.equal(turned, torch.rot90(image, 1, dims=(-2, -1)))
    assert torch.equal(turned, TF.rotate(image, 90.0))


def test_each_image_gets_its_own_angle():
    images = pattern(2, 10)
    turned = rotate(images, torch.tensor([90.0, 180.0]))
    assert torch.equal(turned[0], torch.rot90(images[0], 1, dims=(-2, -1)))
    assert torch.equal(turned[1], torch.rot90(images[1], 2, dims=(-2, -1)))


def test_crop_without_flips_is_a_window_of_the_image():
    images = torch.randint(0, 256, (16, 3, 12, 12), dtype=torch.uint8)
    crops = crop_and_flip(images, 8, flips=False, generator=torch.Generator().manual_seed(0))
    for image, crop in zip(images, crops):
        windows = [image[:, i : i + 8, j : j + 8] for i in range(5) for j in range(5)]
        assert any(torch.equal(crop, w) for w in windows)


def test_flips_flip_and_differ_within_a_batch():
    image = torch.randint(0, 256, (1, 3, 6, 6), dtype=torch.uint8)
    batch = image.repeat(64, 1, 1, 1)
    out = crop_and_flip(batch, 6, flips=True, generator=torch.Generator().manual_seed(1))
    variants = {
        "none": image[0], "h": image[0].flip(-1), "v": image[0].flip(-2), "hv": image[0].flip(-1).flip(-2),
    }
    seen = {name for o in out for name, v in variants.items() if torch.equal(o, v)}
    assert seen == {"none", "h", "v", "hv"}
    assert all(any(torch.equal(o, v) for v in variants.values()) for o in out)


def test_one_gather_path_equals_crop_flip_then_rotate():
    """The fast nearest-neighbour path gives exactly crop_and_flip followed by rotate(nearest)."""
    from galaxy_pretraining.training.augment import crop_flip_rotate_nearest

    images = torch.randint(0, 256, (32, 3, 40, 40), dtype=torch.uint8)
    fast = crop_flip_rotate_nearest(images, 32, True, 180.0, torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    cropped = crop_and_flip(images, 32, True, g).float()
    degrees = (torch.rand(32, generator=g) * 2 - 1) * 180.0
    slow = rotate(cropped, degrees, "nearest")
    mismatch = (fast.float() != slow).float().mean().item()
    assert mismatch < 1e-4  # only pixels exactly half-way between two source pixels may round apart
    assert fast.dtype == torch.uint8


def test_the_compiled_gather_equals_the_eager_one():
    """training.compile: the compiled per-pixel arithmetic picks the same source pixels, from the same draws."""
    from galaxy_pretraining.training.augment import crop_flip_rotate_nearest

    images = torch.randint(0, 256, (16, 3, 40, 40), dtype=torch.uint8)
    eager = crop_flip_rotate_nearest(images, 32, True, 180.0, torch.Generator().manual_seed(3))
    compiled = crop_flip_rotate_nearest(images, 32, True, 180.0, torch.Generator().manual_seed(3), compiled=True)
    assert compiled.dtype == torch.uint8 and compiled.shape == eager.shape
    assert (compiled != eager).float().mean().item() < 1e-4  # half-way pixels may round apart, as above


def test_channel_shift_adds_one_value_per_image_to_all_channels_clipped_to_its_range():
    """Keras' channel_shift_range: one shift per image, within [-s, s], clipped to the image's own min and max."""
    from galaxy_pretraining.training.augment import shift_channels

    images = torch.full((64, 3, 8, 8), 100.0)
    images[:, :, 0, 0], images[:, :, 0, 1] = 20.0, 230.0  # each image's range: 20-230
    out = shift_channels(images, 50.0, torch.Generator().manual_seed(0))
    shifts = out[:, :, 2:, 2:] - 100.0
    per_image = shifts.flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image))  # the same for every pixel and channel
    assert per_image[:, 0].abs().max() <= 50.0 and per_image[:, 0].std() > 10  # drawn per image, spread out
    assert out.min() >= 20.0 and out.max() <= 230.0
    assert (out[:, :, 0, 1] == 230.0).float().mean() > 0.3  # a positive shift cannot lift the brightest pixel


def test_a_mean_and_std_normalise_as_the_named_normalisation_does():
    batch = torch.rand(2, 3, 8, 8)
    as_values = normalize(batch, {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "source": "x"})
    assert torch.allclose(as_values, normalize(batch, "imagenet"))
    assert torch.allclose(normalize(batch, {"mean": [0.5] * 3, "std": [0.5] * 3}), batch * 2 - 1)
    with pytest.raises(ValueError, match="'weights' is resolved when the model is built"):
        normalize(batch, "weights")
