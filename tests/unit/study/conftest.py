"""The configs the study tests read: the paper's study, the demo, and a minimal one."""

import copy

import pytest
import yaml

from galaxy_pretraining.study import resolve

MINIMAL = {
    "study": "minimal",
    "data": {"kind": "mock", "mock": {"n_galaxies": 50}},
    "classes": ["elliptical", "lenticular", "spiral", "irregular+misc"],
    "image_size": 256,
    "splits": {"runs": 2, "test_size": 10},
    "models": {"alexnet-imagenet": {"architecture": "alexnet", "weights": "imagenet", "epochs": 3}},
}


@pytest.fixture
def paper(root):
    return resolve(yaml.safe_load((root / "config/config.yaml").read_text()))


@pytest.fixture
def demo(root):
    return resolve(yaml.safe_load((root / "config/demo.yaml").read_text()))


@pytest.fixture
def minimal():
    return copy.deepcopy(MINIMAL)
