"""The array store: every image decoded once, resized, stacked as N x 3 x S x S uint8.

Training reads this one file (memory-mapped), never JPEGs. Row i of the store
is row i of the catalog.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap
from PIL import Image
from tqdm import tqdm

from .io import atomic_path


class ImageDecodeError(ValueError):
    """An image file that cannot be decoded fully."""


def load_image(path: os.PathLike, size: int) -> np.ndarray:
    """One image as 3 x size x size uint8 RGB, decoded fully, resized with antialiasing."""
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if image.size != (size, size):
                image = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
            pixels = np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ImageDecodeError(f"{path}: cannot decode image ({error})") from None
    return pixels.transpose(2, 0, 1)


def write_array_store(image_paths: list[str], target: os.PathLike, size: int, threads: int = 1) -> None:
    """Decode every image into one .npy file, written under a temporary name and renamed."""
    with atomic_path(target) as tmp:
        store = open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(image_paths), 3, size, size))
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            images = pool.map(lambda p: load_image(p, size), image_paths)
            for i, pixels in enumerate(tqdm(images, total=len(image_paths), desc="array store", unit="img")):
                store[i] = pixels
        store.flush()
        del store


def read_rows(path: os.PathLike, rows: np.ndarray) -> np.ndarray:
    """Rows of the store read with plain file reads (not a memory map, whose pages would count as
    the process's memory): a chunk of the data set costs its own size and nothing more."""
    with open(path, "rb") as stream:
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(stream)
        offset = stream.tell()
        row_bytes = int(np.prod(shape[1:])) * dtype.itemsize
        out = np.empty((len(rows), *shape[1:]), dtype=dtype)
        view = out.reshape(len(rows), -1).view(np.uint8)
        for i, row in enumerate(np.asarray(rows)):
            if not 0 <= row < shape[0]:
                raise IndexError(f"{path}: row {row} outside the store's {shape[0]} rows")
            data = os.pread(stream.fileno(), row_bytes, offset + int(row) * row_bytes)
            view[i] = np.frombuffer(data, dtype=np.uint8)
    return out


def open_array_store(path: os.PathLike) -> np.ndarray:
    """The array store, memory-mapped read-only (no copy in host memory)."""
    store = np.load(Path(path), mmap_mode="r")
    if store.ndim != 4 or store.shape[1] != 3 or store.dtype != np.uint8:
        raise ValueError(f"{path}: expected an N x 3 x S x S uint8 array, found {store.dtype} {store.shape}")
    return store
