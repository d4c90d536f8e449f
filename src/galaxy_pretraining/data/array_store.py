"""The array store: every image decoded once, resized, stacked as N x 3 x S x S uint8.

Training reads this one file (memory-mapped), never JPEGs. Row i of the store
is row i of the catalog. With a `crop` (config key image_crop) the store holds
each image's central crop of that many of its own pixels, resized to S: the
part of the image a study ever looks at, at the resolution it needs (Zhu et
al.'s views reach at most 240 of Galaxy Zoo 2's 424 pixels, so 240 of 240
keeps every pixel they use at full resolution in a third of the bytes).

Image modes: every image becomes 8-bit RGB by one stated rule (rgb8), never
by a silent clip. Images of 8 bits per channel (PIL modes 1, L, P, RGB, RGBA,
CMYK, ...) are converted by PIL as they are. Grayscale images of more bits
are scaled from their type's full range to 0-255 and rounded to the nearest
step: 16-bit (I;16*, and I, the 32-bit mode PIL gives some 16-bit files,
whose values must then lie in 0-65535) by 255/65535, i.e. value / 257;
32-bit float (F) from 0.0-1.0 by 255. A value outside that range, a NaN, or
any other mode is an ImageModeError naming the file, its mode and the range
found. (PIL itself reads 16-bit-per-channel colour PNGs and TIFFs as RGB,
keeping each value's high byte.)
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..io import npy_rows


class ImageDecodeError(ValueError):
    """An image file that cannot be decoded fully."""


class ImageModeError(ImageDecodeError):
    """An image whose pixel mode has no stated rule to 8 bits, or whose values lie outside its mode's range."""


# PIL modes of 8 (or 1) bits per channel: PIL's convert("RGB") loses nothing of their range.
EIGHT_BIT_MODES = frozenset({"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"})
# Grayscale modes of more bits: the values that map to 0 and 255 (the type's full range).
WIDE_MODE_RANGES = {"I;16": (0, 65535), "I;16L": (0, 65535), "I;16B": (0, 65535), "I;16N": (0, 65535),
                    "I": (0, 65535), "F": (0.0, 1.0)}


def rgb8(image: Image.Image, where: str) -> Image.Image:
    """`image` as an 8-bit RGB PIL image by the module's stated rule (its docstring, "Image modes").

    8-bit modes are converted by PIL; 16-bit grayscale (I;16*, and I holding
    values in 0-65535) is scaled by 255/65535 and 32-bit float (F) holding
    0.0-1.0 by 255, each rounded to the nearest 8-bit step (so a 16-bit image
    and its 8-bit version round(value / 257) give the same pixels). Raises
    ImageModeError naming `where` (the file) and the mode for any other mode,
    a NaN, or a value outside the mode's range; nothing is clipped.
    """
    if image.mode == "RGB":
        return image
    if image.mode in EIGHT_BIT_MODES:
        return image.convert("RGB")
    if image.mode not in WIDE_MODE_RANGES:
        raise ImageModeError(f"{where}: image mode {image.mode!r} has no rule to 8 bits (known: 8-bit modes, "
                             f"16-bit grayscale I;16 and I, 32-bit float F); convert the file to 8-bit RGB")
    low, high = WIDE_MODE_RANGES[image.mode]
    values = np.asarray(image).astype(np.float64)
    found_low, found_high = (float(values.min()), float(values.max())) if values.size else (low, high)
    if not (np.isfinite(found_low) and np.isfinite(found_high)) or found_low < low or found_high > high:
        kind = "32-bit float" if image.mode == "F" else "16-bit"
        raise ImageModeError(f"{where}: image mode {image.mode!r} ({kind}) must hold values in {low}-{high} to be "
                             f"scaled to 8 bits; this one holds {found_low:g}-{found_high:g} (or NaN): rescale it")
    scaled = np.rint((values - low) * (255.0 / (high - low))).astype(np.uint8)
    return Image.fromarray(scaled).convert("RGB")


def _resized(image: Image.Image, size: int, crop: int | None = None, where: str = "") -> np.ndarray:
    """An RGB image as 3 x size x size uint8: its central crop x crop pixels when `crop` is given, resized
    (bilinear, with antialiasing) when that is another size."""
    if crop is not None:
        width, height = image.size
        if width < crop or height < crop:
            raise ImageDecodeError(f"{where}: the image is {width} x {height} pixels, smaller than image_crop ({crop})")
        left, top = (width - crop) // 2, (height - crop) // 2
        image = image.crop((left, top, left + crop, top + crop))
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
    return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)


