"""training.spec: the run spec's enums are the schema's, and what its fingerprint does and does not hold."""

from dataclasses import replace

import pytest

from galaxy_pretraining.config import load_schema
from galaxy_pretraining.training.augment import NORMALIZATIONS, QUARTER_TURNS
from galaxy_pretraining.training.data import BUDGET_SCALINGS
from galaxy_pretraining.training.optim import OPTIMIZERS, SCHEDULE_UNITS
from galaxy_pretraining.training.spec import Protocol, RunPaths
from galaxy_pretraining.training.views import EVALUATIONS, INTERPOLATIONS

from helpers.training import settings

TRAINING = load_schema()["properties"]["training"]["properties"]


@pytest.mark.parametrize(("key", "ours"), [
    ("normalization", NORMALIZATIONS),
    ("evaluation", EVALUATIONS),
    ("interpolation", INTERPOLATIONS),
    ("budget_scaling", BUDGET_SCALINGS),
])
def test_each_enum_the_training_package_knows_is_the_schemas(key, ours):
    assert list(TRAINING[key]["enum"]) == list(ours)


def test_the_optimisers_and_schedule_units_are_the_schemas_and_quarter_turns_is_a_rotation():
    assert list(TRAINING["optimizer"]["properties"]["name"]["enum"]) == list(OPTIMIZERS)
    assert list(TRAINING["lr_schedule"]["properties"]["unit"]["enum"]) == list(SCHEDULE_UNITS)
    assert QUARTER_TURNS in str(TRAINING["rotation"])


def test_the_fingerprint_holds_the_protocol_with_its_class_names_and_params_round_trip():
    s = settings()
    assert Protocol.from_params(s.params()) == s and s.fingerprint() == Protocol.from_params(s.params()).fingerprint()
    assert replace(s, class_names=("b", "a", "c")).fingerprint() != s.fingerprint()  # the class order is the protocol
    assert replace(s, run=1).fingerprint() != s.fingerprint() and not s.same_group(replace(s, run=1))
    assert s.same_group(replace(s, epochs=4)) == ["epochs"]
    paths = RunPaths("r/run000/metrics.parquet", "r/run000/predictions.parquet", None)
    assert RunPaths.from_params(paths.params()).best_model is None
    assert str(paths.checkpoint) == "r/run000/last.pt"
