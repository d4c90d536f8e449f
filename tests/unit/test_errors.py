"""errors.not_retried: a failure a retry cannot fix is paid for once per snakemake command, not once per retry."""

import os
import subprocess
import sys
import textwrap

import pytest

from galaxy_pretraining.errors import INVOCATION, BadData, NotRetryable, failure_record_path, job_fingerprint, not_retried

SNAKEFILE = """
from galaxy_pretraining.errors import mark_invocation

mark_invocation()


rule job:
    output:
        "done.txt",
    log:
        "logs/job.log",
    retries: 2
    params:
        fail=config["fail"],
    script:
        "job.py"
"""

JOB = """
from pathlib import Path

from galaxy_pretraining.errors import BadData, failure_record_path, job_fingerprint, not_retried

with not_retried(failure_record_path(snakemake.log[0]), job_fingerprint([snakemake.params.fail], snakemake.input)):
    with open("attempts.txt", "a") as attempts:  # what each attempt that does the work costs
        attempts.write("work\\n")
    if snakemake.params.fail == "bad data":
        raise BadData("labels.csv line 7: label 'spiarl' is not a class")
    if snakemake.params.fail == "transient":
        raise RuntimeError("connection reset")
    Path(snakemake.output[0]).write_text("done")
"""


def snakemake(folder, fail):
    environment = {k: v for k, v in os.environ.items() if k != INVOCATION}  # a new command, as a user types it
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "snakemake"), "--cores", "1", "--config",
                           f"fail={fail}", "--nolock"], cwd=folder, env=environment, capture_output=True, text=True)


def test_a_not_retryable_failure_is_not_retried_but_a_new_command_tries_again_and_a_transient_one_is(tmp_path):
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "job.py").write_text(textwrap.dedent(JOB))
    attempts = tmp_path / "attempts.txt"
    first = snakemake(tmp_path, "bad data")
    assert first.returncode != 0
    assert attempts.read_text().count("work") == 1  # three attempts, one of them worked: the others failed at once
    assert first.stderr.count("Error in rule job") == 3, first.stderr
    assert "an earlier attempt of this job failed so; not retried" in first.stderr
    second = snakemake(tmp_path, "bad data")  # the next command tries again (the user may have freed the disk)
    assert second.returncode != 0 and attempts.read_text().count("work") == 2
    attempts.unlink()
    transient = snakemake(tmp_path, "transient")  # an error of another kind is retried: all three attempts work
    assert transient.returncode != 0 and attempts.read_text().count("work") == 3
    attempts.unlink()
    fixed = snakemake(tmp_path, "none")
    assert fixed.returncode == 0 and (tmp_path / "done.txt").read_text() == "done"
    assert not failure_record_path(tmp_path / "logs" / "job.log").exists()


def test_the_record_blocks_only_the_same_job_in_the_same_command(tmp_path, monkeypatch):
    record = failure_record_path(tmp_path / "logs" / "train" / "run000.log")
    monkeypatch.setenv(INVOCATION, "command-1")
    with pytest.raises(BadData), not_retried(record, "abc"):
        raise BadData("the training set holds 1 image")
    ran = []
    with pytest.raises(NotRetryable, match="the training set holds 1 image .an earlier attempt"), \
            not_retried(record, "abc"):
        ran.append(True)
    assert not ran
    with not_retried(record, "other inputs"):  # other params or inputs: the job runs
        ran.append(True)
    assert ran == [True] and not record.exists()
    monkeypatch.setenv(INVOCATION, "command-1")
    with pytest.raises(RuntimeError), not_retried(record, "abc"):  # not recorded: retried
        raise RuntimeError("CUDA error: an illegal memory access")
    assert not record.exists()


def test_a_job_fingerprint_follows_its_params_and_rewritten_inputs(tmp_path):
    table = tmp_path / "labels.csv"
    table.write_text("id,label\n")
    before = job_fingerprint({"lr": 0.1}, [table])
    assert job_fingerprint({"lr": 0.1}, [table]) == before
    assert job_fingerprint({"lr": 0.01}, [table]) != before
    os.utime(table, ns=(1, 1))
    assert job_fingerprint({"lr": 0.1}, [table]) != before
