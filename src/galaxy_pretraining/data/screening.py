"""No-data screening of a decoded frame: blank frames, and frames whose sky or centre has no data.

One rule for every image that is screened: the SDSS cutouts as they are
downloaded (kinds/nair_abraham/sdss.py) and the `folder` kind's images as the
array store decodes them (array_store.write_array_store), so both flag the
same frames the same way.

- blank: the grayscale pixel values (0-255, PIL's "L") have a standard
  deviation below `blank_max_std` (a black or one-grey frame has 0).
- partial: more than `max_no_data_fraction` of the frame has no data, or a
  pixel of its centre box (CENTRE_HALF_WIDTH of the side on each side of the
  centre, on both axes) has none. A pixel has no data when it lies in a square
  of NO_DATA_WINDOW x NO_DATA_WINDOW pixels that are all exactly black (0 in
  every channel): real sky, however dark, is noisy and JPEG-coded, so it
  almost never holds such a square (no_data_mask). Transparent pixels, which
  the array store composites onto black, count as no data the same way.

The folder kind's screening is lighter in two stated ways (its config keys):
max_no_data_fraction defaults to 1 (no limit on masked sky), and its centre
rule flags a frame only when its whole centre box has no data (no galaxy at
the centre, e.g. the cutout service's error text on black).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

# Side, pixels, of the all-black squares that make a pixel "no data" (no_data_mask): a 16 x 16 JPEG macroblock
# of noisy sky is never exactly black; 15 (odd) keeps the squares centred.
NO_DATA_WINDOW = 15
# The centre box that must be covered by data: this fraction of the frame's side on each side of its centre.
CENTRE_HALF_WIDTH = 0.1


def no_data_mask(pixels: np.ndarray) -> np.ndarray:
    """Which pixels of an H x W x 3 uint8 frame have no data: an H x W bool array.

    A pixel has no data when it lies inside some NO_DATA_WINDOW-pixel square,
    wholly within the frame, whose pixels are all exactly black (0 in every
    channel): the morphological opening of the black pixels by that square.
    """
    black = ((pixels[..., 0] | pixels[..., 1] | pixels[..., 2]) == 0).astype(np.uint8)  # as max(axis=2) == 0, faster
    if int(black.sum()) < NO_DATA_WINDOW * NO_DATA_WINDOW:  # too few black pixels to fill one square: none
        return np.zeros(black.shape, dtype=bool)
    eroded = ndimage.minimum_filter(black, size=NO_DATA_WINDOW, mode="constant", cval=0)
    return ndimage.maximum_filter(eroded, size=NO_DATA_WINDOW, mode="constant", cval=0).astype(bool)


def _centre_box(mask: np.ndarray) -> np.ndarray:
    """The centre box of an H x W mask.

    CENTRE_HALF_WIDTH of the side (at least one pixel) on each side of the centre, on both axes.
    """
    height, width = mask.shape
    rows, cols = max(1, round(height * CENTRE_HALF_WIDTH)), max(1, round(width * CENTRE_HALF_WIDTH))
    return mask[height // 2 - rows : height // 2 + rows + 1, width // 2 - cols : width // 2 + cols + 1]


def no_data_share(pixels: np.ndarray) -> tuple[float, bool]:
    """(fraction of the frame with no data, 0-1; whether the centre box has a pixel with no data).

    `pixels` is H x W x 3 uint8.
    """
    mask = no_data_mask(pixels)
    return float(mask.mean()), bool(_centre_box(mask).any())


def judge_frame(pixels: np.ndarray, blank_max_std: float, max_no_data_fraction: float,
                centre: str = "any") -> tuple[str, str]:
    """(status, reason) of an H x W x 3 uint8 frame: ok, blank or partial.

    The module docstring defines each status; the reason is "" when ok.

    `centre` "any": a frame with no data in any pixel of its centre box is
    partial (the downloads' rule); "all": only one with no data in all of it
    (the folder kind's lighter rule: a small galaxy on a masked sky covers the
    centre but not the whole box).
    """
    gray = np.asarray(Image.fromarray(pixels, "RGB").convert("L"), dtype=np.float32)
    spread = float(gray.std())
    if spread < blank_max_std:
        return "blank", f"blank: grayscale std {spread:.2f} < blank_max_std {blank_max_std:g}"
    mask = no_data_mask(pixels)
    fraction, box = float(mask.mean()), _centre_box(mask)
    centre_missing = bool(box.all() if centre == "all" else box.any())
    if fraction > max_no_data_fraction or centre_missing:
        return "partial", (f"partial: {fraction:.1%} of the frame has no data (max_no_data_fraction "
                           f"{max_no_data_fraction:g})" + ("; the centre is not covered" if centre_missing else ""))
    return "ok", ""
