"""Data kinds: where a study's galaxies come from (config key `data.kind`).

One module per kind, each with the same four names, so the workflow routes
through this registry and knows no kind by name:

- `FIXED_CLASSES`: the classes the sample has (None where the config says them);
- `check(config)`: checks of its config block that the schema cannot express
  (raise ConfigError naming the key);
- `catalog_inputs(config, results)`: the named inputs of the `catalog` rule;
- `summary_inputs(config, results)`: extra named inputs of the sample summary
  (a download manifest, say), `{}` where there are none;
- `build_catalog(settings, class_names, inputs)`: the labelled catalog
  (catalog.CATALOG_COLUMNS) from those inputs, `settings` being the kind's
  resolved config block;
- optionally `no_data_screening(settings)`: the settings of the no-data
  screening the array store applies to the kind's images (data/screening.py),
  for kinds whose images no download has screened.

Adding a kind: one module here, its entry in KINDS, its block in the schema
(workflow/schemas/config.schema.yaml, `data.kind` enum too) and its tests.
Kind modules import pandas and friends inside build_catalog only: the
workflow imports this registry at parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

from ...config import ConfigError
from . import folder, galaxy10_decals, galaxy_zoo2, mock, nair_abraham

KINDS: dict[str, ModuleType] = {"mock": mock, "nair_abraham": nair_abraham, "folder": folder,
                                "galaxy10_decals": galaxy10_decals, "galaxy_zoo2": galaxy_zoo2}


def data_kind(config: Mapping) -> ModuleType:
    """The module of the config's data kind; ConfigError naming `data.kind` for an unknown one."""
    kind = config["data"]["kind"]
    try:
        return KINDS[kind]
    except KeyError:
        raise ConfigError(f"data.kind: unknown data kind {kind!r}; known: {sorted(KINDS)}") from None


def check_data(config: Mapping) -> None:
    """The kind's own checks, and its fixed classes against the config's `classes`."""
    module = data_kind(config)
    if module.FIXED_CLASSES is not None and list(config["classes"]) != list(module.FIXED_CLASSES):
        raise ConfigError(f"classes: the {config['data']['kind']} sample has the classes {list(module.FIXED_CLASSES)}")
    module.check(config)


def build_catalog(data: Mapping, class_names, inputs: Mapping[str, str]):
    """The labelled catalog of the configured kind (`data` is the config's resolved `data` block)."""
    return KINDS[data["kind"]].build_catalog(data[data["kind"]], list(class_names), inputs)


def no_data_screening(data: Mapping) -> dict | None:
    """The no-data screening settings the array store applies to the configured kind's images.

    None for kinds that have none (the SDSS cutouts are screened as they are downloaded).
    """
    module = KINDS[data["kind"]]
    return module.no_data_screening(data[data["kind"]]) if hasattr(module, "no_data_screening") else None
