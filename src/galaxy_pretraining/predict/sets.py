"""The prediction sets a config names (key `predict`).

Their runs, parameters, scheduler resources and checks.

Parse-time only, as the study package that asks it (study.Plan, study.Study):
no torch, no pandas at import. Where a set's files live is the study's
(study.paths.StudyPaths); what a set needs besides is here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# The eight test-time views: quarter turns (counter-clockwise) of the evaluation view, then the same mirrored
# (left-right flip first). views: n takes the first n; the first is the evaluation view itself.
VIEWS = tuple((turns, mirrored) for mirrored in (False, True) for turns in range(4))


def set_names(config: Mapping) -> list[str]:
    """The configured prediction sets, in config order."""
    return list(config.get("predict") or {})


def set_runs(config: Mapping, name: str, runs: Sequence[int]) -> list[int]:
    """The runs whose best weights classify set `name`.

    predict.<name>.runs as one run, a list, or all of `runs`.
    """
    chosen = config["predict"][name]["runs"]
    if chosen == "all":
        return sorted(runs)
    return [int(chosen)] if isinstance(chosen, int) else sorted(int(r) for r in chosen)


def kept_runs(config: Mapping, runs: Sequence[int]) -> set[tuple[str, int]]:
    """(model, run) of every standard run a prediction set uses.

    They keep best.pt whatever best_weights says.
    """
    return {(config["predict"][name]["model"], run) for name in set_names(config)
            for run in set_runs(config, name, runs)}


def labelled(config: Mapping, name: str) -> bool:
    """Whether a set has labels (predict.<name>.images.label_column): its predictions are then scored."""
    return config["predict"][name]["images"]["label_column"] is not None


def set_class_map(config: Mapping, name: str) -> dict[str, list]:
    """The set's class map.

    predict.<name>.images.class_map, else data.folder.class_map (a folder study), else each class's own name.
    """
    chosen = config["predict"][name]["images"]["class_map"]
    if chosen is not None:
        return dict(chosen)
    if config["data"]["kind"] == "folder":
        return dict(config["data"]["folder"]["class_map"])
    return {name: [name] for name in config["classes"]}


def set_params(config: Mapping, name: str, runs: Sequence[int]) -> dict:
    """What decides a set's predictions besides its files: the rule's params.

    A change predicts the set again.
    """
    spec = config["predict"][name]
    return {"model": spec["model"], "runs": set_runs(config, name, runs), "views": spec["views"],
            "embeddings": spec["embeddings"], "classes": list(config["classes"])}


def store_params(config: Mapping, name: str) -> dict:
    """What decides a set's catalog and array store.

    Its images block (class map resolved) and the study's store settings.
    """
    from ..config import schema_defaults

    images = {**config["predict"][name]["images"], "class_map": set_class_map(config, name)}
    folder = config["data"]["folder"] if config["data"]["kind"] == "folder" else schema_defaults("data", "folder")
    # data.folder's no-data thresholds (the study's own, for a folder study); what a flagged image does is the set's
    screen = {"blank_max_std": folder["blank_max_std"], "max_no_data_fraction": folder["max_no_data_fraction"],
              "no_data_images": images["no_data_images"], "centre": "all"}
    return {"images": images, "classes": list(config["classes"]), "size": config["image_size"],
            "crop": config["image_crop"], "square": config["non_square_images"], "screen": screen}


def check(config: Mapping, runs: Sequence[int]) -> list[str]:
    """Problems of the predict block the schema cannot see, each naming the set and key.

    `runs` are the study's runs.
    """
    problems = []
    for name, spec in (config.get("predict") or {}).items():
        key = f"predict.{name}"
        if spec["model"] not in config["models"]:
            problems.append(f"{key}.model: {spec['model']!r} is not an arm of the study; arms: {list(config['models'])}")
        unknown = [r for r in set_runs(config, name, runs) if r not in runs]
        if unknown:
            problems.append(f"{key}.runs: run(s) {unknown} do not exist; the study's runs (splits.runs) are "
                            f"{list(runs)[:10]}{'...' if len(runs) > 10 else ''}")
        images = spec["images"]
        if images["class_map"] is not None:
            strangers = [c for c in images["class_map"] if c not in config["classes"]]
            if strangers:
                problems.append(f"{key}.images.class_map: classes {strangers} are not in classes {config['classes']}")
        if images["class_map"] is not None and images["label_column"] is None:
            problems.append(f"{key}.images.class_map: given, but label_column is null (an unlabelled set); "
                            "set label_column to score the set, or remove class_map")
        if not images["image_column"] and "{id}" not in images["image_pattern"]:
            problems.append(f"{key}.images.image_pattern: {images['image_pattern']!r} has no {{id}}")
    return problems


def rule_name(name: str) -> str:
    """predict_<name> with every character that is not a letter, digit or _ made _: a Snakemake rule name."""
    return "predict_" + re.sub(r"\W", "_", name)


def batch_size(config: Mapping, name: str) -> int:
    """Galaxies per forward pass of set `name` (predict.<name>.batch_size), read when its job starts."""
    return int(config["predict"][name]["batch_size"])
