"""`mock`: the embedded offline sample, generated in the real Nair & Abraham schema.

data/synthetic.py renders its images.
"""

from __future__ import annotations

from collections.abc import Mapping

from ....config import ConfigError
from ...classes import CLASS_NAMES

FIXED_CLASSES = CLASS_NAMES  # the paper's four classes (data/classes.py maps TType onto them)


def raw_table(results: str) -> str:
    return f"{results}/mock/catalog_raw.parquet"


def image_dir(results: str) -> str:
    return f"{results}/mock/images"


def check(config: Mapping) -> None:
    mock = config["data"]["mock"]
    if mock["image_size_min"] > mock["image_size_max"]:
        raise ConfigError("data.mock.image_size_min is larger than data.mock.image_size_max")


def catalog_inputs(config: Mapping, results: str) -> dict[str, str]:
    return {"raw": raw_table(results), "images": image_dir(results)}


def summary_inputs(config: Mapping, results: str) -> dict[str, str]:
    return {}


def build_catalog(settings: Mapping, class_names: list[str], inputs: Mapping[str, str]):
    import pandas as pd

    from ...catalog import catalog_from_ttypes

    return catalog_from_ttypes(pd.read_parquet(inputs["raw"]), inputs["images"], source=inputs["raw"])
