"""`folder`: bring your own sample, a CSV or Parquet table of ids and labels plus a folder of images."""

from __future__ import annotations

from collections.abc import Mapping

from ....config import ConfigError

FIXED_CLASSES = None  # the config's `classes`, reached through data.folder.class_map


def check(config: Mapping) -> None:
    folder = config["data"]["folder"]
    if not folder["image_column"] and not folder["image_dir"]:
        raise ConfigError("data.folder: give image_column or image_dir")
    unknown = [name for name in folder["class_map"] if name not in config["classes"]]
    if unknown:
        raise ConfigError(f"data.folder.class_map: classes {unknown} are not in classes {config['classes']}")


def catalog_inputs(config: Mapping, results: str) -> dict[str, str]:
    return {"raw": config["data"]["folder"]["table"]}


def summary_inputs(config: Mapping, results: str) -> dict[str, str]:
    return {}


def build_catalog(settings: Mapping, class_names: list[str], inputs: Mapping[str, str]):
    from ...catalog import catalog_from_folder

    return catalog_from_folder(
        inputs["raw"], settings["class_map"], class_names, settings["id_column"], settings["label_column"],
        settings["image_column"], settings["image_dir"], settings["image_pattern"],
    )
