"""Where a study stands, from its run folders alone: `python -m galaxy_pretraining.status --configfile C`.

For every run the config asks for, one row: its state (finished, running,
waiting or failed), epochs done out of its total, the best test accuracy so
far, seconds per epoch and an estimate of the time left; then the study's
counts and time left. It reads each run's record.json, progress.csv and
metrics.parquet (progress), never Snakemake's lock or a GPU, so it is safe on
a cluster's head node while the study runs.

A run is running while its record says so and its job is alive: on the same
host, its process exists; elsewhere, its record changed within `stale_after`
seconds (or three of its epochs, whichever is longer). A job killed without a
word (out of memory, a node lost) shows as failed; an interrupted run
(SIGTERM, a time limit) waits for its retry.
"""

from __future__ import annotations

import argparse
import datetime
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import yaml

from .progress import read_progress, read_record
from .study import Study, resolve

STATES = ("finished", "running", "waiting", "failed")
STALE_AFTER = 1800.0  # seconds without a word before a running record on another host counts as failed


def _age(timestamp: str | None, now: datetime.datetime) -> float:
    if not timestamp:
        return float("inf")
    return (now - datetime.datetime.fromisoformat(timestamp)).total_seconds()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_state(folder: Path, record: dict | None, seconds_per_epoch: float, now: datetime.datetime,
              stale_after: float = STALE_AFTER) -> tuple[str, str]:
    """(state, note) of one run folder: one of STATES and what it rests on."""
    if (folder / "metrics.parquet").exists():
        diverged = record is not None and record.get("state") == "diverged"
        return "finished", "diverged" if diverged else ""
    if record is None:
        return "waiting", ""
    state = record.get("state")
    attempt = record["attempts"][-1] if record.get("attempts") else {}
    if state == "running":
        if attempt.get("host") == socket.gethostname() and attempt.get("pid"):
            if _alive(int(attempt["pid"])):
                return "running", f"pid {attempt['pid']}"
            return "failed", f"its job (pid {attempt['pid']}) is gone without a word"
        limit = max(stale_after, 3 * seconds_per_epoch if seconds_per_epoch == seconds_per_epoch else 0)
        age = _age(record.get("updated_at"), now)
        if age <= limit:
            return "running", f"on {attempt.get('host', '?')}"
        return "failed", f"no word from {attempt.get('host', '?')} for {age:.0f} s"
    if state == "interrupted":
        return "waiting", f"interrupted after epoch {record.get('epochs_done', 0)}; its retry resumes there"
    if state in ("finished", "diverged"):
        return "waiting", "finished, outputs not written yet"
    return "failed", attempt.get("error", f"record state {state!r}")


def study_status(config: dict, directory: os.PathLike = ".", now: datetime.datetime | None = None,
                 stale_after: float = STALE_AFTER) -> pd.DataFrame:
    """One row per run of the resolved config, read from the run folders only.

    Columns: model, run, state, note, epochs_done, epochs, best_accuracy,
    seconds_per_epoch and seconds_left (NaN where no run of its model and
    length has finished an epoch yet).
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    study = Study(config)
    results = Path(directory) / study.results
    rows = []
    for job in study.jobs:
        folder = results / job.folder
        progress, record = read_progress(folder), read_record(folder)
        per_epoch = float(progress["seconds"].mean()) if len(progress) else float("nan")
        state, note = run_state(folder, record, per_epoch, now, stale_after)
        done = job.epochs if state == "finished" else len(progress)
        if state == "finished" and record is not None:
            done = record.get("epochs_done", done)
        rows.append({"model": job.model, "run": job.folder.split("/")[-1], "state": state, "epochs_done": done,
                     "epochs": job.epochs, "best_accuracy": progress["test_accuracy"].max() if len(progress) else
                     float("nan"), "seconds_per_epoch": per_epoch, "note": note})
    table = pd.DataFrame(rows)
    # A run with no epoch yet: the mean seconds per epoch of its model's runs of the same length.
    known = table.groupby(["model", "epochs"])["seconds_per_epoch"].transform("mean")
    table["seconds_per_epoch"] = table["seconds_per_epoch"].fillna(known)
    left = (table["epochs"] - table["epochs_done"]).clip(lower=0)
    table["seconds_left"] = (left * table["seconds_per_epoch"]).where(table["state"] != "finished", 0.0)
    return table


def _hours(seconds: float) -> str:
    return "unknown" if seconds != seconds else f"{seconds / 3600:.2f} h"


def summary(table: pd.DataFrame) -> str:
    """The study's counts per state and its time left, in device time and in wall time.

    The wall time assumes the runs running now keep their pace (their number of devices).
    """
    counts = ", ".join(f"{(table['state'] == s).sum()} {s}" for s in STATES)
    unknown = table["seconds_left"].isna() & (table["state"] != "finished")
    left = table["seconds_left"].sum()
    running = int((table["state"] == "running").sum())
    text = f"{len(table)} runs: {counts}\ntime left: {_hours(left)} of device time"
    if running:
        text += f", about {_hours(left / running)} of wall time at {running} runs at once"
    if unknown.any():
        text += f"; {int(unknown.sum())} runs have no timed epoch of their model yet and are not counted"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Print the status table and summary of the study a config file names; the command line's entry."""
    parser = argparse.ArgumentParser(prog="python -m galaxy_pretraining.status", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configfile", default="config/config.yaml", help="the study's config (default: %(default)s)")
    parser.add_argument("--directory", "-d", default=".", help="the workflow's working directory (default: .)")
    parser.add_argument("--stale-after", type=float, default=STALE_AFTER,
                        help="seconds without a word from another host before a running run counts as failed")
    args = parser.parse_args(argv)
    with open(args.configfile) as stream:
        config = resolve(yaml.safe_load(stream))
    table = study_status(config, args.directory, stale_after=args.stale_after)
    shown = table.assign(epochs=table["epochs_done"].astype(str) + "/" + table["epochs"].astype(str),
                         best_accuracy=table["best_accuracy"].round(4),
                         seconds_per_epoch=table["seconds_per_epoch"].round(1),
                         time_left=table["seconds_left"].map(_hours)).drop(
        columns=["epochs_done", "seconds_left"])
    columns = ["model", "run", "state", "epochs", "best_accuracy", "seconds_per_epoch", "time_left", "note"]
    sys.stdout.write(shown[columns].to_string(index=False) + "\n\n" + summary(table) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
