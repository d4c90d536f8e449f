"""What the shipped SLURM profile submits, read off stand-in SLURM commands (case slurm-mem-per-cpu; no SLURM needed).

The stand-ins in tests/data/cases/slurm-mem-per-cpu/fake-slurm record every call
(sbatch's arguments among them) and report every job as FAILED, so Snakemake
retries the training job and each attempt's sbatch call is seen. The real
SLURM runs are in test_slurm.py.
"""

import os
import re
import subprocess
import time

import pytest
import yaml

from helpers.configs import cluster_case_config
from helpers.paths import DATA

pytestmark = pytest.mark.slow

FAKE_SLURM = DATA / "cases/slurm-mem-per-cpu/fake-slurm"


def site_profile(folder, root, memory: dict):
    """The shipped SLURM profile with its SITE memory line as a site writes it (`memory` replaces `mem_mb: 8000`)."""
    profile = yaml.safe_load((root / "profiles/slurm/config.yaml").read_text())
    assert profile["default-resources"].pop("mem_mb") == 8000
    profile["default-resources"].update(memory)
    profile["slurm-init-seconds-before-status-checks"] = 1
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return folder


@pytest.fixture(scope="module")
def study(root, tmp_path_factory, snakemake_exe):
    """The case's store and catalog, made locally: only the training job is left to submit."""
    folder = tmp_path_factory.mktemp("slurm-submission")
    config = cluster_case_config("slurm-mem-per-cpu")
    config["train_resources"]["retries"] = 1  # two attempts to see
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    base = [snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(folder), "--configfile",
            str(folder / "config.yaml")]
    made = subprocess.run(base + ["--cores", "2", "results/slurm-mem-per-cpu/images.npy",
                                  "results/slurm-mem-per-cpu/catalog.parquet"],
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    return folder, base


def submitted(study, root, tmp_path, memory: dict, attempts: int = 2) -> list[str]:
    """The sbatch calls of the training job's first `attempts` attempts under the shipped profile with `memory` as its
    default (Snakemake is killed once they are made: it would only wait for its status checks, and its shutdown takes
    half a minute more; without its lock, so that the next test can run in the same folder)."""
    folder, base = study
    log = tmp_path / "fake-slurm-calls.log"
    env = {**os.environ, "PATH": f"{FAKE_SLURM}:{os.environ['PATH']}", "FAKE_SLURM_LOG": str(log)}
    profile = site_profile(tmp_path / "profile", root, memory)

    def calls() -> list[str]:
        return [line for line in (log.read_text().splitlines() if log.exists() else [])
                if line.startswith("sbatch") and "--comment rule_train_lite_scratch_run000 " in line]

    with subprocess.Popen(base + ["--profile", str(profile), "--cores", "8", "--nolock",
                                  "results/slurm-mem-per-cpu/runs/lite-scratch/run000/metrics.parquet"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as run:
        deadline = time.time() + 300
        while len(calls()) < attempts and run.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        run.kill()
        output = run.communicate(timeout=120)[0]
    assert len(calls()) >= attempts, output[-4000:]
    return calls()[:attempts]


def option(call: str, name: str) -> str | None:
    """The value sbatch got for `name` (`--mem 16000` or `--mem=16000`), None without it."""
    found = re.search(rf" {re.escape(name)}[ =](\S+)", call)
    return found.group(1) if found else None


@pytest.mark.parametrize("memory", [{"mem_mb_per_cpu": 4000}, {"mem_mb_per_cpu": 1000}, {"mem_mb": 8000}],
                         ids=["mem_mb_per_cpu-4000", "mem_mb_per_cpu-1000", "mem_mb-8000"])
def test_a_training_job_gets_the_memory_its_rule_states_under_any_profile_default(study, root, tmp_path, memory):
    """train_resources.mem_mb (the schema's 16000) is what sbatch gets, as --mem, whatever the site's default, and
    the retry asks for the same."""
    calls = submitted(study, root, tmp_path, memory)
    for call in calls:
        assert option(call, "--mem") == "16000", call
        assert option(call, "--mem-per-cpu") is None, call
        assert option(call, "--cpus-per-task") == "2", call


def test_each_attempt_after_a_failed_one_asks_for_more_time(study, root, tmp_path):
    """The schema's 15 min overhead + 2 epochs x 0.2 min: 16 min for the first attempt, twice that for the retry."""
    calls = submitted(study, root, tmp_path, {"mem_mb": 8000})
    assert [option(call, "-t") for call in calls] == ["16", "32"]


def test_jobs_are_named_with_the_profiles_prefix_and_log_into_its_folder(study, root, tmp_path):
    """The shipped profile's slurm-jobname-prefix and slurm-logdir: sbatch gets --job-name galaxy-pretraining_<id>
    and an --output under <working directory>/logs/slurm/<rule>/."""
    folder, _ = study
    call = submitted(study, root, tmp_path, {"mem_mb": 8000}, attempts=1)[0]
    assert re.fullmatch(r"galaxy-pretraining_[0-9a-f-]+", option(call, "--job-name").strip("'\"")), call
    output = option(call, "--output").strip("'\"")
    assert output.startswith(f"{folder}/logs/slurm/rule_train_lite_scratch_run000/"), call
