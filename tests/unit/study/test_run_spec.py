"""The run spec the Study builds: one Protocol per job (params and fingerprint), its choices as the schema's."""

import dataclasses

import pytest

from galaxy_pretraining.config import load_schema
from galaxy_pretraining.study import Study
from galaxy_pretraining.training.spec import CHOICES, Machine, Protocol, RunPaths


def test_the_rules_params_hold_the_protocol_and_a_job_reads_the_rest_from_its_config(paper):
    """Only settings that can change a result are params (a change of params reruns a finished job)."""
    config = paper
    study = Study(config)
    job = study.jobs[0]
    settings = study.protocol(job)
    protocol = settings.params()
    assert not set(protocol) & {"eval_batch_size", "device", "compile", "checkpoint_every", "tensorboard",
                             "compile_cache"}
    assert {"batch_size", "optimizer", "crop_size", "rotation", "evaluation", "seed", "run"} <= set(protocol)
    assert protocol["class_names"] == config["classes"] and settings.n_classes == len(config["classes"])
    assert Protocol.from_params(protocol) == settings
    other = {**config, "training": {**config["training"], "device": "cpu", "eval_batch_size": 3}}
    assert Study(other).protocol(job).fingerprint() == settings.fingerprint()
    group = study.groups[0]
    paths = [study.paths.run(j) for j in group.jobs]
    outputs = study.group_outputs(group)
    assert [str(p.metrics) for p in paths] == outputs["metrics"]
    assert [str(p.best_model) for p in paths if p.best_model] == outputs.get("best_model", [])
    assert [RunPaths.from_params(p.params()) for p in paths] == paths


def test_runs_of_one_group_share_their_protocol_but_not_its_fingerprint(paper):
    study = Study(paper)
    assert study.protocol(study.jobs[0]).same_group(study.protocol(study.jobs[1])) == []
    assert study.protocol(study.jobs[0]).fingerprint() != study.protocol(study.jobs[1]).fingerprint()


def test_the_machine_never_changes_the_protocol(paper):
    other = {**paper, "training": {**paper["training"], "device": "cpu", "eval_batch_size": 3, "compile": False,
                                   "checkpoint_every": 1}}
    job = Study(paper).jobs[0]
    assert Study(other).protocol(job) == Study(paper).protocol(job)
    assert Machine.from_config(other, threads=2) == Machine("cpu", False, 3, 1, 2, False, "resources/torch-compile-cache")
    training = set(load_schema()["properties"]["training"]["properties"])
    machine = {f.name for f in dataclasses.fields(Machine)} - {"threads", "tensorboard", "compile_cache"}
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
