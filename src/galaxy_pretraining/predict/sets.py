"""The prediction sets a config names (key `predict`): their runs, paths, rule inputs and checks.

Parse-time only, as study.py: no torch, no pandas at import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# The eight test-time views: quarter turns (counter-clockwise) of the evaluation view, then the same mirrored
# (left-right flip first). views: n takes the first n; the first is the evaluation view itself.
VIEWS = tuple((turns, mirrored) for mirrored in (False, True) for turns in range(4))


def set_names(config: Mapping) -> list[str]:
    """The configured prediction sets, in config order."""
    return list(config.get("predict") or {})


def configured_runs(config: Mapping) -> list[int]:
    """The study's standard runs (splits.runs: a count or a list)."""
    runs = config["splits"]["runs"]
    return list(range(runs)) if isinstance(runs, int) else sorted(runs)


def set_runs(config: Mapping, name: str) -> list[int]:
    """The runs whose best weights classify set `name`: predict.<name>.runs as one run, a list, or all."""
    runs = config["predict"][name]["runs"]
    if runs == "all":
        return configured_runs(config)
    return [int(runs)] if isinstance(runs, int) else sorted(int(r) for r in runs)


def set_folder(config: Mapping, name: str) -> str:
    """results/<study>/predict/<name>: the set's catalog, array store and image checks."""
    return f"results/{config['study']}/predict/{name}"


def predictions_path(config: Mapping, name: str) -> str:
    """results/<study>/predictions/<name>.parquet."""
    return f"results/{config['study']}/predictions/{name}.parquet"


def embeddings_path(config: Mapping, name: str) -> str:
    """results/<study>/predictions/<name>.embeddings.npz (with embeddings: true)."""
    return f"results/{config['study']}/predictions/{name}.embeddings.npz"


def best_model_path(config: Mapping, model: str, run: int) -> str:
    """The best weights of a standard run on all the labels."""
    return f"results/{config['study']}/runs/{model}/run{run:03d}/best.pt"


def kept_runs(config: Mapping) -> set[tuple[str, int]]:
    """(model, run) of every standard run a prediction set uses: they keep best.pt whatever best_weights says."""
    return {(spec["model"], run) for name, spec in (config.get("predict") or {}).items()
            for run in set_runs(config, name)}


def set_outputs(config: Mapping, name: str) -> dict[str, str]:
    """The prediction rule's outputs: the predictions and, with embeddings, the embeddings."""
    outputs = {"predictions": predictions_path(config, name)}
    if config["predict"][name]["embeddings"]:
        outputs["embeddings"] = embeddings_path(config, name)
    return outputs


def targets(config: Mapping) -> list[str]:
    """Every prediction set's outputs and, for a labelled set, its calibration table."""
    paths = []
    for name in set_names(config):
        paths += list(set_outputs(config, name).values())
        if config["predict"][name]["images"]["label_column"] is not None:
            paths.append(calibration_path(config, name))
    return paths


def calibration_path(config: Mapping, name: str) -> str:
    """The calibration table of a labelled set: results/<study>/predictions/<name>.calibration.csv."""
    return f"results/{config['study']}/predictions/{name}.calibration.csv"


def set_class_map(config: Mapping, name: str) -> dict[str, list]:
    """The set's class map: predict.<name>.images.class_map, else data.folder.class_map (a folder study), else
    each class's own name."""
    chosen = config["predict"][name]["images"]["class_map"]
    if chosen is not None:
        return dict(chosen)
    if config["data"]["kind"] == "folder":
        return dict(config["data"]["folder"]["class_map"])
    return {name: [name] for name in config["classes"]}


def set_params(config: Mapping, name: str) -> dict:
    """What decides a set's predictions besides its files: the rule's params (a change predicts the set again)."""
    spec = config["predict"][name]
    return {"model": spec["model"], "runs": set_runs(config, name), "views": spec["views"],
            "embeddings": spec["embeddings"], "classes": list(config["classes"])}


def store_params(config: Mapping, name: str) -> dict:
    """What decides a set's catalog and array store: its images block (class map resolved) and the study's
    store settings."""
    from ..config import schema_defaults

    images = {**config["predict"][name]["images"], "class_map": set_class_map(config, name)}
    folder = config["data"]["folder"] if config["data"]["kind"] == "folder" else schema_defaults("data", "folder")
    # data.folder's no-data thresholds (the study's own, for a folder study); what a flagged image does is the set's
    screen = {"blank_max_std": folder["blank_max_std"], "max_no_data_fraction": folder["max_no_data_fraction"],
              "no_data_images": images["no_data_images"], "centre": "all"}
    return {"images": images, "classes": list(config["classes"]), "size": config["image_size"],
            "crop": config["image_crop"], "square": config["non_square_images"], "screen": screen}


def check(config: Mapping) -> list[str]:
    """Problems of the predict block the schema cannot see, each naming the set and key."""
    problems = []
    runs = configured_runs(config)
    for name, spec in (config.get("predict") or {}).items():
        key = f"predict.{name}"
        if spec["model"] not in config["models"]:
            problems.append(f"{key}.model: {spec['model']!r} is not an arm of the study; arms: {list(config['models'])}")
        unknown = [r for r in set_runs(config, name) if r not in runs]
        if unknown:
            problems.append(f"{key}.runs: run(s) {unknown} do not exist; the study's runs (splits.runs) are "
                            f"{runs[:10]}{'...' if len(runs) > 10 else ''}")
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


def best_models(config: Mapping, name: str) -> list[str]:
    """The best.pt of every run the set uses, in run order."""
    return [best_model_path(config, config["predict"][name]["model"], run) for run in set_runs(config, name)]


def job_resources(config: Mapping, name: str) -> dict:
    """What the set's prediction job asks the scheduler for: its GPUs, CPUs, memory (stated whatever the
    profile's defaults, as training's) and time limit, on training's partition and GPU model."""
    block, train = config["predict"][name]["resources"], config["train_resources"]
    resources = {"gpu": block["gpu"], "cpus_per_task": block["threads"], "mem_mb": block["mem_mb"],
                 "mem_mb_per_cpu": None, "runtime": block["runtime"]}
    for key in ("slurm_partition", "gpu_model"):
        if train[key] is not None:
            resources[key] = train[key]
    return resources


def digest_paths(config: Mapping, name: str) -> tuple[str, str]:
    """(image digest, listed catalog) of a set: what study.refresh_image_digest compares for it."""
    folder = set_folder(config, name)
    return f"{folder}/image_digest.txt", f"{folder}/catalog_listed.parquet"
