"""A run's live files, without torch: `progress.csv` and `record.json`, in the run's folder.

`progress.csv` holds one row per finished epoch, rewritten atomically after
each; `record.json` the run's state, attempts, device and provenance. The
training job writes them (training.live); `status` and the cost tables read them.

A resumed run continues its progress file: an epoch trained again after a
resume from an earlier checkpoint replaces its row, so every epoch is in the
file exactly once.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd

from .io import atomic_path

PROGRESS_FILE = "progress.csv"
RECORD_FILE = "record.json"

# The progress file's columns, in order (metrics columns of the same name mean the same).
PROGRESS_COLUMNS = ("epoch", "epochs", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "best_accuracy",
                    "learning_rate", "train_seconds", "eval_seconds", "seconds", "images_per_second",
                    "peak_memory_gb", "gpu_utilisation", "device", "attempt", "host", "slurm_job_id", "finished_at")

# A run's states in its record: "running" while a job trains it, then one of the others.
STATES = ("running", "interrupted", "failed", "diverged", "finished")


def progress_path(run_folder: os.PathLike) -> Path:
    """The run's progress.csv."""
    return Path(run_folder) / PROGRESS_FILE


def record_path(run_folder: os.PathLike) -> Path:
    """The run's record.json."""
    return Path(run_folder) / RECORD_FILE


def read_progress(run_folder: os.PathLike) -> pd.DataFrame:
    """The run's progress rows (none when it has no progress file yet)."""
    path = progress_path(run_folder)
    if not path.exists():
        return pd.DataFrame(columns=list(PROGRESS_COLUMNS))
    return pd.read_csv(path)


def append_progress(run_folder: os.PathLike, row: dict) -> pd.DataFrame:
    """Add one epoch's row to the run's progress file, written atomically; returns the rows now in it.

    Rows of that epoch and later (trained again after a resume) are dropped first.
    """
    rows = read_progress(run_folder)
    rows = rows[rows["epoch"] < row["epoch"]]
    new = pd.DataFrame([{column: row.get(column) for column in PROGRESS_COLUMNS}])
    rows = new if rows.empty else pd.concat([rows, new], ignore_index=True)
    with atomic_path(progress_path(run_folder), only_writer=True) as tmp:
        rows.to_csv(tmp, index=False)
    return rows


def read_record(run_folder: os.PathLike) -> dict | None:
    """The run's record (None when it has none yet)."""
    path = record_path(run_folder)
    return json.loads(path.read_text()) if path.exists() else None


def _strict(value):
    """`value` with every NaN or infinite float, at any depth, made None: strict JSON's null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(item) for item in value]
    return value


def write_record(run_folder: os.PathLike, record: dict) -> None:
    """Write the run's record atomically, as strict JSON (a value that is not a number is null)."""
    with atomic_path(record_path(run_folder), only_writer=True) as tmp:
        Path(tmp).write_text(json.dumps(_strict(record), indent=1, default=str, allow_nan=False) + "\n")