def load_image(path: os.PathLike, size: int, crop: int | None = None) -> np.ndarray:
    """One image as 3 x size x size uint8 RGB, decoded fully and brought to 8 bits by rgb8, its central `crop`
    pixels (when given) resized with antialiasing.

    Raises ImageDecodeError (ImageModeError for a mode without a rule to 8
    bits) naming the file.
    """
    try:
        with Image.open(path) as image:
            return _resized(rgb8(image, str(path)), size, crop, str(path))
    except ImageDecodeError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ImageDecodeError(f"{path}: cannot decode image ({error})") from None


def hdf5_reference(path: str) -> tuple[str, str, int] | None:
    """(file, dataset, row) of an image path `<file>#<dataset>/<row>` (an image inside an HDF5 file, as
    Galaxy10 DECaLS' catalog names them); None for an ordinary image file."""
    file, hash_, reference = str(path).rpartition("#")
    dataset, slash, row = reference.rpartition("/")
    return (file, dataset, int(row)) if hash_ and slash and row.isdigit() else None


def resize_pixels(pixels: np.ndarray, size: int, where: str, crop: int | None = None) -> np.ndarray:
    """An H x W x 3 uint8 image as 3 x size x size, cropped and resized as load_image does with decoded files."""
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ImageDecodeError(f"{where}: expected an H x W x 3 uint8 image, found {pixels.dtype} {pixels.shape}")
    return _resized(Image.fromarray(pixels), size, crop, where)


# Images decoded at once: 256 Galaxy10 images are 50 MB (not the HDF5 file's 3.5 GB), 256 Galaxy Zoo JPEGs
# 138 MB decoded. The writer holds at most one such chunk, whatever the number of threads.
CHUNK_ROWS = 256


def _file_images(paths: list[str], size: int, crop: int | None, pool: ThreadPoolExecutor):
    """The images of `paths`, decoded by `pool` a chunk at a time, in order."""
    for start in range(0, len(paths), CHUNK_ROWS):
        yield from pool.map(lambda path: load_image(path, size, crop), paths[start : start + CHUNK_ROWS])


def _hdf5_images(references: list[tuple[str, str, int]], size: int, crop: int | None, pool: ThreadPoolExecutor):
    """The referenced images, resized by `pool`, in order; read from each file a chunk of rows at a time."""
    import h5py

    handles = {}
    try:
        for start in range(0, len(references), CHUNK_ROWS):
            chunk = references[start : start + CHUNK_ROWS]
            for file, dataset, row in chunk:
                if file not in handles:
                    handles[file] = h5py.File(file, "r")
                if dataset not in handles[file] or not 0 <= row < handles[file][dataset].shape[0]:
                    raise ImageDecodeError(f"{file}: no image {dataset}/{row}")
            file, dataset, first = chunk[0]
            if chunk == [(file, dataset, first + i) for i in range(len(chunk))]:
                block = handles[file][dataset][first : first + len(chunk)]  # one contiguous read
            else:
                block = [handles[f][d][row] for f, d, row in chunk]
            where = [f"{f}#{d}/{row}" for f, d, row in chunk]
            yield from pool.map(lambda args: resize_pixels(*args, crop), zip(block, [size] * len(chunk), where))
    finally:
        for handle in handles.values():
            handle.close()


def write_array_store(image_paths: list[str], target: os.PathLike, size: int, threads: int = 1,
                      crop: int | None = None) -> None:
    """Decode every image (its central `crop` pixels, when given) into one .npy file, written under a
    temporary name and renamed.

    Images are decoded by `threads` workers a chunk of CHUNK_ROWS at a time;
    images inside an HDF5 file (`<file>#<dataset>/<row>`) are read from it a
    chunk of rows at a time. The file is written by io.npy_rows: its space
    is checked and reserved first (errors.NoSpaceLeft names the file, the
    space needed and free), SIGTERM removes the temporary file, and the
    temporary files of earlier, killed attempts are removed.
    """
    references = [hdf5_reference(p) for p in image_paths]
    if any(references) and not all(references):
        raise ValueError("the catalog mixes image files and images inside HDF5 files")
    with npy_rows(target, (len(image_paths), 3, size, size), np.uint8) as store:
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            if references and all(references):
                images = _hdf5_images(references, size, crop, pool)
            else:
                images = _file_images(list(image_paths), size, crop, pool)
            for i, pixels in enumerate(tqdm(images, total=len(image_paths), desc="array store", unit="img")):
                store[i] = pixels


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
