"""The array store: every image decoded once, resized, stacked as N x 3 x S x S uint8.

Training reads this one file (memory-mapped), never JPEGs. Row i of the store
is row i of the catalog. With a `crop` (config key image_crop) the store holds
each image's central crop of that many of its own pixels, resized to S: the
part of the image a study ever looks at, at the resolution it needs (Zhu et
al.'s views reach at most 240 of Galaxy Zoo 2's 424 pixels, so 240 of 240
keeps every pixel they use at full resolution in a third of the bytes).

Image modes: every image becomes 8-bit RGB by one stated rule (rgb8), never
by a silent clip. Images of 8 bits per channel (PIL modes 1, L, P, RGB,
CMYK, ...) are converted by PIL as they are (with transparency: below). Grayscale images of more bits
are scaled from their type's full range to 0-255 and rounded to the nearest
step: 16-bit (I;16*, and I, the 32-bit mode PIL gives some 16-bit files,
whose values must then lie in 0-65535) by 255/65535, i.e. value / 257;
32-bit float (F) from 0.0-1.0 by 255. A value outside that range, a NaN, or
any other mode is an ImageModeError naming the file, its mode and the range
found. (PIL itself reads 16-bit-per-channel colour PNGs and TIFFs as RGB,
keeping each value's high byte.)

Transparency: an image that carries it (an alpha channel: RGBA, LA, PA; or a
transparent colour, PNG's tRNS: P, L, RGB, 1 and 16-bit grayscale) is
composited onto black, the sky: each pixel's colour times its alpha / 255,
rounded. A transparent pixel is no data, as a cutout's black no-data area is
(screening.py: the folder kind's images are screened after compositing).

Shape: a non-square image is never stretched. With no `crop` it is made
square first by the rule `square` (config key non_square_images): `pad`
centres it on a black square of its longer side (every pixel kept, the
padding reads as no data), `crop` keeps its central square of its shorter
side; then it is resized. With a `crop` the central crop is square already.

What each rule touched is counted in the store's log (one line), and listed
per image in the table write_array_store returns (image_checks.parquet).
Identical images (the same decoded pixels, after compositing) under two
rows are found as the store is built: an error naming the pairs, a warning,
or a warning and the second copy dropped (`duplicates`, config key
duplicate_images). A dropped row is left out of the store, and the store
rule writes the catalog of the kept rows, which the splits are drawn from.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from ..errors import NotRetryable
from ..io import npy_rows
from .screening import judge_frame

log = logging.getLogger(__name__)


class ImageDecodeError(ValueError):
    """An image file that cannot be decoded fully."""


class ImageModeError(ImageDecodeError):
    """An image whose pixel mode has no rule to 8 bits, or whose values lie outside its mode's range."""


class ImageCheckError(NotRetryable, ValueError):
    """Images that must not enter the store as they are: identical images under two ids, or no-data frames."""


SQUARE_RULES = ("pad", "crop")
# Modes with an alpha channel; other modes carry transparency as one transparent colour (info["transparency"]).
ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


@dataclass(frozen=True)
class ImageFacts:
    """What decoding one image found.

    Its size, its transparent pixels, how it was made square and its content.
    """

    width: int
    height: int
    transparent_pixels: int  # pixels with alpha < 255, composited onto black
    squared: str  # "pad" or "crop" when it was not square (and no image_crop applied), else ""
    digest: str  # blake2b of the decoded 8-bit RGB pixels (after compositing) and their size
    no_data: str  # the screening's reason (blank or partial) when screened and flagged, else ""


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


def _alpha(image: Image.Image) -> np.ndarray | None:
    """The image's alpha (H x W uint8) when its mode can carry transparency and it says so; None otherwise."""
    transparency = image.info.get("transparency")
    if image.mode in WIDE_MODE_RANGES:
        if transparency is None or image.mode == "F":
            return None
        return np.where(np.asarray(image) == transparency, 0, 255).astype(np.uint8)
    if image.mode in ALPHA_MODES or (transparency is not None and image.mode in EIGHT_BIT_MODES):
        return np.asarray(image.convert("RGBA").getchannel("A"))
    return None


def decode_rgb(image: Image.Image, where: str) -> tuple[Image.Image, int]:
    """`image` as 8-bit RGB with transparency composited onto black, and its transparent pixels.

    `image` as 8-bit RGB (rgb8) with any transparency composited onto black, and how many pixels were transparent
    (alpha < 255): the module's rule (its docstring, "Transparency").
    """
    alpha = _alpha(image)
    if alpha is None or alpha.min() == 255:
        return rgb8(image, where), 0
    colour = image.convert("RGBA").convert("RGB") if image.mode not in WIDE_MODE_RANGES else rgb8(image, where)
    pixels = np.asarray(colour, dtype=np.uint32)
    composited = (pixels * alpha[..., None] + 127) // 255
    return Image.fromarray(composited.astype(np.uint8), "RGB"), int((alpha < 255).sum())


