"""A config made ready for the Study.

Validated by the schema, its defaults filled in, its keys checked together.

The schema (workflow/schemas/config.schema.yaml) states every default and
checks every key alone; `check_config` checks what no schema can: keys against
each other and against the registries (architectures, figures, tables).
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping

from ..config import ConfigError, resolve_config, schema_defaults
from ..data.kinds import check_data
from ..figures import FIGURES, check_options
from ..models.registry import ARCHITECTURES, is_timm, timm_has, timm_model_name
from ..models.timm_models import TIMM_MODELS, TIMM_VERSION
from ..papers import zhu2019
from ..predict import sets as prediction_sets
from ..tables import TABLES
from .plan import MODEL_FIGURES, Plan


def resolve(config: dict) -> dict:
    """Validate the config, fill in its defaults (in place), then check what the schema cannot.

    A `protocol_source` (Zhu et al.'s paper or code) first puts its settings in
    place (apply_protocol_source). Returns the config.

    Raises:
        ConfigError: naming each key at fault.
    """
    apply_protocol_source(config)
    resolve_config(config)
    check_config(config)
    return config


def effective_config(config: Mapping) -> dict:
    """What a raw config means: a resolved copy with the defaults computed from other keys filled in too.

    Those are analysis.example_run (null: the last run), and gradcam.run and
    feature_maps.run (null: the example run) where those figures are on.
    Raises ConfigError as resolve does.
    """
    resolved = resolve(copy.deepcopy(dict(config)))
    plan = Plan(resolved)
    resolved["analysis"]["example_run"] = plan.example_run
    for key, run in plan.model_figure_runs.items():
        resolved[key]["run"] = run
    return resolved


def apply_protocol_source(config: dict) -> None:
    """Put the settings of `protocol_source` (paper or code) in place, in the unresolved config.

    Zhu et al. (2019)'s paper and their public code disagree on them (papers.zhu2019.PROTOCOL_SOURCES); the
    dropout goes to every model whose architecture takes one. A key the config sets itself to another value is a
    ConfigError naming it; null (the default) changes nothing.
    """
    source = config.get("protocol_source")
    if source is None:
        return
    if source not in zhu2019.PROTOCOL_SOURCES:
        raise ConfigError(f"protocol_source: {source!r} is not one of {sorted(zhu2019.PROTOCOL_SOURCES)} or null")
    settings = dict(zhu2019.PROTOCOL_SOURCES[source])
    dropout = settings.pop(("dropout",))
    paths = list(settings.items())
    for model, spec in (config.get("models") or {}).items():
        if isinstance(spec, dict) and spec.get("architecture") in ARCHITECTURES and \
                ARCHITECTURES[spec["architecture"]].dropout_option:
            paths.append((("models", model, "dropout"), dropout))
    for path, value in paths:
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            if path[-1] in node and node[path[-1]] != value:
                raise ConfigError(f"{'.'.join(path)}: {node[path[-1]]!r} in the config, but protocol_source: {source} "
                                  f"sets {value!r}; remove the key, or set protocol_source: null")
            node[path[-1]] = copy.deepcopy(value)


def _check_architectures(config: Mapping) -> list[str]:
    """Each model's architecture is a registry entry or timm/<name>.

    Whether timm has that name is checked by the first job that builds the model (the weights fetch or the
    training): timm imports torch, which parsing the workflow does not (see docs/label-budgets.md, "Zoobot").
    """
    problems = []
    for model, spec in config["models"].items():
        name = spec["architecture"]
        if is_timm(name):
            if not re.fullmatch(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)?", timm_model_name(name)):
                problems.append(f"models.{model}.architecture: {name!r} is not timm/<a timm model name>, "
                                "e.g. timm/convnext_nano")
            elif not timm_has(name):
                close = difflib.get_close_matches(timm_model_name(name).split(".")[0], TIMM_MODELS, n=3)
                problems.append(f"models.{model}.architecture: {name!r} is not a model of timm {TIMM_VERSION}"
                                + (f"; close: {', '.join('timm/' + c for c in close)}" if close else "")
                                + " (timm.list_models() lists them all)")
        elif name not in ARCHITECTURES:
            close = difflib.get_close_matches(name, ARCHITECTURES, n=1)
            problems.append(f"models.{model}.architecture: unknown architecture {name!r}"
                            + (f" (did you mean {close[0]!r}?)" if close else "")
                            + f"; choose one of {sorted(ARCHITECTURES)}, or timm/<model> for any timm model")
    return problems


def _check_crop(config: Mapping) -> list[str]:
    """Check training.crop_size against what each model's network takes (models/registry.py).

    That is its smallest input, the one side a vision transformer takes, and with gradcam on, the side whose
    Grad-CAM map is 2x2 or more. A timm model's sides are checked by the job that builds it (timm imports torch).
    """
    crop, problems = config["training"]["crop_size"], []
    for model, spec in config["models"].items():
        entry = ARCHITECTURES.get(spec["architecture"])
        if entry is None:
            continue
        if entry.only_input is not None and crop != entry.only_input:
            problems.append(f"training.crop_size: {crop} px, but models.{model} is a {spec['architecture']}, "
                            f"which takes {entry.only_input} px crops only")
        elif entry.smallest_input is not None and crop < entry.smallest_input:
            problems.append(f"training.crop_size: {crop} px is too small for models.{model} "
                            f"({spec['architecture']} runs on {entry.smallest_input} px or more)")
        elif (config["gradcam"] is not None and entry.gradcam_smallest_input is not None
              and crop < entry.gradcam_smallest_input):
            problems.append(f"training.crop_size: {crop} px is too small for the Grad-CAM of models.{model} "
                            f"({spec['architecture']}'s layer {entry.gradcam_layer} is a single pixel below "
                            f"{entry.gradcam_smallest_input} px); use {entry.gradcam_smallest_input} px or more, "
                            "or set gradcam: null")
    return problems


def _check_budgets(plan: Plan) -> list[str]:
    """Budgets the config sets that no run can read.

    These are analysis.budgets longer than every run (checked when they differ from the schema's default; the
    default's long budgets are left out, as the captions say), and figures.budget_gains.budgets not read off the
    curves or not shorter than any model's epochs.
    """
    config = plan.config
    problems = []
    epochs = sorted({spec["epochs"] for spec in config["models"].values()})
    longest = max(epochs + ([config["long_runs"]["epochs"]] if plan.long_runs else []))
    chosen = config["analysis"]["budgets"]
    if chosen != schema_defaults("analysis")["budgets"]:
        beyond = [b for b in chosen if b > longest]
        if beyond:
            problems.append(f"analysis.budgets: {beyond} are longer than any run trains ({longest} epochs at most); "
                            "a budget is read off a run's first epochs")
    compared = config["figures"].get("budget_gains", {}).get("budgets")
    for budget in compared or ():
        if budget >= epochs[-1]:
            problems.append(f"figures.budget_gains.budgets: {budget} is not shorter than any model's epochs "
                            f"({', '.join(map(str, epochs))}): no model gains anything over it")
        elif budget not in plan.analysis_budgets:
            problems.append(f"figures.budget_gains.budgets: {budget} is not read off the curves; add it to "
                            f"analysis.budgets ({chosen})")
    return problems


def _check_training(config: Mapping) -> list[str]:
    """The training block's keys against each other and the store's image_size."""
    training, size = config["training"], config["image_size"]
    crop, views = training["crop_size"], training["scale_jitter"]
    problems = []
    if views is None:
        if crop > size:
            problems.append(f"training.crop_size ({crop}) is larger than image_size ({size})")
        if training["rotation"] == "quarter_turns" or training["colour_jitter"] is not None:
            problems.append("training.rotation: quarter_turns and training.colour_jitter belong to Zhu et al.'s "
                            "views; set training.scale_jitter too")
    else:
        low, high = views["sides"]
        if not 0 < low <= high <= size:
            problems.append(f"training.scale_jitter.sides: {views['sides']} must be [smallest, largest] with the "
                            f"largest at most image_size ({size})")
        if max(views["test_sides"]) > size:
            problems.append(f"training.scale_jitter.test_sides: {views['test_sides']} reach beyond image_size ({size})")
        if views["test_side"] not in views["test_sides"]:
            problems.append(f"training.scale_jitter.test_side: {views['test_side']} is not one of test_sides "
                            f"{views['test_sides']}")
        if crop > views["resize"]:
            problems.append(f"training.crop_size ({crop}) is larger than training.scale_jitter.resize "
                            f"({views['resize']})")
        if training["evaluation"] != "center":
            problems.append("training.evaluation: scale_jitter tests at the centre views of its test_sides; "
                            "set evaluation: center")
        if training["rotation"] not in ("quarter_turns", 0):
            problems.append(f"training.rotation: with scale_jitter, quarter_turns or 0, not {training['rotation']}")
    optimizer = training["optimizer"]
    if optimizer["nesterov"] and (optimizer["name"] != "sgd" or optimizer["momentum"] <= 0):
        problems.append("training.optimizer.nesterov: Nesterov momentum needs name: sgd and momentum > 0")
    schedule = training["lr_schedule"]
    if schedule is not None and schedule["milestones"] != sorted(schedule["milestones"]):
        problems.append(f"training.lr_schedule.milestones: {schedule['milestones']} are not in ascending order")
    return problems


def _check_epochs(plan: Plan) -> list[str]:
    """Settings counted in epochs that no run reaches.

    These are lr_schedule milestones (unit: epochs) at or past the longest run (the rate would never drop), and
    long runs no longer than a model's standard runs.
    """
    config = plan.config
    problems = []
    epochs = {model: spec["epochs"] for model, spec in config["models"].items()}
    long = config["long_runs"]["epochs"] if plan.long_runs else None
    longest = max([*epochs.values(), long or 0])
    schedule = config["training"]["lr_schedule"]
    if schedule is not None and schedule["unit"] == "epochs":
        never = [m for m in schedule["milestones"] if m >= longest]
        if never:
            problems.append(f"training.lr_schedule.milestones: {never} (epochs) are not before the last epoch of any "
                            f"run ({longest} at most): the rate would never drop there")
    if long is not None:
        short = [model for model, e in epochs.items() if e >= long]
        if short:
            problems.append(f"long_runs.epochs: {long}, but {', '.join(f'models.{m}' for m in short)} already train "
                            f"{max(epochs[m] for m in short)} epochs; long runs train past the models' epochs")
    return problems


# What a study needs for the tables made only in some studies (TableStep.when), as a user sets it.
_NEEDS = {"pairs": "a model with pretrained weights and one from scratch of the same architecture",
          "long_runs": "long_runs.runs", "frozen_shares": "a model with frozen_share above 0",
          "label_budgets": "splits.train_fractions below 1.0",
          "label_budget_pairs": "splits.train_fractions below 1.0 and a pretrained and a scratch model of one "
                                "architecture",
          "test_sides": "training.scale_jitter", "zhu2019": "Zhu et al.'s protocol",
          "zhu2019_ours": "Zhu et al.'s protocol"}


def _check_figure_drawn(plan: Plan, name: str) -> list[str]:
    """Options for a figure this study does not draw (they would be ignored without a word)."""
    if name in plan.figure_names:
        return []
    needs = sorted({_NEEDS[TABLES[t].when] for t in FIGURES[name].tables.values()
                    if t in TABLES and TABLES[t].when is not None and not plan.has(TABLES[t].when)})
    return [f"figures.{name}: this study draws no {name} figure (it needs {'; '.join(needs)}); remove its options"]


def check_config(config: Mapping) -> None:
    """Checks the schema cannot express, the keys against each other; each error names the key at fault.

    Raises:
        ConfigError: one line per problem, naming its key.
    """
    plan = Plan(config)
    problems = []
    problems += _check_architectures(config)
    for model, spec in config["models"].items():
        if spec["frozen_share"] > 0 and spec["weights"] == "none":
            problems.append(f"models.{model}.frozen_share: {spec['frozen_share']} of the layers would be kept at "
                            f"their initial random weights; freezing needs pretrained weights (imagenet or zoobot)")
        if (spec["weights"] == "imagenet" and spec["architecture"] in ARCHITECTURES
                and not ARCHITECTURES[spec["architecture"]].has_weights):
            problems.append(f"models.{model}.weights: {spec['architecture']} has no ImageNet weights (a published "
                            "galaxy network); use weights: none")
        if spec["dropout"] is not None and not (spec["architecture"] in ARCHITECTURES
                                                and ARCHITECTURES[spec["architecture"]].dropout_option):
            problems.append(f"models.{model}.dropout: {spec['architecture']} has no dropout option (only "
                            f"{sorted(a for a, s in ARCHITECTURES.items() if s.dropout_option)})")
        if spec["weights"] == "zoobot" and not is_timm(spec["architecture"]):
            problems.append(f"models.{model}.weights: zoobot's encoders are timm models; set architecture to "
                            f"timm/<model> (e.g. timm/convnext_nano), not {spec['architecture']!r}")
    problems += _check_training(config)
    problems += _check_crop(config)
    problems += _check_budgets(plan)
    problems += prediction_sets.check(config, plan.runs)
    problems += _check_epochs(plan)
    if 1.0 not in plan.train_fractions:
        problems.append(f"splits.train_fractions: {config['splits']['train_fractions']} lacks 1.0 (all the labels), "
                        "which every table of the study reads")
    if plan.example_run not in plan.runs:
        problems.append(f"analysis.example_run: run {plan.example_run} is not among the configured runs "
                        f"(splits.runs gives {plan.runs[:3]}...)")
    for name, options in config["figures"].items():
        problems += check_options(name, options) or _check_figure_drawn(plan, name)
    for key in MODEL_FIGURES:
        if config[key] is not None and plan.model_figure_runs[key] not in plan.runs:
            problems.append(f"{key}.run: run {plan.model_figure_runs[key]} is not among the configured runs")
    if config["feature_maps"] is not None and config["feature_maps"]["class_name"] not in [None, *config["classes"]]:
        problems.append(f"feature_maps.class_name: {config['feature_maps']['class_name']!r} is not one of the classes "
                        f"{config['classes']}")
    if config["gradcam"] is not None:
        for model, spec in config["models"].items():
            if spec["architecture"] in ARCHITECTURES and ARCHITECTURES[spec["architecture"]].gradcam_layer is None:
                problems.append(f"gradcam: models.{model} is a {spec['architecture']}, which declares no Grad-CAM "
                                "layer (models/registry.py); set gradcam: null")
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    check_data(config)
