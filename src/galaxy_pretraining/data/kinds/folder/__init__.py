"""`folder`: bring your own sample, a table of ids and labels plus a folder of images.

`folder`: bring your own sample, a table of ids and labels (CSV, tab-separated, Excel or Parquet) plus a folder of
images, screened for no data as the array store decodes them (no_data_screening).
"""

from __future__ import annotations

import codecs
import string
from collections.abc import Mapping

from ....config import ConfigError

FIXED_CLASSES = None  # the config's `classes`, reached through data.folder.class_map


def check_image_pattern(pattern: str) -> None:
    """Raise ConfigError unless `pattern` holds `{id}` and no other field.

    The error names data.folder.image_pattern.

    Ids are text exactly as the table writes them, so a format spec
    (`{id:06d}`), a conversion (`{id!r}`) or another field cannot apply to
    them; a zero-padded id such as `000001` is already its own file name.
    """
    key = "data.folder.image_pattern"
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(pattern)
                  if name is not None]
    except ValueError as error:
        raise ConfigError(f"{key}: {pattern!r} is not a valid pattern ({error})") from None
    bad = [f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
           for name, spec, conversion in fields if (name, spec, conversion) != ("id", "", None)]
    if bad:
        raise ConfigError(f"{key}: {pattern!r} has {', '.join(bad)}; only {{id}} is allowed. Ids are read as text "
                          f"exactly as written in the table (000001 stays 000001), so no format spec applies: "
                          f"use {{id}} and write the ids in the table as the file names have them")
    if not fields:
        raise ConfigError(f"{key}: {pattern!r} has no {{id}}: every galaxy would get the same image")


def check(config: Mapping) -> None:
    folder = config["data"]["folder"]
    if not folder["image_column"]:
        check_image_pattern(folder["image_pattern"])
    try:
        codecs.lookup(folder["encoding"])
    except LookupError:
        raise ConfigError(f"data.folder.encoding: {folder['encoding']!r} is not a text encoding Python knows "
                          "(utf-8, cp1252, latin-1, ...)") from None
    unknown = [name for name in folder["class_map"] if name not in config["classes"]]
    if unknown:
        raise ConfigError(f"data.folder.class_map: classes {unknown} are not in classes {config['classes']}")
    empty = [name for name in config["classes"] if not folder["class_map"].get(name)]
    if empty:
        raise ConfigError(f"data.folder.class_map: gives no raw label for the classes {empty}, so no galaxy could be "
                          "of them; map their labels, or remove them from classes")
    seen: dict[str, str] = {}
    for name, raw_labels in folder["class_map"].items():
        for raw in raw_labels:
            if seen.setdefault(str(raw), name) != name:
                raise ConfigError(f"data.folder.class_map: the raw label {raw!r} is mapped to {seen[str(raw)]} "
                                  f"and to {name}")


def catalog_inputs(config: Mapping, results: str) -> dict[str, str]:
    return {"raw": config["data"]["folder"]["table"]}


def summary_inputs(config: Mapping, results: str) -> dict[str, str]:
    return {}


def no_data_screening(settings: Mapping) -> dict:
    """The no-data screening the array store applies to this kind's images (data/screening.py).

    The SDSS downloads' rule, with this block's thresholds and what a flagged image does (no_data_images), its
    centre rule lighter: flagged only when the whole centre box has no data (screening.judge_frame).
    """
    return {**{key: settings[key] for key in ("blank_max_std", "max_no_data_fraction", "no_data_images")},
            "centre": "all"}


def build_catalog(settings: Mapping, class_names: list[str], inputs: Mapping[str, str]):
    from ...catalog import catalog_from_folder

    return catalog_from_folder(
        inputs["raw"], settings["class_map"], class_names, settings["id_column"], settings["label_column"],
        settings["image_column"], settings["image_dir"], settings["image_pattern"], settings["encoding"],
    )
