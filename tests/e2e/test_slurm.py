"""The repository's SLURM profile against a real single-node SLURM (opt-in; CI runs it).

Set GALAXY_SLURM_TEST=1 to run it elsewhere; it installs SLURM from Debian's
packages and starts daemons, so it needs root.
"""

import logging
import math
import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from galaxy_pretraining.training.stopping import ANNOUNCEMENT

from helpers.configs import case_config
from helpers.slurm_cluster import SlurmCluster, install
from helpers.training import TIMING as RUN_TIMING

log = logging.getLogger(__name__)
ENABLED = os.environ.get("CI") == "true" or os.environ.get("GALAXY_SLURM_TEST") == "1"
pytestmark = [
    pytest.mark.skipif(not ENABLED, reason="opt-in: set GALAXY_SLURM_TEST=1 (CI sets CI=true) to start a real SLURM"),
    pytest.mark.slow,
]
# Columns that differ between equal runs: timings, the attempt, and the SLURM job id the run was trained under.
TIMING = [*RUN_TIMING, "slurm_job_id"]
# The time-limit test: a short run first measures seconds per epoch, then the run is sized to this much training
CALIBRATION_EPOCHS = 20
TRAINING_SECONDS = 60
SIZINGS = 3  # a run that no kill stopped mid-training (the machine sped up) is sized again from its own speed


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("the SLURM test installs packages and starts daemons: it needs root")
    install()
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def tiny_config(root, runs=1):
    return case_config("slurm-1-run" if runs == 1 else "slurm-2-runs")


def test_demo_study_through_the_slurm_profile(root, tmp_path, snakemake_exe, cluster):
    """Two runs per training job, as the paper's config groups its runs: each group is a rule of its own
    (train_<model>_run000_001), and still goes to the GPU partition with a GPU."""
    config = tiny_config(root, runs=2)
    config["train_resources"] = {"runs_per_job": 2}
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    base = [snakemake_exe, "-s", str(root / "Snakefile"), "--configfile", str(config_path)]

    local = subprocess.run(base + ["-d", str(tmp_path / "local"), "--cores", "2"], capture_output=True, text=True,
                           timeout=600)
    assert local.returncode == 0, local.stderr[-3000:]

    # The user's command, from a folder holding the repository's `slurm` profile link.
    on_slurm = subprocess.run(
        base + ["-d", str(tmp_path / "cluster"), "--cores", "8", "--profile", str(root / "slurm"),
                "--slurm-init-seconds-before-status-checks", "2"],
        capture_output=True, text=True, timeout=900, env=cluster.env, cwd=root,
    )
    assert on_slurm.returncode == 0, on_slurm.stderr[-5000:]

    # Same results as the local run (deterministic CPU training: identical metrics).
    for model in ("efficientnet_lite0-imagenet", "efficientnet_lite0-scratch"):
        for run in ("run000", "run001"):
            a = pd.read_parquet(tmp_path / "local/results/slurm/runs" / model / run / "metrics.parquet")
            b = pd.read_parquet(tmp_path / "cluster/results/slurm/runs" / model / run / "metrics.parquet")
            pd.testing.assert_frame_equal(a.drop(columns=TIMING), b.drop(columns=TIMING))
    table_a = pd.read_csv(tmp_path / "local/results/slurm/tables/table1_budgets.csv")
    table_b = pd.read_csv(tmp_path / "cluster/results/slurm/tables/table1_budgets.csv")
    pd.testing.assert_frame_equal(table_a, table_b)

    # What SLURM was asked for: training on the gpu partition with a GPU and a time limit that
    # grows with epochs; everything else on the cpu partition without one, the tables and
    # figures together as one job; downloads and weight fetching never submitted.
    jobs = [j for j in cluster.jobs() if j.get("Comment", "").startswith("rule_")]
    assert jobs and all(j["JobState"] == "COMPLETED" for j in jobs), [(j["Comment"], j["JobState"]) for j in jobs]
    train = [j for j in jobs if j["Comment"].startswith("rule_train_")]
    others = [j for j in jobs if not j["Comment"].startswith("rule_train_")]
    assert sorted(j["Comment"] for j in train) == ["rule_train_efficientnet_lite0_imagenet_run000_001",
                                                   "rule_train_efficientnet_lite0_scratch_run000_001"]
    for job in train:
        assert job["Partition"] == "gpu"
        assert "gpu:1" in job.get("TresPerJob", ""), job
        assert job["NumCPUs"] == "2" and job["MinMemoryNode"] == "16000M", job  # the schema's train_resources
        hours, minutes, _ = job["TimeLimit"].split(":")
        assert int(hours) * 60 + int(minutes) == 15 + 1  # 15 min overhead + 2 runs x 2 epochs x 0.2 min, rounded up
    seen = {row["comment"]: row for row in cluster.squeue()}  # as the user sees them
    for job in train:
        assert seen[job["Comment"]]["partition"] == "gpu" and seen[job["Comment"]]["state"] == "COMPLETED", seen
    for job in others:
        assert job["Partition"] == "cpu" and "gpu" not in job.get("TresPerJob", ""), job
    names = " ".join(j["Comment"] for j in others)
    for rule in ("mock_sample", "catalog", "array_store"):
        assert f"rule_{rule}" in names
    assert "fetch_weights" not in names  # localrule: True, run by Snakemake itself (the head node)
    assert len(others) <= 6, names  # 20 table and figure steps went out as one "summary" job
    # ... which asks for what its steps state (1 CPU, 2 GB, 5 min each; study.resources.SUMMARY_STEP), added up
    # over the layers of at most --cores (8) steps that run side by side: minutes, not the profile's default hour
    # and 8 GB per step (14 h and 16 GB before).
    summary = [j for j in others if j["Comment"].startswith("rule_summary")]  # a group job: rule_<group>_<rules>
    assert summary and all(j["JobState"] == "COMPLETED" for j in summary), summary
    for job in summary:
        hours, minutes, _ = job["TimeLimit"].split(":")
        assert int(hours) * 60 + int(minutes) <= 60 and int(job["NumCPUs"]) <= 8, job
        assert int(job["MinMemoryNode"].rstrip("M")) <= 8 * 2000, job


