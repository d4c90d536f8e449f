"""The run spec the Study builds: one Protocol per job (params and fingerprint), its choices as the schema's."""

import dataclasses

import pytest

from galaxy_pretraining.config import load_schema
from galaxy_pretraining.study import Study, job_settings, protocol_settings, train_settings
from galaxy_pretraining.training.spec import CHOICES, Machine, Protocol


def test_the_rules_params_hold_the_protocol_and_a_job_reads_the_rest_from_its_config(paper):
    """Only settings that can change a result are params (a change of params reruns a finished job)."""
    config = paper
    settings = train_settings(config, Study(config).jobs[0])
    protocol = protocol_settings(settings)
    assert not set(protocol) & {"eval_batch_size", "device", "compile", "checkpoint_every"}
    assert {"batch_size", "optimizer", "crop_size", "rotation", "evaluation", "seed", "run"} <= set(protocol)
    assert job_settings([protocol], config) == [settings]
    other = {**config, "training": {**config["training"], "device": "cpu", "eval_batch_size": 3}}
    assert job_settings([protocol], other)[0].fingerprint() == settings.fingerprint()


def test_a_jobs_protocol_is_its_settings_less_the_machine_and_names_its_classes(paper):
    study = Study(paper)
    for job in (study.jobs[0], study.jobs[-1]):
        protocol = study.protocol(job)
        params = protocol.params()
        assert params.pop("class_names") == paper["classes"] and protocol.n_classes == len(paper["classes"])
        settings = protocol_settings(train_settings(paper, job))
        assert settings.pop("n_classes") == len(paper["classes"])
        assert params == settings
        assert Protocol.from_params(protocol.params()) == protocol
    assert study.protocol(study.jobs[0]).same_group(study.protocol(study.jobs[1])) == []
    assert study.protocol(study.jobs[0]).fingerprint() != study.protocol(study.jobs[1]).fingerprint()


def test_the_machine_never_changes_the_protocol(paper):
    other = {**paper, "training": {**paper["training"], "device": "cpu", "eval_batch_size": 3, "compile": False,
                                   "checkpoint_every": 1}}
    job = Study(paper).jobs[0]
    assert Study(other).protocol(job) == Study(paper).protocol(job)
    assert Machine.from_config(other, threads=2) == Machine("cpu", False, 3, 1, 2)
    training = set(load_schema()["properties"]["training"]["properties"])
    machine = {f.name for f in dataclasses.fields(Machine)} - {"threads"}
    assert machine | ({f.name for f in dataclasses.fields(Protocol)} & training) == training


def _schema_node(key: str) -> dict:
    properties = load_schema()["properties"]
    if key == "weights":
        return properties["models"]["additionalProperties"]["properties"]["weights"]
    node = properties["training"]
    for part in key.split("."):
        node = node["properties"][part]
    return node


@pytest.mark.parametrize("key", sorted(CHOICES))
def test_each_choice_of_the_spec_is_the_schemas_enum(key):
    assert list(CHOICES[key]) == _schema_node(key)["enum"]


def test_every_enum_of_the_training_block_is_a_choice_of_the_spec():
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            if "enum" in node:
                found.append(".".join(path))
            for name, sub in node.get("properties", {}).items():
                walk(sub, [*path, name])
            for sub in node.get("anyOf", []) + node.get("oneOf", []):
                walk(sub, path)

    walk(load_schema()["properties"]["training"], [])
    assert sorted(found) == sorted(k for k in CHOICES if k != "weights")
