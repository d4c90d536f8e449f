"""`galaxy10_decals`: Galaxy10 DECaLS, one HDF5 file from Zenodo (or a mock of it); see galaxy10.py."""

from __future__ import annotations

from collections.abc import Mapping

from ....config import check_count_keys
from .classes import CLASS_NAMES

FIXED_CLASSES = CLASS_NAMES
FILE = "resources/galaxy10_decals/Galaxy10_DECals.h5"


def mock_file(results: str) -> str:
    return f"{results}/mock/Galaxy10_DECals.h5"


def hdf5_file(config: Mapping, results: str) -> str:
    """The file the catalog reads: the fetched real one, or the study's mock."""
    return mock_file(results) if config["data"]["galaxy10_decals"]["mock"] else FILE


def check(config: Mapping) -> None:
    check_count_keys("data.galaxy10_decals.expected_class_counts", config["data"]["galaxy10_decals"]["expected_class_counts"],
                     CLASS_NAMES)


def catalog_inputs(config: Mapping, results: str) -> dict[str, str]:
    return {"hdf5": hdf5_file(config, results)}


def summary_inputs(config: Mapping, results: str) -> dict[str, str]:
    return {}


def build_catalog(settings: Mapping, class_names: list[str], inputs: Mapping[str, str]):
    """The real file is verified against its sha256 before any use; then the counts.

    A mock file is the study's own and is not verified.
    """
    from ...catalog import check_class_counts
    from ...download import verify_sha256
    from .galaxy10 import catalog_from_hdf5

    if not settings["mock"]:
        verify_sha256(inputs["hdf5"], settings["sha256"])
    catalog = catalog_from_hdf5(inputs["hdf5"], class_names)
    if settings["expected_class_counts"]:
        check_class_counts(catalog, settings["expected_class_counts"])
    return catalog
