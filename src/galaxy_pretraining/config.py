"""The config: checked against workflow/schemas/config.schema.yaml and resolved with its defaults.

The schema is the one place where a default is stated. `resolve_config`
validates a config (one line per problem, each naming its key), then fills in
every default, so the rest of the library reads resolved settings and holds
no fallback of its own. Light on purpose: the Snakefile imports it at parse.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config that cannot describe a study; the message names the key at fault."""


@functools.lru_cache(maxsize=4)
def load_schema(path: os.PathLike = SCHEMA_PATH) -> dict:
    """The config schema (workflow/schemas/config.schema.yaml) as a dict."""
    import yaml

    with open(path) as stream:
        return yaml.safe_load(stream)


def validate_config(config: Mapping, schema: Mapping | None = None) -> None:
    """Check the config against the JSON schema; one line per problem, each naming its key."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema if schema is not None else load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors:
            error = jsonschema.exceptions.best_match([error])
            key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
            lines.append(f"config key {key}: {error.message}")
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines))


def fill_defaults(instance, schema: Mapping) -> None:
    """Fill in, in place, every default the schema states, in nested objects too."""
    if not isinstance(instance, dict):
        return
    properties = schema.get("properties", {})
    for key, sub in properties.items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            fill_defaults(instance[key], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in properties:
                fill_defaults(value, extra)


def check_count_keys(key: str, counts: Mapping | None, class_names) -> None:
    """Expected class counts (config `key`), when given, name each class exactly once."""
    if counts is not None and set(counts) != set(class_names):
        raise ConfigError(f"{key}: give the count of each of {list(class_names)}, not of {sorted(counts)} "
                          "(null: not checked)")


def schema_defaults(*keys: str) -> dict:
    """The defaults the schema states for the object at a key path, e.g. ("training",)."""
    node = load_schema()
    for key in keys:
        node = node["properties"][key]
    resolved: dict = {}
    fill_defaults(resolved, node)
    return resolved


def resolve_config(config: dict, schema: Mapping | None = None) -> dict:
    """Validate `config`, fill in the schema's defaults (in place) and return it."""
    schema = schema if schema is not None else load_schema()
    validate_config(config, schema)
    fill_defaults(config, schema)
    return config


def restated_defaults(config: Mapping, effective: Callable[[dict], object] | None = None) -> list[str]:
    """The keys of a (not yet resolved) config that state what the defaults give anyway.

    Those whose removal leaves `effective(config)` the same, as dotted key paths (`training.flips`), outermost first
    (a key listed is not looked into). `effective` maps a copy of a raw config to what it means; by default the
    config with the schema's defaults filled in. study.effective_config also fills the defaults computed from other
    keys (analysis.example_run, the last run). A removal that makes the config invalid (`effective` raises
    ConfigError) changes it. A config that states only what differs from the defaults returns [].
    """
    if effective is None:
        schema = load_schema()

        def effective(instance):
            fill_defaults(instance, schema)
            return instance

    def meaning(instance):
        try:
            return effective(copy.deepcopy(instance))
        except ConfigError as error:
            return error

    whole = meaning(config)
    found: list[str] = []

    def walk(node: Mapping, path: tuple):
        for key, value in node.items():
            without = copy.deepcopy(dict(config))
            parent = without
            for step in path:
                parent = parent[step]
            del parent[key]
            if meaning(without) == whole:
                found.append(".".join(map(str, path + (key,))))
            elif isinstance(value, Mapping):
                walk(value, path + (key,))

    walk(config, ())
    return found


def load_config(path: os.PathLike) -> dict:
    """A YAML config file, validated and resolved."""
    import yaml

    with open(path) as stream:
        return resolve_config(yaml.safe_load(stream))