def _squared(image: Image.Image, square: str) -> Image.Image:
    """A non-square RGB image made square by `square`: pad (centred on black) or crop (its central square)."""
    width, height = image.size
    if square == "pad":
        side = max(width, height)
        canvas = Image.new("RGB", (side, side))
        canvas.paste(image, ((side - width) // 2, (side - height) // 2))
        return canvas
    if square == "crop":
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        return image.crop((left, top, left + side, top + side))
    raise ValueError(f"non_square_images: unknown rule {square!r}; use one of {SQUARE_RULES}")


def _resized(image: Image.Image, size: int, crop: int | None = None, where: str = "",
             square: str = "pad") -> np.ndarray:
    """An RGB image as 3 x size x size uint8.

    Its central crop x crop pixels when `crop` is given, else made square by `square` (pad or crop) when it is not,
    resized (bilinear, with antialiasing) when that is another size.
    """
    if crop is None and image.size[0] != image.size[1]:
        image = _squared(image, square)
    if crop is not None:
        width, height = image.size
        if width < crop or height < crop:
            raise ImageDecodeError(f"{where}: the image is {width} x {height} pixels, smaller than image_crop ({crop})")
        left, top = (width - crop) // 2, (height - crop) // 2
        image = image.crop((left, top, left + crop, top + crop))
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
    return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)


def _prepared(image: Image.Image, transparent: int, size: int, crop: int | None, square: str, where: str,
              screen: Mapping | None) -> tuple[np.ndarray, ImageFacts]:
    """A decoded RGB image as its store row, and its facts.

    A decoded RGB image as its store row, and its facts (screened first when `screen` gives the no-data settings:
    blank_max_std, max_no_data_fraction, centre).
    """
    pixels = np.asarray(image, dtype=np.uint8)
    digest = hashlib.blake2b(f"{image.size[0]}x{image.size[1]}\0".encode() + pixels.tobytes(), digest_size=16)
    no_data = ""
    if screen is not None:
        status, reason = judge_frame(pixels, screen["blank_max_std"], screen["max_no_data_fraction"],
                                     screen.get("centre", "any"))
        no_data = reason if status != "ok" else ""
    squared = square if crop is None and image.size[0] != image.size[1] else ""
    facts = ImageFacts(image.size[0], image.size[1], transparent, squared, digest.hexdigest(), no_data)
    return _resized(image, size, crop, where, square), facts


def decode_image(path: os.PathLike, size: int, crop: int | None = None, square: str = "pad",
                 screen: Mapping | None = None) -> tuple[np.ndarray, ImageFacts]:
    """One image file as its store row (3 x size x size uint8 RGB) and what decoding it found (ImageFacts).

    Decoded fully, brought to 8 bits by rgb8, transparency composited onto
    black, made square by `square` (unless `crop` is given: its central crop
    pixels), resized with antialiasing. Raises ImageDecodeError (ImageModeError
    for a mode without a rule to 8 bits) naming the file.
    """
    try:
        with Image.open(path) as image:
            rgb, transparent = decode_rgb(image, str(path))
            return _prepared(rgb, transparent, size, crop, square, str(path), screen)
    except ImageDecodeError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ImageDecodeError(f"{path}: cannot decode image ({error})") from None


def load_image(path: os.PathLike, size: int, crop: int | None = None, square: str = "pad") -> np.ndarray:
    """One image as 3 x size x size uint8 RGB, exactly as the store holds it.

    decode_image without the image's facts.
    """
    return decode_image(path, size, crop, square)[0]


def hdf5_reference(path: str) -> tuple[str, str, int] | None:
    """(file, dataset, row) of an image inside an HDF5 file; None for an ordinary image file.

    Galaxy10 DECaLS' catalog names such an image `<file>#<dataset>/<row>`.
    """
    file, hash_, reference = str(path).rpartition("#")
    dataset, slash, row = reference.rpartition("/")
    return (file, dataset, int(row)) if hash_ and slash and row.isdigit() else None


def resize_pixels(pixels: np.ndarray, size: int, where: str, crop: int | None = None, square: str = "pad") -> np.ndarray:
    """An H x W x 3 uint8 image as 3 x size x size.

    Cropped and resized as load_image does with decoded files.
    """
    return _pixels_row(pixels, size, where, crop, square)[0]


def _pixels_row(pixels: np.ndarray, size: int, where: str, crop: int | None = None, square: str = "pad",
                screen: Mapping | None = None) -> tuple[np.ndarray, ImageFacts]:
    """An H x W x 3 uint8 image as its store row and its facts, as decode_image gives them for files."""
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ImageDecodeError(f"{where}: expected an H x W x 3 uint8 image, found {pixels.dtype} {pixels.shape}")
    return _prepared(Image.fromarray(pixels), 0, size, crop, square, where, screen)


# Images decoded at once: 256 Galaxy10 images are 50 MB (not the HDF5 file's 3.5 GB), 256 Galaxy Zoo JPEGs
# 138 MB decoded. The writer holds at most one such chunk, whatever the number of threads.
CHUNK_ROWS = 256


def _file_images(paths: list[str], size: int, crop: int | None, pool: ThreadPoolExecutor, square: str = "pad",
                 screen: Mapping | None = None):
    """The images of `paths` (store row, facts), decoded by `pool` a chunk at a time, in order."""
    for start in range(0, len(paths), CHUNK_ROWS):
        yield from pool.map(lambda path: decode_image(path, size, crop, square, screen),
                            paths[start : start + CHUNK_ROWS])


def _hdf5_images(references: list[tuple[str, str, int]], size: int, crop: int | None, pool: ThreadPoolExecutor,
                 square: str = "pad", screen: Mapping | None = None):
    """The referenced images (store row, facts), resized by `pool`, in order.

    Read from each file a chunk of rows at a time.
    """
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
            yield from pool.map(lambda args: _pixels_row(*args, crop, square, screen),
                                zip(block, [size] * len(chunk), where))
    finally:
        for handle in handles.values():
            handle.close()


def _named(ids: Sequence[str], paths: Sequence[str], row: int) -> str:
    return f"{ids[row]} ({paths[row]})"


def dropped_because(copy: bool, no_data: str, duplicates: str, screen: Mapping | None) -> str:
    """Why the store drops an image ("" when it keeps it).

    A copy of an earlier image with duplicates "drop", a no-data frame with screen["no_data_images"] "drop".
    """
    if copy and duplicates == "drop":
        return "identical image of another galaxy"
    if no_data and screen is not None and screen["no_data_images"] == "drop":
        return "no data"
    return ""


def image_checks(facts: Sequence[ImageFacts], paths: Sequence[str], ids: Sequence[str] | None = None,
                 duplicates: str = "error", screen: Mapping | None = None) -> pd.DataFrame:
    """The checks of a store's images as a table (one row per image), logged in one line.

    Raises ImageCheckError naming the pairs of identical images (duplicates "error") or the no-data frames
    (screen["no_data_images"] "error"), or logs them as warnings naming them ("warn", and "drop": dropped).

    Columns: row (in the listed catalog), id, image_path, width, height,
    transparent_pixels, squared (pad, crop or ""), copy_of (the id of the
    first row with the same decoded pixels, or ""), no_data (the screening's
    reason, or ""), dropped (dropped_because: why the store left it out, or "").
    """
    ids = [str(i) for i in ids] if ids is not None else [str(i) for i in range(len(paths))]
    first: dict[str, int] = {}
    copies = {}
    for row, found in enumerate(facts):
        if found.no_data:  # a blank frame shows no galaxy: the no-data rule decides it, not this one
            continue
        earlier = first.setdefault(found.digest, row)
        if earlier != row:
            copies[row] = earlier
    table = pd.DataFrame({
        "row": np.arange(len(facts), dtype=np.int64), "id": ids, "image_path": [str(p) for p in paths],
        "width": [f.width for f in facts], "height": [f.height for f in facts],
        "transparent_pixels": [f.transparent_pixels for f in facts], "squared": [f.squared for f in facts],
        "copy_of": [ids[copies[row]] if row in copies else "" for row in range(len(facts))],
        "no_data": [f.no_data for f in facts]})
    table["dropped"] = [dropped_because(bool(copy), no_data, duplicates, screen)
                        for copy, no_data in zip(table["copy_of"], table["no_data"])]
    transparent, squared = table[table["transparent_pixels"] > 0], table[table["squared"] != ""]
    share = transparent["transparent_pixels"].sum() / max(int((transparent["width"] * transparent["height"]).sum()), 1)
    sizes = " ".join(f"{w}x{h}" for w, h in sorted(set(zip(squared["width"], squared["height"])))[:5]) or "none"
    # only the folder kind's images are screened for no data
    no_data = int((table["no_data"] != "").sum()) if screen is not None else "not screened"
    log.info("array store: images checked (images=%d, transparent=%d, transparent_pixel_share=%.1f%%, padded=%d, "
             "cropped=%d, non_square_sizes=%s, identical=%d, no_data=%s, dropped=%d)", len(table), len(transparent),
             100 * share, int((squared["squared"] == "pad").sum()), int((squared["squared"] == "crop").sum()), sizes,
             len(copies), no_data, int((table["dropped"] != "").sum()))
    pairs = [f"{_named(ids, paths, earlier)} and {_named(ids, paths, row)}" for row, earlier in copies.items()]
    if pairs:
        message = (f"{len(pairs)} image(s) identical to another row's (the same galaxy under two ids; splits would put "
                   f"one copy in training and the other in test): {'; '.join(pairs[:10])}"
                   + (f"; and {len(pairs) - 10} more" if len(pairs) > 10 else ""))
        if duplicates == "error":
            raise ImageCheckError(message + ". Remove one row of each pair from the sample table, or set "
                                  "duplicate_images: drop to leave out the second of each (warn keeps both)")
        log.warning("array store: %s (%s)", message, "duplicate_images: drop leaves out the second of each pair"
                    if duplicates == "drop" else "duplicate_images: warn keeps both")
    flagged = [f"{_named(ids, paths, r)}: {reason}" for r, reason in enumerate(table["no_data"]) if reason]
    if flagged:
        message = f"{len(flagged)} image(s) with no data where a galaxy should be: {'; '.join(flagged[:10])}" + (
            f"; and {len(flagged) - 10} more" if len(flagged) > 10 else "")
        if screen is not None and screen["no_data_images"] == "error":
            raise ImageCheckError(message + ". Remove their rows from the sample table (or replace the images), or "
                                  "set data.folder.no_data_images: drop (or warn, to keep them)")
        log.warning("array store: %s (no_data_images: %s)", message, "drop leaves them out of the catalog and the store"
                    if screen is not None and screen["no_data_images"] == "drop" else "warn keeps them")
    if len(table) and (table["dropped"] != "").all():
        reasons = ", ".join(f"{reason}: {n}" for reason, n in table["dropped"].value_counts().sort_index().items())
        raise ImageCheckError(f"every one of the {len(table)} images was dropped ({reasons}): nothing is left to "
                              "train on; image_checks.parquet names each image and its reason")
    return table


def write_array_store(image_paths: list[str], target: os.PathLike, size: int, threads: int = 1,
                      crop: int | None = None, *, square: str = "pad", duplicates: str = "error",
                      screen: Mapping | None = None, ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Decode every image into one .npy store, written atomically; returns the checks of every image.

    Args:
        image_paths: the images, in the catalog's order (files, or `<file>#<dataset>/<row>` in an HDF5 file).
        target: the .npy file to write.
        size: the side of each stored image, in pixels.
        threads: the decoding workers.
        crop: the side of the central square each image is cut to before resizing; None: the whole image.
        square: how a non-square image is made square: "pad" or "crop".
        duplicates: identical images under two rows: "error", "warn" or "drop".
        screen: the folder kind's no-data settings; None: no screening.
        ids: the rows' names in messages and in the table; None: row numbers.

    Returns:
        The checks of every image (image_checks), one row each.

    The file is written under a temporary name and renamed.

    Images are decoded by `threads` workers a chunk of CHUNK_ROWS at a time;
    images inside an HDF5 file (`<file>#<dataset>/<row>`) are read from it a
    chunk of rows at a time. A non-square image is made square by `square`
    (pad or crop, the module's "Shape"). Identical decoded images under two
    rows are an ImageCheckError naming the pairs (`duplicates` "error"), a
    warning ("warn"), or a warning and the second of each left out ("drop");
    with `screen` (the folder kind's no-data settings: blank_max_std,
    max_no_data_fraction, centre, no_data_images "error", "warn" or "drop") a
    blank or partial frame is the same. The store holds the kept rows in
    order (the table's `dropped` says which are not: catalog.stored_catalog
    makes the catalog that matches). `ids` name the rows in messages and in
    the table (default: row numbers). On an error no store is written.
    The file is written by io.npy_rows: its space
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
                images = _hdf5_images(references, size, crop, pool, square, screen)
            else:
                images = _file_images(list(image_paths), size, crop, pool, square, screen)
            facts, seen, kept = [], set(), 0
            for pixels, found in tqdm(images, total=len(image_paths), desc="array store", unit="img"):
                facts.append(found)
                copy = not found.no_data and found.digest in seen
                if not dropped_because(copy, found.no_data, duplicates, screen):
                    store[kept] = pixels
                    kept += 1
                if not found.no_data:
                    seen.add(found.digest)
        checks = image_checks(facts, image_paths, ids, duplicates, screen)
        store.keep_first(kept)
    return checks


def read_rows(path: os.PathLike, rows: np.ndarray) -> np.ndarray:
    """Rows of the store, read with plain file reads rather than a memory map.

    Rows of the store read with plain file reads (not a memory map, whose pages would count as the process's
    memory): a chunk of the data set costs its own size and nothing more.
    """
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
