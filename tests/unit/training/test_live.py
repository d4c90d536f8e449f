"""training.live: every run's progress.csv and record.json, continued exactly once per epoch across a SIGTERM resume."""

import json
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
import torch

from galaxy_pretraining.progress import read_progress, read_record
from galaxy_pretraining.provenance import git_state
from galaxy_pretraining.training.accounting import DeviceMonitor

from helpers.paths import TESTS
from helpers.training import machine, settings, train_tiny

KILL_SCRIPT = """
import logging
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from helpers.training import machine, paths_in, settings
from galaxy_pretraining.training.job import train_run
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
study, out = Path(sys.argv[1]), Path(sys.argv[2])
train_run(settings(epochs=6, evaluation="paper"), paths_in(out), machine(checkpoint_every=int(sys.argv[4])),
          study / "images.npy", study / "catalog.parquet", progress=False)
"""


def test_a_run_stopped_by_sigterm_and_resumed_has_each_epoch_once_in_its_progress_file(tiny_study, tmp_path):
    """SIGTERM mid-run, then the retry: progress.csv holds epochs 1..6 once each, with the metrics' numbers; rows a
    lost attempt wrote past the checkpoint are replaced; the record counts two attempts, one resume."""
    out = tmp_path / "model" / "run000"
    command = [sys.executable, "-c", KILL_SCRIPT, str(tiny_study), str(out), str(TESTS), "100"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("job: starting")
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM
    stopped_after = torch.load(out / "last.pt", weights_only=False)["epoch"]
    record = read_record(out)
    assert record["state"] == "interrupted" and record["epochs_done"] == stopped_after
    before = read_progress(out)
    assert before["epoch"].tolist() == list(range(1, stopped_after + 1))
    # What a job killed after its checkpoint leaves: rows of epochs the checkpoint does not hold.
    lost = before.tail(1).assign(epoch=stopped_after + 1, attempt=99) if len(before) else \
        pd.DataFrame([{"epoch": 1, "attempt": 99}])
    pd.concat([before, lost]).to_csv(out / "progress.csv", index=False)

    subprocess.run(command, check=True, capture_output=True)
    metrics = pd.read_parquet(out / "metrics.parquet")
    progress = read_progress(out)
    assert progress["epoch"].tolist() == [1, 2, 3, 4, 5, 6]
    assert 99 not in progress["attempt"].tolist()
    assert progress["test_accuracy"].tolist() == metrics["test_accuracy"].tolist()
    assert progress["best_accuracy"].tolist() == metrics["test_accuracy"].cummax().tolist()
    assert progress["attempt"].tolist() == [1] * stopped_after + [2] * (6 - stopped_after)
    assert metrics["attempt"].tolist() == progress["attempt"].tolist()
    record = read_record(out)
    assert record["state"] == "finished" and record["epochs_done"] == 6 and record["epochs"] == 6
    assert [a["attempt"] for a in record["attempts"]] == [1, 2] and record["resumed"] == 1
    assert [a["state"] for a in record["attempts"]] == ["interrupted", "finished"]
    assert record["attempts"][1]["resumed_after_epoch"] == stopped_after
    assert record["seconds"] == sum(metrics["seconds"])
    assert sum(a["epochs_trained"] for a in record["attempts"]) == 6
    assert abs(sum(a["seconds"] for a in record["attempts"]) - record["seconds"]) < 1e-6
    assert (metrics["train_seconds"] + metrics["eval_seconds"] <= metrics["seconds"] + 1e-6).all()


def test_on_the_cpu_the_device_fields_say_why_they_are_empty(tiny_study, tmp_path):
    """A CPU run: the device is named, peak memory and GPU utilisation are NaN, and the record says why."""
    out = tmp_path / "model" / "run000"
    metrics = train_tiny(tiny_study, out, settings(epochs=2))
    assert metrics["device"].str.startswith("cpu (").all()
    assert metrics["peak_memory_gb"].isna().all() and metrics["gpu_utilisation"].isna().all()
    record = json.loads((out / "record.json").read_text())
    assert record["unavailable"]["gpu_utilisation"] == "unavailable: the device is cpu, not a CUDA GPU"
    assert record["unavailable"]["peak_memory_gb"].startswith("unavailable: the device is cpu")
    assert record["devices"] == [metrics["device"].iloc[0]] and record["resumed"] == 0
    assert record["commit"] == git_state()["commit"] and record["torch_version"] == torch.__version__
    assert record["slurm_job_id"] in ("none (not a SLURM job)", record["attempts"][0]["slurm_job_id"])
    monitor = DeviceMonitor(torch.device("cpu"))
    assert set(monitor.unavailable) == {"peak_memory_gb", "gpu_utilisation"}


def test_tensorboard_events_hold_each_epoch_once_under_one_run_folder(tiny_study, tmp_path):
    """tensorboard: true writes the run's scalars into runs/.../tensorboard/, one value per epoch and tag, the same
    values as the metrics."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "model" / "run000"
    out.mkdir(parents=True)
    train_tiny(tiny_study, out, settings(epochs=3), on=machine(tensorboard=True))
    metrics = pd.read_parquet(out / "metrics.parquet")
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    accuracy = events.Scalars("accuracy/test")
    assert [e.step for e in accuracy] == [1, 2, 3]
    assert [e.value for e in accuracy] == [float(torch.tensor(v, dtype=torch.float32)) for v in metrics["test_accuracy"]]
    assert [e.step for e in events.Scalars("cost/seconds_per_epoch")] == [1, 2, 3]


def test_ctrl_c_saves_the_state_exits_130_and_the_record_keeps_every_attempt(tiny_study, tmp_path):
    """A job killed before its first checkpoint, its retry stopped by Ctrl-C (SIGINT: last.pt written, exit 130, no
    traceback), then the last retry: the record keeps all three attempts, though the second started over."""
    out = tmp_path / "model" / "run000"
    command = [sys.executable, "-c", KILL_SCRIPT, str(tiny_study), str(out), str(TESTS), "100"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / "record.json").exists() and time.time() < deadline:
        time.sleep(0.005)
    process.kill()  # as the out-of-memory killer does: no word, no checkpoint
    process.wait()
    assert not (out / "last.pt").exists() and read_record(out)["attempts"][0]["state"] == "running"

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("job: starting")
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert "SIGINT: stopped resnet18 run 0 " in stdout and "KeyboardInterrupt" not in stderr
    stopped_after = torch.load(out / "last.pt", weights_only=False)["epoch"]

    subprocess.run(command, check=True, capture_output=True)
    record = read_record(out)
    assert [a["attempt"] for a in record["attempts"]] == [1, 2, 3]
    assert [a["state"] for a in record["attempts"]] == ["running", "interrupted", "finished"]
    assert [a["resumed_after_epoch"] for a in record["attempts"]] == [None, None, stopped_after]
    assert record["resumed"] == 1 and record["epochs_done"] == 6
    assert record["seconds"] == sum(pd.read_parquet(out / "metrics.parquet")["seconds"])


def test_the_record_agrees_with_itself_and_is_strict_json_while_the_run_trains(tiny_study, tmp_path):
    """Read while training, record.json's totals are those of its attempt (the epoch just finished counted in
    both) and of progress.csv; a CPU's NaN GPU utilisation is null, not the non-JSON NaN."""
    out = tmp_path / "model" / "run000"
    out.mkdir(parents=True)
    seen, done = [], threading.Event()

    def watch():
        while not done.is_set():
            try:
                text = (out / "record.json").read_text()
                progress = len(read_progress(out))
            except (FileNotFoundError, pd.errors.EmptyDataError):
                continue
            seen.append((json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in record.json")),
                         progress))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        train_tiny(tiny_study, out, settings(epochs=4))
    finally:
        done.set()
        watcher.join()
    running = [(record, progress) for record, progress in seen if record["state"] == "running"]
    assert any(record["epochs_done"] > 0 for record, _ in running)
    for record, progress in running:
        attempt = record["attempts"][0]
        assert record["epochs_done"] == attempt["epochs_trained"] <= progress
        assert abs(record["seconds"] - attempt["seconds"]) < 1e-9
    assert read_record(out)["gpu_utilisation"] is None
