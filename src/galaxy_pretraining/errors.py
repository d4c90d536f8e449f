"""Failures that a retry cannot fix: the same job on the same inputs would meet them again.

A job's script wraps its work in `not_retried(record, fingerprint)`. When the
work raises `NotRetryable` (or a subclass: `BadData`, `BadConfig`, `NoSpaceLeft`),
the message is recorded in `record` with the job's fingerprint and the
Snakemake invocation (`INVOCATION`, set once by the main process, inherited by
every job it starts, on SLURM too); Snakemake's next attempt of the same job
(`retries`) finds the record and fails at once with that message, before any
work. A new `snakemake` command, or other inputs or params, run the job again.
Interruptions (SIGTERM, a time limit) and other exceptions are not recorded,
so they are retried as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)

# Environment variable naming one `snakemake` command: attempts of a job within it share it.
INVOCATION = "GALAXY_PRETRAINING_INVOCATION"


class NotRetryable(Exception):
    """A failure of the inputs, the config or the run itself, not an interruption.

    Bad data, a divergence or a full disk, say.

    A job that stops with one records it, so that Snakemake's next attempt of the same job fails at once with
    the same message instead of paying for the same failure again.
    """


class SignalExit(SystemExit):
    """A process ending on a signal after cleaning up: an interruption, retried.

    It exits with 128 + the signal's number.
    """

    def __init__(self, signum: int, message: str):
        super().__init__(128 + signum)
        self.signum = signum
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadData(NotRetryable, ValueError):
    """The job's input data cannot give a result (a file, a row, a label); the message names which."""


class BadConfig(NotRetryable, ValueError):
    """The config asks for something the job cannot do; the message names the key."""


class NoSpaceLeft(NotRetryable, OSError):
    """A write that does not fit.

    A full disk or quota, or a file over the file size limit; the message names the path, the space needed and the
    space free.
    """


def mark_invocation() -> str:
    """The id of this `snakemake` command, set in the environment once (by its main process) and inherited."""
    return os.environ.setdefault(INVOCATION, uuid.uuid4().hex)


def job_fingerprint(params, inputs: Iterable[os.PathLike] = ()) -> str:
    """A hash of a job's params (JSON-able) and of its input files' paths, sizes and modification times.

    Costs a stat per input, no read: Snakemake reruns a job when an input is
    written again, which changes its modification time.
    """
    files = []
    for path in inputs:
        path = Path(path)
        stat = path.stat() if path.exists() else None
        files.append([str(path), None if stat is None else [stat.st_size, stat.st_mtime_ns]])
    text = json.dumps({"params": params, "inputs": files}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def failure_record_path(log_path: os.PathLike) -> Path:
    """Where a job whose log is `log_path` records a failure a retry cannot fix: beside its log."""
    log_path = Path(log_path)
    return log_path.with_name(f"{log_path.name}.not-retryable.json")


@contextlib.contextmanager
def not_retried(record: os.PathLike, fingerprint: str) -> Iterator[None]:
    """Fail at once when this job's earlier attempt in this `snakemake` command failed with NotRetryable.

    On entry, a record of the same fingerprint and invocation raises
    NotRetryable with the recorded message; a record of another one is
    removed. A NotRetryable raised in the block is recorded, then re-raised.
    Without an invocation id (not started by Snakemake) nothing blocks an attempt.
    """
    record = Path(record)
    invocation = os.environ.get(INVOCATION)
    if record.exists():
        try:
            previous = json.loads(record.read_text())
        except (OSError, ValueError):
            previous = {}
        if invocation is not None and previous.get("invocation") == invocation \
                and previous.get("fingerprint") == fingerprint:
            raise NotRetryable(f"{previous.get('message')} (an earlier attempt of this job failed so; not retried: "
                               f"fix the cause and run snakemake again; record {record})")
        record.unlink(missing_ok=True)
    try:
        yield
    except NotRetryable as error:
        with contextlib.suppress(OSError):  # a full disk may refuse the record too; the failure itself still stands
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps({"fingerprint": fingerprint, "invocation": invocation,
                                          "error": type(error).__name__, "message": str(error)}))
            log.error("%s: not retryable, recorded (error=%s, record=%s)", fingerprint, type(error).__name__, record)
        raise
