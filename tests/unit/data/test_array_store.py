"""The array store's image modes: every mode reaches 8 bits by the stated rule (array_store.rgb8), or is refused
naming the file and its mode; never a silent clip."""

import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxy_pretraining.data.array_store import ImageModeError, load_image, write_array_store
from galaxy_pretraining.data.kinds import build_catalog

from helpers.configs import data_block
from helpers.paths import DATA

CASES = DATA / "cases"


def gradient16(size: int = 40) -> np.ndarray:
    """A 16-bit grayscale galaxy-like frame spanning most of 0-65535."""
    y, x = np.mgrid[:size, :size] - size / 2
    return (60000 * np.exp(-np.hypot(x, y) / (size / 6)) + 1000).astype(np.uint16)


def eight_bit_version(values16: np.ndarray) -> np.ndarray:
    """What a user's own conversion to 8 bits gives: each value's high byte (value >> 8)."""
    return (values16 >> 8).astype(np.uint8)


def png48(path: Path, rgb16: np.ndarray) -> None:
    """A 16-bit-per-channel RGB PNG written byte by byte (PIL cannot write one)."""
    height, width, _ = rgb16.shape
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in rgb16)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_a_16_bit_image_and_its_8_bit_version_give_the_same_pixels(tmp_path, fmt):
    values = gradient16()
    Image.fromarray(values).save(tmp_path / f"wide.{fmt}")
    Image.fromarray(eight_bit_version(values)).save(tmp_path / "narrow.png")
    assert Image.open(tmp_path / f"wide.{fmt}").mode.startswith("I;16")
    wide, narrow = load_image(tmp_path / f"wide.{fmt}", 40), load_image(tmp_path / "narrow.png", 40)
    assert np.abs(wide.astype(int) - narrow.astype(int)).max() <= 1  # one rounding step
    assert wide.max() > 200 and (wide == 255).mean() < 0.01  # not clipped to white


def test_a_16_bit_colour_png_and_its_8_bit_version_give_the_same_pixels(tmp_path):
    values = np.stack([gradient16(), gradient16() // 2, gradient16() // 4], axis=-1)
    png48(tmp_path / "wide.png", values)
    Image.fromarray(eight_bit_version(values)).save(tmp_path / "narrow.png")
    wide, narrow = load_image(tmp_path / "wide.png", 40), load_image(tmp_path / "narrow.png", 40)
    assert np.abs(wide.astype(int) - narrow.astype(int)).max() <= 1


def test_32_bit_integer_and_float_modes_follow_the_rule(tmp_path):
    values = gradient16()
    Image.fromarray(values.astype(np.int32), mode="I").save(tmp_path / "int32.tiff")
    Image.fromarray((values / 65535).astype(np.float32), mode="F").save(tmp_path / "float.tiff")
    Image.fromarray(np.rint(values / 257).astype(np.uint8)).save(tmp_path / "narrow.png")
    narrow = load_image(tmp_path / "narrow.png", 40)
    for name in ("int32.tiff", "float.tiff"):
        assert Image.open(tmp_path / name).mode in ("I", "F")
        assert np.abs(load_image(tmp_path / name, 40).astype(int) - narrow.astype(int)).max() <= 1, name


@pytest.mark.parametrize("name, pixels, mode", [
    ("bright.tiff", np.full((8, 8), 3.5, np.float32), "F"),
    ("negative.tiff", np.full((8, 8), -2, np.int32), "I"),
    ("wide.tiff", np.full((8, 8), 70000, np.int32), "I"),
])
def test_values_outside_the_modes_range_are_refused_naming_file_and_mode(tmp_path, name, pixels, mode):
    Image.fromarray(pixels, mode=mode).save(tmp_path / name)
    with pytest.raises(ImageModeError, match=rf"{name}: image mode '{mode}'"):
        load_image(tmp_path / name, 8)


def test_a_failing_image_leaves_no_store_behind(tmp_path):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "good.png")
    Image.fromarray(np.full((8, 8), 9.0, np.float32), mode="F").save(tmp_path / "bad.tiff")
    with pytest.raises(ImageModeError, match="bad.tiff"):
        write_array_store([str(tmp_path / "good.png"), str(tmp_path / "bad.tiff")], tmp_path / "images.npy", 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tiff", "good.png"]


def test_case_png_16bit_store_is_not_clipped_to_white(tmp_path):
    """Case png-16bit: 40 16-bit grayscale PNGs; the store was 99.4 % pixels at 255, now the images' own light."""
    case = CASES / "png-16bit"
    data = data_block("folder", table=str(case / "labels.csv"), image_dir=str(case / "images"),
                      image_pattern="{id}.png", class_map={"elliptical": [0], "spiral": [1]})
    catalog = build_catalog(data, ["elliptical", "spiral"], {"raw": data["folder"]["table"]})
    write_array_store(catalog["image_path"].tolist(), tmp_path / "images.npy", 32)
    store = np.load(tmp_path / "images.npy")
    assert store.shape == (40, 3, 32, 32)
    assert (store == 255).mean() < 0.001
    for i, path in enumerate(catalog["image_path"]):
        values = np.asarray(Image.open(path))
        expected = np.rint(values / 257).astype(np.uint8)
        assert np.array_equal(store[i, 0], expected) and np.array_equal(store[i, 2], expected)
    assert pd.Series(store.reshape(-1)).nunique() > 100