def test_a_training_job_stopped_by_its_time_limit_resumes_from_the_batch_it_stopped_at(root, tmp_path, snakemake_exe,
                                                                                       cluster):
    """A 1-minute time limit: SLURM's SIGTERM, last.pt, a retry with more time that resumes there, the numbers of a
    run never stopped; and the memory the rule states, under a site profile that asks for memory per CPU.

    checkpoint_every equals the epochs, so only the signal's own checkpoints can
    carry the run across the kills: without them every attempt starts over.
    The epochs are sized to this machine's speed, measured first on a short
    local run of the same config: TRAINING_SECONDS of training, as long as the
    first attempt's limit, so that the first attempt, which must also start up
    and trains slower under SLURM (1.5 times as long per epoch here, beside the
    daemons and Snakemake's status checks), is killed mid-training on a fast
    machine as on a slow one. A fixed count (250 epochs) finished its training
    just before the kill on a faster machine, and the test saw no stop. A short
    run made while the machine was busy still sizes the job too small (40
    epochs, when another workflow ran beside it); when no attempt was stopped
    mid-training, the job is run again from nothing, sized from its own speed
    under SLURM (SIZINGS times at most). Attempt k asks for k minutes, so the
    job finishes however busy the machine is (with the same minute for every
    attempt, three attempts in a row were stopped on a busy CI machine).
    """
    profile = yaml.safe_load((root / "profiles/slurm/config.yaml").read_text())
    profile["default-resources"].pop("mem_mb")
    profile["default-resources"]["mem_mb_per_cpu"] = 1000  # SITE: memory per CPU (the case slurm-mem-per-cpu)
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile/config.yaml").write_text(yaml.safe_dump(profile))
    config = tiny_config(root)
    config["study"] = "timeout"
    config["analysis"]["budgets"] = [1, 5]  # the tiny config's budget_gains reads budget 1
    run_folder = "results/timeout/runs/efficientnet_lite0-scratch/run000"

    def configured(epochs: int) -> list[str]:
        """The snakemake command for the run's metrics under this config with `epochs` epochs."""
        config["models"] = {"efficientnet_lite0-scratch": {"architecture": "efficientnet_lite0", "weights": "none",
                                                           "epochs": epochs}}
        config["training"].update(checkpoint_every=epochs)
        # a 1-minute limit (minutes_per_epoch x epochs rounds up to 1), 2 for the second attempt, ...; retries: room
        # for a slow or busy machine (an attempt makes less progress there); unused ones cost nothing
        config["train_resources"] = {"minutes_overhead": 0, "minutes_per_epoch": 0.5 / epochs, "retries": 4,
                                     "threads": 2}
        path = tmp_path / f"config-{epochs}.yaml"
        path.write_text(yaml.safe_dump(config))
        return [snakemake_exe, f"{run_folder}/metrics.parquet", "-s", str(root / "Snakefile"), "--configfile",
                str(path)]

    def seconds_per_epoch(folder: Path) -> float:
        """The median wall seconds of an epoch (the first, which warms up, left out) of the run made in `folder`."""
        return pd.read_parquet(folder / run_folder / "metrics.parquet")["seconds"].iloc[1:].median()

    calibration = subprocess.run(configured(CALIBRATION_EPOCHS) + ["-d", str(tmp_path / "calibration"), "--cores",
                                                                   "2"], capture_output=True, text=True, timeout=600)
    assert calibration.returncode == 0, calibration.stderr[-3000:]
    epochs = max(CALIBRATION_EPOCHS, math.ceil(TRAINING_SECONDS / seconds_per_epoch(tmp_path / "calibration")))

    # Every kill that came while training could be stopped (from when the script had caught the signals, as it
    # says first thing in the SLURM job's log, until the rule had finished) was caught: it wrote where it stopped
    # (in that log, since Snakemake removes a failed job's own log before the retry) and exited 143, and the next
    # attempt resumed from exactly there (mid-epoch, after the batch in progress when the signal came): nothing but
    # start-up time was lost. On a busy machine a kill may also come before (the job's Snakemake still starting:
    # nothing to save) or after (training done, Snakemake still wrapping up: the retry finds the run finished).
    where = r"(in epoch \d+ after \d+ of \d+ training images|after epoch \d+)"
    for attempt in range(1, SIZINGS + 1):
        base, folder = configured(epochs), tmp_path / f"cluster{attempt}"
        result = subprocess.run(
            base + ["-d", str(folder), "--cores", "8", "--profile", str(tmp_path / "profile"),
                    "--slurm-init-seconds-before-status-checks", "2"],
            capture_output=True, text=True, timeout=1500, env=cluster.env, cwd=root,
        )
        assert result.returncode == 0, result.stderr[-5000:]
        train_jobs = sorted((j for j in cluster.jobs() if j.get("Comment", "").startswith("rule_train_")
                             and str(folder) in j.get("WorkDir", "") + j.get("StdOut", "")), key=lambda j: int(j["JobId"]))
        states = [j["JobState"] for j in train_jobs]
        assert states[-1] == "COMPLETED" and set(states[:-1]) <= {"TIMEOUT"}, states
        # attempt k asked for k minutes, and every attempt for the rule's memory, not the profile's 2 x 1000 MB
        assert [j["TimeLimit"] for j in train_jobs] == [f"00:0{k}:00" for k in range(1, len(train_jobs) + 1)], states
        assert all(j["MinMemoryNode"] == "16000M" for j in train_jobs), [j.get("MinMemoryCPU") for j in train_jobs]
        stops, finished = [], False
        for job in train_jobs:
            if job["JobState"] == "TIMEOUT":
                slurm_log = Path(job["StdOut"]).read_text()
                if "Finished jobid: 0 (Rule: train_efficientnet_lite0_scratch_run000)" in slurm_log:
                    finished = True
                elif ANNOUNCEMENT in slurm_log:
                    assert "returned non-zero exit status 143" in slurm_log, slurm_log[-3000:]
                    found = re.findall(r"SIGTERM: stopped efficientnet_lite0 run 0 " + where, slurm_log)
                    assert len(found) == 1 and not finished, slurm_log[-3000:]
                    stops += found
        job_log = (folder / "results/timeout/logs/train/efficientnet_lite0-scratch/run000.log").read_text()
        resumed = re.findall(r"resuming from \S+last.pt " + where, job_log)
        assert resumed == ([f"after epoch {epochs}"] if finished else stops[-1:]), (states, stops, resumed)
        if stops:
            break
        # No kill came mid-training: the machine trained faster than the short run measured (its load fell, or
        # the run's training ended just before the limit). Nothing was checked: again from nothing, sized from
        # the speed this run had under SLURM (1.5 times the limit's training), at least twice the epochs.
        tried, epochs = epochs, max(2 * epochs, math.ceil(1.5 * TRAINING_SECONDS / seconds_per_epoch(folder)))
        log.warning("slurm test: no attempt stopped mid-training, sizing again (epochs_tried=%d, states=%s, epochs=%d)",
                    tried, states, epochs)
    assert stops, f"in {SIZINGS} sizings up to {tried} epochs no attempt was stopped mid-training"

    local = subprocess.run(base + ["-d", str(tmp_path / "local"), "--cores", "2"], capture_output=True, text=True,
                           timeout=900)
    assert local.returncode == 0, local.stderr[-3000:]
    stopped = pd.read_parquet(folder / run_folder / "metrics.parquet")
    whole = pd.read_parquet(tmp_path / "local" / run_folder / "metrics.parquet")
    assert list(stopped["epoch"]) == list(range(1, epochs + 1))
    pd.testing.assert_frame_equal(stopped.drop(columns=TIMING), whole.drop(columns=TIMING))
