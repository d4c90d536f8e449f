"""Where a study stands, from its run folders alone.

Run it as `python -m galaxy_pretraining.status --configfile C`.

For every run the config asks for, one row: its state (finished, running,
waiting, failed, or unreadable: a live file cut short or damaged, named in
the row's note), epochs done out of its total, the best test accuracy so
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
import json
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import yaml

from .io import process_alive
from .progress import RECORD_FILE, progress_path, read_progress, read_record
from .study import Study, resolve

log = logging.getLogger(__name__)

STALE_AFTER = 1800.0  # seconds without a word before a running record on another host counts as failed

STATES = ("finished", "running", "waiting", "failed", "unreadable")
# What a progress file needs for a row of the table (progress.PROGRESS_COLUMNS has them all).
NEEDED_COLUMNS = ("epoch", "seconds", "test_accuracy")


def read_live_files(folder: Path) -> tuple[pd.DataFrame, dict | None]:
    """The run's progress rows and record (progress.read_progress, read_record).

    Raises:
        ValueError: a file that cannot be read as its kind (cut short, empty, damaged); the message names it.
    """
    try:
        record = read_record(folder)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{folder / RECORD_FILE}: {type(error).__name__}: {error}") from error
    if record is not None and not isinstance(record, dict):
        raise ValueError(f"{folder / RECORD_FILE}: not a JSON object but {type(record).__name__}")
    try:
        progress = read_progress(folder)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(f"{progress_path(folder)}: {type(error).__name__}: {error}") from error
    missing = [column for column in NEEDED_COLUMNS if column not in progress]
    if missing:
        raise ValueError(f"{progress_path(folder)}: no column {', '.join(missing)} (cut short?)")
    bad = [column for column in NEEDED_COLUMNS if len(progress) and not pd.api.types.is_numeric_dtype(progress[column])]
    if bad:
        raise ValueError(f"{progress_path(folder)}: column {', '.join(bad)} holds values that are not numbers")
    return progress, record


def _age(timestamp: str | None, now: datetime.datetime) -> float:
    if not timestamp:
        return float("inf")
    return (now - datetime.datetime.fromisoformat(timestamp)).total_seconds()


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
            if process_alive(int(attempt["pid"])):
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
    length has finished an epoch yet, and for an unreadable run, whose note
    names the file and the error).
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    study = Study(config)
    results = Path(directory) / study.results
    rows = []
    for job in study.jobs:
        folder = results / job.folder
        try:
            progress, record = read_live_files(folder)
            per_epoch = float(progress["seconds"].mean()) if len(progress) else float("nan")
            try:
                state, note = run_state(folder, record, per_epoch, now, stale_after)
                done = job.epochs if state == "finished" else len(progress)
                if state == "finished" and record is not None:
                    done = int(record.get("epochs_done", done))
            except (KeyError, TypeError, ValueError, AttributeError) as error:  # a record of the wrong shape
                raise ValueError(f"{folder / RECORD_FILE}: {type(error).__name__}: {error}") from error
        except ValueError as error:
            rows.append({"model": job.model, "run": job.folder.split("/")[-1], "state": "unreadable",
                         "epochs_done": float("nan"), "epochs": job.epochs, "best_accuracy": float("nan"),
                         "seconds_per_epoch": float("nan"), "note": str(error)})
            continue
        rows.append({"model": job.model, "run": job.folder.split("/")[-1], "state": state, "epochs_done": done,
                     "epochs": job.epochs, "best_accuracy": progress["test_accuracy"].max() if len(progress) else
                     float("nan"), "seconds_per_epoch": per_epoch, "note": note})
    table = pd.DataFrame(rows)
    # A run with no epoch yet: the mean seconds per epoch of its model's runs of the same length.
    known = table.groupby(["model", "epochs"])["seconds_per_epoch"].transform("mean")
    table["seconds_per_epoch"] = table["seconds_per_epoch"].fillna(known)
    left = (table["epochs"] - table["epochs_done"]).clip(lower=0)
    table["seconds_left"] = (left * table["seconds_per_epoch"]).where(table["state"] != "finished", 0.0)
    table["epochs_done"] = table["epochs_done"].astype("Int64")
    return table


def _hours(seconds: float) -> str:
    return "unknown" if seconds != seconds else f"{seconds / 3600:.2f} h"


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def summary(table: pd.DataFrame) -> str:
    """The study's counts per state and its time left, in device time and in wall time.

    The wall time assumes the runs running now keep their pace (their number of devices). Runs with no timed
    epoch of their model make the time left a lower bound ("at least"), or unknown when no run has one.
    """
    counts = ", ".join(f"{(table['state'] == s).sum()} {s}" for s in STATES if s != "unreadable" or
                       (table["state"] == s).any())
    open_runs = table["state"] != "finished"
    unknown = table["seconds_left"].isna() & open_runs
    left = table["seconds_left"].sum()
    running = int((table["state"] == "running").sum())
    text = f"{_runs(len(table))}: {counts}\n"
    if unknown.any() and not (open_runs & ~unknown).any():
        return text + "time left: unknown (no run has a timed epoch of its model yet)"
    text += f"time left: {'at least ' if unknown.any() else ''}{_hours(left)} of device time"
    if running:
        text += f", about {_hours(left / running)} of wall time at {_runs(running)} at once"
    if unknown.any():
        n = int(unknown.sum())
        text += f"; {_runs(n)} {'has' if n == 1 else 'have'} no timed epoch of {'its' if n == 1 else 'their'} " \
                "model yet (or could not be read) and " + ("is" if n == 1 else "are") + " not counted"
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
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    with open(args.configfile) as stream:
        config = resolve(yaml.safe_load(stream))
    results = Path(args.directory) / Study(config).results
    if not Path(args.directory).is_dir():
        log.warning("status: no such folder (directory=%s); every run shows as waiting: is --directory the "
                    "workflow's working directory?", args.directory)
    elif not results.is_dir():
        log.warning("status: no results folder yet (path=%s); no run of this study has started here, or "
                    "--directory is not the workflow's working directory", results)
    table = study_status(config, args.directory, stale_after=args.stale_after)
    done = table["epochs_done"].astype(str).replace("<NA>", "?")
    shown = table.assign(epochs=done + "/" + table["epochs"].astype(str),
                         best_accuracy=table["best_accuracy"].round(4),
                         seconds_per_epoch=table["seconds_per_epoch"].round(1),
                         time_left=table["seconds_left"].map(_hours)).drop(
        columns=["epochs_done", "seconds_left"])
    columns = ["model", "run", "state", "epochs", "best_accuracy", "seconds_per_epoch", "time_left", "note"]
    sys.stdout.write(shown[columns].to_string(index=False) + "\n\n" + summary(table) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
