"""Every shipped config under every shipped profile, as a user runs it: what each job would ask the scheduler for.

These are dry runs of the user's own command (`snakemake -n --profile slurm --configfile config/<x>.yaml`, from
the repository root), so nothing here needs SLURM. The real SLURM runs are in test_slurm.py.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from galaxy_pretraining import study as S
from galaxy_pretraining_tools.dag_counts import local_rule_names

from helpers.network_use import network_rules, rule_scripts
from helpers.paths import ROOT


def has_its_data(name: str) -> bool:
    """False for a config of your own sample (kind folder) whose table is not where it says, relative to the
    repository: the gz1-sdss configs read ../shared/data/gz1-sdss, beside the repository on the development
    machines and in CI only."""
    data = yaml.safe_load((ROOT / "config" / name).read_text())["data"]
    return data["kind"] != "folder" or (ROOT / data["folder"]["table"]).exists()


ALL_CONFIGS = sorted(p.name for p in (ROOT / "config").glob("*.yaml"))
CONFIGS = [name for name in ALL_CONFIGS if has_its_data(name)]
CONFIG_PARAMS = [pytest.param(name, marks=pytest.mark.skipif(
    name not in CONFIGS, reason="its sample is not beside the repository (../shared/data/gz1-sdss)")) for name in ALL_CONFIGS]
WITHOUT_DATA = pytest.mark.skipif(CONFIGS != ALL_CONFIGS, reason="configs skipped for want of their sample "
                                  f"(../shared/data/gz1-sdss): {sorted(set(ALL_CONFIGS) - set(CONFIGS))}")
PROFILES = sorted(p.name for p in (ROOT / "profiles").iterdir() if (p / "config.yaml").exists())
JOB = re.compile(r"^(local)?rule (\S+):\n(.*?)(?=^\S|\Z)", re.M | re.S)


def dry_run(snakemake_exe: str, config: str, profile: str) -> list[dict]:
    """The jobs a dry run of the user's command lists: rule, local or not, and resources as Snakemake prints them."""
    profile_argument = ["--profile", "slurm"] if profile == "slurm" else ["--profile", f"profiles/{profile}"]
    result = subprocess.run([snakemake_exe, "-n", *profile_argument, "--configfile", f"config/{config}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    jobs = []
    for match in JOB.finditer(result.stdout):
        resources = re.search(r"^\s+resources: (.*)$", match.group(3), re.M)
        fields = dict(item.split("=", 1) for item in resources.group(1).split(", ")) if resources else {}
        jobs.append({"rule": match.group(2), "local": bool(match.group(1)), "resources": fields})
    assert jobs, result.stdout[-3000:]
    return jobs


@pytest.fixture(scope="module")
def slurm_jobs(snakemake_exe):
    return {config: dry_run(snakemake_exe, config, "slurm") for config in CONFIGS}


def training_rules(config: dict) -> set[str]:
    return {group.rule_name for group in S.Study(config).groups}


def resolved(name: str) -> dict:
    return S.resolve(yaml.safe_load((ROOT / "config" / name).read_text()))


def test_the_shipped_configs_and_profiles_are_all_here():
    assert {"config.yaml", "demo.yaml", "fu-galaxy10.yaml", "zhu2019-gz2.yaml", "gz1-sdss-zoobot.yaml"} <= set(ALL_CONFIGS)
    assert PROFILES == ["local", "slurm"]
    assert (ROOT / "slurm").resolve() == (ROOT / "profiles/slurm").resolve()  # `--profile slurm` from the root


@pytest.mark.parametrize("config_name", CONFIG_PARAMS)
def test_every_training_job_goes_to_the_gpu_partition_with_its_gpu_cpus_and_memory(slurm_jobs, config_name):
    """The card's command on each shipped config: `snakemake --cores 8 --profile slurm [--configfile ...]`."""
    config = resolved(config_name)
    block = config["train_resources"]
    jobs = slurm_jobs[config_name]
    train = [job for job in jobs if job["rule"] in training_rules(config)]
    assert train, [job["rule"] for job in jobs]
    for job in train:
        resources = job["resources"]
        assert not job["local"], job
        assert resources.get("slurm_partition") == "gpu", job  # the schema's default, the profile's GPU partition
        assert resources.get("gpu") == str(block["gpu"]) == "1", job
        assert resources.get("cpus_per_task") == str(block["threads"]), job
        assert resources.get("mem_mb") == str(block["mem_mb"]), job
    # A prediction set's job (rule predict_<set>) is a GPU job too, on the training jobs' partition.
    predicting = {S.Study(config).prediction_rule_name(name) for name in config.get("predict") or {}}
    for job in jobs:
        if job["rule"] in predicting:
            assert job["resources"].get("slurm_partition") == "gpu" and job["resources"].get("gpu") == "1", job
        elif job["rule"] not in training_rules(config) and not job["local"] and job["rule"] != "all":
            assert job["resources"].get("slurm_partition") == "cpu", job
            assert job["resources"].get("gpu", "0") == "0", job


def test_the_papers_own_command_groups_its_runs_and_sends_every_group_to_the_gpu(slurm_jobs):
    """config/config.yaml trains 10 runs per job: one rule per group, each still on the GPU partition."""
    config = resolved("config.yaml")
    train = [job for job in slurm_jobs["config.yaml"] if job["rule"].startswith("train_")]
    assert config["train_resources"]["runs_per_job"] > 1
    assert len(train) == len(S.Study(config).groups)
    assert {job["resources"]["slurm_partition"] for job in train} == {"gpu"}
    assert {job["resources"]["cpus_per_task"] for job in train} == {str(config["train_resources"]["threads"])}


def test_a_site_partition_and_gpu_model_reach_every_training_job(snakemake_exe, tmp_path):
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["train_resources"].update(slurm_partition="a100-long", gpu_model="a100", mem_mb=30000,
                                     slurm_extra="'--signal=USR1@120'")
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run([snakemake_exe, "-n", "--profile", "slurm", "--configfile", str(path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    train = [m for m in JOB.finditer(result.stdout) if m.group(2).startswith("train_")]
    assert train
    for match in train:
        assert "slurm_partition=a100-long" in match.group(3) and "gpu_model=a100" in match.group(3)
        assert "mem_mb=30000" in match.group(3) and "slurm_extra='--signal=USR1@120'" in match.group(3)


@pytest.mark.parametrize("config_name", CONFIG_PARAMS)
def test_the_local_profile_runs_one_training_job_per_gpu(snakemake_exe, config_name):
    config = resolved(config_name)
    jobs = dry_run(snakemake_exe, config_name, "local")
    train = [job for job in jobs if job["rule"] in training_rules(config)]
    assert train and all(job["resources"].get("gpu") == "1" for job in train)
    profile = yaml.safe_load((ROOT / "profiles/local/config.yaml").read_text())
    assert "gpu=1" in profile["resources"]


def test_the_rules_that_reach_the_network_are_found_by_reading_the_code(root):
    """The finder itself: the download rules, and none of the rules that only compute."""
    found = network_rules(root)
    assert {"fetch_catalog", "download_cutouts", "fetch_weights", "fetch_hub_weights", "fetch_galaxy10"} <= found
    assert not found & {"group.rule_name", "catalog", "array_store", "splits", "figure", "table", "gradcam", "mock_sample"}
    assert set(rule_scripts(root / "workflow")) > found | {"group.rule_name"}  # the training rules are read too


@WITHOUT_DATA
def test_exactly_the_rules_that_reach_the_network_run_on_the_head_node(slurm_jobs, root):
    """For every shipped config, the jobs of rules that download are exactly its local ones, and every such rule is
    seen in some config. A dry run does not print which jobs are local (Snakemake leaves that to the executor), so
    locality is read from the rules (`localrule: True`); test_slurm.py checks on a real SLURM that such a rule is
    never submitted."""
    downloading = network_rules(root)
    local = local_rule_names(root)
    seen = set()
    for config_name, jobs in slurm_jobs.items():
        rules = {job["rule"] for job in jobs}
        assert rules & local == rules & downloading, config_name
        seen |= rules & downloading
    assert seen == downloading == local
    assert "localrules:" not in "".join(p.read_text() for p in (root / "workflow/rules").glob("*.smk")) + (
        root / "Snakefile").read_text()  # a property of each rule, not a list kept elsewhere
