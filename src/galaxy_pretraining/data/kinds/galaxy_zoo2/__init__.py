"""`galaxy_zoo2`: the Kaggle Galaxy Challenge training set, cut to a clean sample.

`galaxy_zoo2`: the Kaggle Galaxy Challenge training set from a local folder, cut to a clean sample (Zhu et al.
2019's five classes by default); see galaxy_zoo2.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ....config import ConfigError, check_count_keys
from .kaggle_files import SOLUTIONS_FILE

FIXED_CLASSES = None  # the config's `classes`: the keys of data.galaxy_zoo2.selection

log = logging.getLogger(__name__)


def mock_folder(results: str) -> str:
    return f"{results}/mock/galaxy_zoo2"


def mock_solutions_file(results: str) -> str:
    """Written last by the mock (after its images), so its presence means the whole mock is there."""
    return f"{mock_folder(results)}/{SOLUTIONS_FILE}"


def kaggle_folder(config: Mapping, results: str) -> str:
    """The folder the catalog reads: the configured Kaggle folder, or the study's mock of it."""
    return mock_folder(results) if config["data"]["galaxy_zoo2"]["mock"] else config["data"]["galaxy_zoo2"]["path"]


def solutions_file(config: Mapping, results: str) -> str:
    return f"{kaggle_folder(config, results)}/{SOLUTIONS_FILE}"


def check(config: Mapping) -> None:
    settings = config["data"]["galaxy_zoo2"]
    if list(settings["selection"]) != list(config["classes"]):
        raise ConfigError(f"data.galaxy_zoo2.selection: its classes {list(settings['selection'])} must be the "
                          f"config's classes {list(config['classes'])}, in that order")
    check_count_keys("data.galaxy_zoo2.expected_class_counts", settings["expected_class_counts"], config["classes"])


def catalog_inputs(config: Mapping, results: str) -> dict[str, str]:
    return {"solutions": solutions_file(config, results)}


def summary_inputs(config: Mapping, results: str) -> dict[str, str]:
    return {}


def build_catalog(settings: Mapping, class_names: list[str], inputs: Mapping[str, str]):
    """The clean sample's catalog; on the real file, its class counts against expected_class_counts.

    A count mismatch is a CatalogError that says which reading of the vote fractions (data.galaxy_zoo2.fractions)
    gave the counts and names the other one to try: the paper does not say which it used.
    """
    from pathlib import Path

    from ...catalog import CatalogError, check_class_counts
    from .galaxy_zoo2 import FRACTIONS, catalog_from_kaggle

    catalog = catalog_from_kaggle(Path(inputs["solutions"]).parent, settings["selection"], class_names,
                                  settings["overlap"], settings["fractions"])
    if settings["expected_class_counts"] and not settings["mock"]:  # the paper's counts are of the real data
        try:
            check_class_counts(catalog, settings["expected_class_counts"])
        except CatalogError as error:
            other = next(f for f in FRACTIONS if f != settings["fractions"])
            raise CatalogError(f"{error}\nThese counts come from the cuts on {settings['fractions']} vote fractions "
                               f"(data.galaxy_zoo2.fractions: {settings['fractions']}). The paper does not say which "
                               f"reading its Table 1 used: try data.galaxy_zoo2.fractions: {other}, and tell the "
                               f"project which one gives the paper's counts.") from None
        log.info("galaxy_zoo2: class counts as expected (fractions=%s)", settings["fractions"])
    return catalog
