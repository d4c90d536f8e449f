"""config/README.md: every config key, written from the schema's descriptions.

    python -m galaxy_pretraining_tools.config_docs workflow/schemas/config.schema.yaml config/README.md

The schema is the one place where keys, types, defaults and their meaning
are stated; this page is generated from it (a test fails when it is out of
date, or when a key has no description).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

from galaxy_pretraining.io import atomic_path

HEADER = """\
# Configuration

<!-- Generated from workflow/schemas/config.schema.yaml by
     `python -m galaxy_pretraining_tools.config_docs workflow/schemas/config.schema.yaml config/README.md`;
     edit the schema's descriptions, not this file. -->

A study is one YAML file: `config/config.yaml` is the paper's study (Schneider,
Stenning & Elliott 2023), `config/demo.yaml` the offline demo, `config/gz1-sdss.yaml`
our run on real SDSS galaxies. Run one with `snakemake --configfile config/<file>.yaml`
(a config file given this way replaces `config/config.yaml` whole). Snakemake
validates it against the schema before anything runs: a wrong key or value is one
message naming the key. Keys marked *required* must be given; every other key has
the default shown, stated only in the schema. A shipped config states only what
differs from these defaults, including those computed from other keys
(`config.restated_defaults` with `study.effective_config` finds a key that does not;
a test runs it on every file in `config/`), so none can go stale with them.

{description}

| key | type | default | meaning |
| --- | --- | --- | --- |
"""


def _type(node: dict) -> str:
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " | ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "oneOf" in node:
        return " or ".join(_type(option) for option in node["oneOf"])
    kind = node.get("type", "")
    kinds = kind if isinstance(kind, list) else [kind]
    if "array" in kinds and isinstance(node.get("items"), dict) and "type" in node["items"]:
        items = node["items"]["type"]
        items = "/".join(items) if isinstance(items, list) else items
        kinds = [f"array of {items}" if k == "array" else k for k in kinds]
    return " or ".join(k for k in kinds if k)


def _default(node: dict, required: bool) -> str:
    if required:
        return "*required*"
    if "default" not in node:
        return ""
    return f"`{json.dumps(node['default'])}`"


def _cell(text: str) -> str:
    # one line; | would end the cell, and <study> would be read as an HTML tag
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def rows(schema: dict, prefix: str = "") -> list[tuple[str, dict, bool]]:
    """(dotted key, schema node, required) of every key, parents before their children, in schema order.

    A mapping of free names (models, figures, class_map) appears as `<name>`.
    """
    found = []
    required = set(schema.get("required", []))
    for name, node in (schema.get("properties") or {}).items():
        key = f"{prefix}{name}"
        found.append((key, node, name in required))
        found += rows(node, key + ".")
        free = node.get("additionalProperties")
        if isinstance(free, dict) and (free.get("properties") or free.get("description")):
            found.append((f"{key}.<name>", free, False))
            found += rows(free, f"{key}.<name>.")
    return found


def undocumented(schema: dict) -> list[str]:
    """The keys whose schema node has no description."""
    return [key for key, node, _ in rows(schema) if not node.get("description")]


def config_docs(schema: dict) -> str:
    """The Markdown page of every key: type, default and meaning."""
    text = HEADER.replace("{description}", _cell(schema.get("description", "")))
    for key, node, required in rows(schema):
        text += (f"| `{key}` | {_cell(_type(node))} | {_cell(_default(node, required))} | "
                 f"{_cell(node.get('description', ''))} |\n")
    return text


def load_schema(path: os.PathLike) -> dict:
    """The schema at `path` as a dict."""
    return yaml.safe_load(Path(path).read_text())


def main(argv=None) -> int:
    """Command line: write config/README.md from the schema; 1 when a key has no description."""
    schema_path, target = (argv or sys.argv[1:])[:2]
    schema = load_schema(schema_path)
    missing = undocumented(schema)
    if missing:
        print(f"{schema_path}: keys without a description: {', '.join(missing)}", file=sys.stderr)
        return 1
    with atomic_path(target) as tmp:
        Path(tmp).write_text(config_docs(schema))
    return 0


if __name__ == "__main__":
    sys.exit(main())
