"""One job's attempt at one run, accounted for while it trains.

After every epoch: its row of the run's progress file, its record (state, attempts, device, provenance) and,
when asked, its TensorBoard events.

A run that a job resumes continues the same files: its record gains an
attempt (`resumed` counts those that continued from a checkpoint; one that
started over, its predecessor having saved nothing, is kept too: no attempt
is ever dropped from the record), its progress file gets each epoch exactly
once (progress.append_progress) and its TensorBoard events, in the same
folder, drop the steps trained again (purge_step).
"""

from __future__ import annotations

import datetime
import importlib.util
import logging
import math
import os
from pathlib import Path

from ..errors import BadConfig
from ..progress import append_progress, read_record, write_record
from ..provenance import RUN_FIELDS, job_provenance
from .accounting import DeviceMonitor, library_versions
from .run import Run

log = logging.getLogger(__name__)

TENSORBOARD_FOLDER = "tensorboard"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def check_tensorboard(enabled: bool) -> None:
    """Raise BadConfig when config `tensorboard` is true but the tensorboard package is not installed."""
    if enabled and importlib.util.find_spec("tensorboard") is None:
        raise BadConfig("tensorboard: true, but the tensorboard package is not installed in this environment; "
                        "add it (pip install tensorboard) or set tensorboard: false")


def _weighted_mean(values, weights) -> float:
    pairs = [(v, w) for v, w in zip(values, weights) if v is not None and not math.isnan(v) and w]
    total = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / total if total else float("nan")


class RunAccount:
    """One attempt at one run, accounted for epoch by epoch.

    Begun when the job has resumed the run; `epoch` after each epoch, `end` when the attempt ends (finished,
    diverged, interrupted or failed).
    """

    def __init__(self, run: Run, folder: os.PathLike, monitor: DeviceMonitor, tensorboard: bool = False):
        self.run, self.folder, self.monitor, self.tensorboard = run, Path(folder), monitor, tensorboard
        self._writer = None
        fresh = not run.history and run.position is None
        record = read_record(self.folder)
        if record is None:
            record = {"model": self.folder.parent.name, "run": self.folder.name, "attempts": []}
        self.attempt = {
            "attempt": len(record["attempts"]) + 1,
            "pid": os.getpid(),
            "started_at": _now(),
            "ended_at": None,
            "state": "running",
            "resumed_after_epoch": None if fresh else len(run.history),
            "epochs_trained": 0,
            "seconds": 0.0,
            "device": monitor.name,
            "peak_memory_gb": None,
            "gpu_utilisation": None,
            "unavailable": dict(monitor.unavailable),
            **job_provenance(),
            **library_versions(),
        }
        self.record = record
        record["attempts"].append(self.attempt)
        self._update(state="running")

    def _update(self, finished: dict | None = None, **fields) -> None:
        """Write the record, its totals from the run's history and `finished`, an epoch's row not in it yet."""
        attempts = self.record["attempts"]
        rows = self.run.history + ([finished] if finished is not None else [])
        history = [row for row in rows if not row.get("diverged")]
        devices = sorted({a["device"] for a in attempts})
        peak = [a["peak_memory_gb"] for a in attempts if a["peak_memory_gb"] is not None
                and not math.isnan(a["peak_memory_gb"])]
        self.record.update(
            epochs=self.run.protocol.epochs,
            epochs_done=len(history),
            best_accuracy=max((row["test_accuracy"] for row in history), default=None),
            seconds=sum(row.get("seconds", 0.0) for row in rows),
            resumed=sum(a["resumed_after_epoch"] is not None for a in attempts),
            devices=devices,
            peak_memory_gb=max(peak) if peak else None,
            gpu_utilisation=_weighted_mean([a["gpu_utilisation"] for a in attempts],
                                           [a["seconds"] for a in attempts]),
            unavailable=self.attempt["unavailable"],
            updated_at=_now(),
            **fields,
        )
        for key in RUN_FIELDS:  # the latest attempt's; each attempt's are in `attempts`
            self.record[key] = self.attempt[key]
        write_record(self.folder, self.record)

    def epoch(self, row: dict) -> None:
        """Add this attempt's columns to an epoch's metrics row.

        Then write its progress row, record and events.

        The row is changed before it joins the history.
        """
        row.update(self.monitor.epoch_stats(), attempt=self.attempt["attempt"],
                   **{field: self.attempt[field] for field in RUN_FIELDS})
        attempt = self.attempt
        previous = attempt["epochs_trained"]
        attempt["gpu_utilisation"] = _weighted_mean([attempt["gpu_utilisation"], row["gpu_utilisation"]],
                                                    [attempt["seconds"], row["seconds"]])
        attempt["seconds"] += row["seconds"]
        attempt["epochs_trained"] = previous + 1
        if not math.isnan(row["peak_memory_gb"]):
            attempt["peak_memory_gb"] = max(attempt["peak_memory_gb"] or 0.0, row["peak_memory_gb"])
        best = max([r["test_accuracy"] for r in self.run.history] + [row["test_accuracy"]])
        append_progress(self.folder, {**row, "epochs": self.run.protocol.epochs, "best_accuracy": best,
                                      "host": attempt["host"], "slurm_job_id": attempt["slurm_job_id"],
                                      "finished_at": _now()})
        self.record["attempts"][-1] = attempt
        self._update(row, state="running")
        if self.tensorboard:
            self._write_events(row)

    def _write_events(self, row: dict) -> None:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step: events of this epoch and later, written by an attempt whose checkpoint was lost, go.
            self._writer = SummaryWriter(log_dir=str(self.folder / TENSORBOARD_FOLDER), purge_step=row["epoch"])
        step = row["epoch"]
        for tag, key in (("loss/train", "train_loss"), ("loss/test", "test_loss"), ("accuracy/train", "train_accuracy"),
                         ("accuracy/test", "test_accuracy"), ("cost/seconds_per_epoch", "seconds"),
                         ("cost/images_per_second", "images_per_second"), ("cost/gpu_utilisation", "gpu_utilisation"),
                         ("cost/peak_memory_gb", "peak_memory_gb"), ("learning_rate", "learning_rate")):
            value = row.get(key)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                self._writer.add_scalar(tag, value, step)
        self._writer.flush()

    def end(self, state: str, error: BaseException | None = None) -> None:
        """Close the attempt as `state` (progress.STATES), with the error that ended it if any."""
        self.attempt.update(state=state, ended_at=_now())
        if error is not None:
            self.attempt["error"] = f"{type(error).__name__}: {error}"
        if self._writer is not None:
            self._writer.close()
        self._update(state=state)
        log.info("run %s: attempt %s %s (epochs_trained=%s, seconds=%.1f, device=%s)", self.folder,
                 self.attempt["attempt"], state, self.attempt["epochs_trained"], self.attempt["seconds"],
                 self.monitor.name)
