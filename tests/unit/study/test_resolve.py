"""Resolving a config: every default stated once, in the schema; the keys checked against each other."""

import copy
import dataclasses

import pytest
import yaml

from galaxy_pretraining.config import ConfigError, load_schema, resolve_config, schema_defaults
from galaxy_pretraining.data.kinds.nair_abraham.sdss import CutoutSettings
from galaxy_pretraining.study import Study, resolve
from galaxy_pretraining.training.spec import Machine, Protocol, RunPaths


def test_the_library_settings_have_no_defaults_of_their_own():
    for settings in (CutoutSettings, Protocol, Machine, RunPaths):
        with_default = [f.name for f in dataclasses.fields(settings)
                        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
        assert with_default == [], f"{settings.__name__} states defaults: {with_default}"


def test_train_settings_built_from_the_schema_defaults_are_the_schema_defaults(minimal):
    config = resolve(minimal)
    settings = Study(config).protocol(Study(config).jobs[0])
    training_defaults = schema_defaults("training")
    machine = {f.name for f in dataclasses.fields(Machine)} - {"threads", "tensorboard", "compile_cache"}
    job_fields = {"architecture", "weights", "epochs", "frozen_share", "dropout", "class_names", "run", "train_fraction",
                  "split"}
    assert set(training_defaults) == {f.name for f in dataclasses.fields(Protocol)} - job_fields | machine
    assert {k: getattr(settings, k) for k in training_defaults if k not in machine} == {
        k: v for k, v in training_defaults.items() if k not in machine}
    assert settings.split == {"test_size": 10, "validation_size": 0, "stratify": False, "seed": 2023}
    # the paper's protocol is the default
    assert training_defaults["optimizer"] == {"name": "sgd", "lr": 0.001, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False}
    assert (training_defaults["batch_size"], training_defaults["crop_size"], training_defaults["rotation"]) == (384, 224, 180)


def test_the_demo_resolves_to_its_own_values_and_the_schema_defaults_for_the_rest(root, demo):
    raw = yaml.safe_load((root / "config/demo.yaml").read_text())
    defaults = schema_defaults("training")
    for key, value in demo["training"].items():
        assert value == raw["training"].get(key, defaults[key]) or key == "optimizer", key
    assert demo["training"]["optimizer"] == {**defaults["optimizer"], "momentum": 0.0, **raw["training"]["optimizer"]}


def test_the_cutout_settings_come_whole_from_the_schema():
    block = schema_defaults("data", "nair_abraham")
    settings = CutoutSettings.from_config(block)
    assert dataclasses.asdict(settings) == {k: block[k] for k in dataclasses.asdict(settings)}


def test_both_seeds_share_one_stated_default():
    schema = load_schema()
    split_seed = schema["properties"]["splits"]["properties"]["seed"]
    training_seed = schema["properties"]["training"]["properties"]["seed"]
    assert split_seed is training_seed and split_seed["default"] == 2023  # one YAML anchor


def test_resolving_fills_nested_defaults_and_leaves_given_values(minimal):
    config = resolve_config({**minimal, "training": {"optimizer": {"name": "adam", "lr": 0.01}}})
    assert config["training"]["optimizer"] == {"name": "adam", "lr": 0.01, "momentum": 0.0, "weight_decay": 0.0,
                                               "nesterov": False}
    assert config["long_runs"] == {"runs": [], "epochs": 1000}
    assert config["data"]["mock"] == {"n_galaxies": 50, "seed": 0, "image_size_min": 80, "image_size_max": 128}


def test_a_study_without_all_the_labels_is_refused(demo):
    without_all = copy.deepcopy(demo)
    without_all["splits"]["train_fractions"] = [0.5]
    with pytest.raises(ConfigError, match="splits.train_fractions: \\[0.5\\] lacks 1.0"):
        resolve(without_all)
