"""Morphological classes of the study and the Nair & Abraham TType mapping.

The mapping is the one of Schneider, Stenning & Elliott (2023), read from their
published code: TType == -5 is elliptical, -3..0 lenticular, 1..9 spiral and
10 or 99 irregular+misc. Any other value is an error, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

CLASS_NAMES: tuple[str, ...] = ("elliptical", "lenticular", "spiral", "irregular+misc")

# Class counts of the paper's 14,034-galaxy sample, in CLASS_NAMES order.
PAPER_CLASS_COUNTS: dict[str, int] = {
    "elliptical": 2738,
    "lenticular": 3215,
    "spiral": 7708,
    "irregular+misc": 373,
}


class UnknownLabelError(ValueError):
    """A raw label that the configured class map does not cover."""


def ttype_to_class(ttype: float) -> int:
    """Class index (into CLASS_NAMES) of one Nair & Abraham TType value."""
    value = float(ttype)
    if value == -5:
        return 0
    if -3 <= value <= 0 and value == int(value):
        return 1
    if 1 <= value <= 9 and value == int(value):
        return 2
    if value in (10, 99):
        return 3
    raise UnknownLabelError(
        f"TType {ttype!r} has no class: the paper maps -5 to elliptical, "
        "-3..0 to lenticular, 1..9 to spiral and 10 or 99 to irregular+misc"
    )


def classes_from_ttypes(ttypes: Iterable[float], ids: Sequence | None = None) -> np.ndarray:
    """Class indices of many TType values; an error names the first bad row."""
    out = []
    for i, ttype in enumerate(ttypes):
        try:
            out.append(ttype_to_class(ttype))
        except UnknownLabelError as error:
            where = f"galaxy {ids[i]}" if ids is not None else f"row {i}"
            raise UnknownLabelError(f"{where}: {error}") from None
    return np.asarray(out, dtype=np.int64)


def classes_from_map(
    labels: Iterable, class_map: dict[str, Sequence], class_names: Sequence[str], ids: Sequence | None = None
) -> np.ndarray:
    """Class indices of raw labels through a config class map {class name: [raw labels]}.

    Used by the `folder` data set kind (bring your own sample). Raw labels are
    compared as strings so that 1 in a CSV and "1" in YAML are the same label.
    """
    unknown_names = [name for name in class_map if name not in class_names]
    if unknown_names:
        raise UnknownLabelError(f"class map names unknown classes {unknown_names}; classes are {list(class_names)}")
    lookup: dict[str, int] = {}
    for name, raw_labels in class_map.items():
        for raw in raw_labels:
            key = str(raw)
            if key in lookup:
                raise UnknownLabelError(f"raw label {raw!r} is mapped to two classes in the class map")
            lookup[key] = class_names.index(name)
    out = []
    for i, label in enumerate(labels):
        try:
            out.append(lookup[str(label)])
        except KeyError:
            where = f"galaxy {ids[i]}" if ids is not None else f"row {i}"
            raise UnknownLabelError(
                f"{where}: label {label!r} is not in the class map (known labels: {sorted(lookup)})"
            ) from None
    return np.asarray(out, dtype=np.int64)
