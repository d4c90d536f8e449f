"""galaxy_pretraining.status: a half-finished demo study's run folders read back as the right states and times."""

import datetime
import os
import shutil
import socket
import subprocess

import pandas as pd
import yaml

from galaxy_pretraining.progress import append_progress, write_record
from galaxy_pretraining.status import main, study_status, summary
from galaxy_pretraining.study import resolve

from helpers.paths import ROOT
from helpers.training import settings, train_tiny


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _partial_run(folder, state, pid, epochs_done, seconds):
    for epoch in range(1, epochs_done + 1):
        append_progress(folder, {"epoch": epoch, "test_accuracy": 0.5 + epoch / 100, "seconds": seconds})
    write_record(folder, {"state": state, "epochs_done": epochs_done, "updated_at": _now(),
                          "attempts": [{"host": socket.gethostname(), "pid": pid, "error": "RuntimeError: boom"}]})


def test_status_of_a_half_finished_demo_study(tiny_study, tmp_path, capsys):
    """One run trained for real (finished), one whose job is alive (running), one whose job died without a word
    (failed, though its record still says running), one interrupted (waiting for its retry)."""
    config_file = tmp_path / "demo.yaml"
    shutil.copy(ROOT / "config" / "demo.yaml", config_file)
    config = resolve(yaml.safe_load(config_file.read_text()))
    runs = tmp_path / "results" / "demo" / "runs"
    train_tiny(tiny_study, runs / "efficientnet_lite0-imagenet" / "run000", settings(epochs=8))
    _partial_run(runs / "efficientnet_lite0-imagenet" / "run001", "running", os.getpid(), 3, 2.0)
    dead = subprocess.Popen(["true"])
    dead.wait()
    _partial_run(runs / "efficientnet_lite0-scratch" / "run000", "running", dead.pid, 0, 4.0)
    _partial_run(runs / "efficientnet_lite0-scratch" / "run001", "interrupted", 1, 2, 4.0)

    table = study_status(config, tmp_path).set_index(["model", "run"])
    assert table["state"].to_dict() == {
        ("efficientnet_lite0-imagenet", "run000"): "finished", ("efficientnet_lite0-imagenet", "run001"): "running",
        ("efficientnet_lite0-scratch", "run000"): "failed", ("efficientnet_lite0-scratch", "run001"): "waiting"}
    assert table["epochs_done"].tolist() == [8, 3, 0, 2] and table["epochs"].tolist() == [8] * 4
    assert table["best_accuracy"].iloc[1] == 0.53
    # Left: 5 epochs at 2 s, 6 at 4 s, and 8 at 4 s for the failed run without a timed epoch (its model's pace).
    assert table["seconds_left"].tolist() == [0.0, 10.0, 32.0, 24.0]

    assert main(["--configfile", str(config_file), "--directory", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "4 runs: 1 finished, 1 running, 1 waiting, 1 failed" in out
    assert "time left: 0.02 h of device time" in out and " 3/8 " in out


def test_damaged_live_files_make_one_unreadable_row_each_and_the_rest_prints(tmp_path, capsys):
    """An empty record.json, one cut mid-way and a progress.csv cut in its header: each run's row says unreadable,
    naming the file and the error; the other runs and the summary still print."""
    config_file = tmp_path / "demo.yaml"
    shutil.copy(ROOT / "config" / "demo.yaml", config_file)
    runs = tmp_path / "results" / "demo" / "runs"
    _partial_run(runs / "efficientnet_lite0-imagenet" / "run000", "interrupted", 1, 2, 4.0)
    empty, cut = runs / "efficientnet_lite0-imagenet" / "run001", runs / "efficientnet_lite0-scratch" / "run000"
    _partial_run(empty, "interrupted", 1, 2, 4.0)
    (empty / "record.json").write_text("")
    _partial_run(cut, "interrupted", 1, 2, 4.0)
    (cut / "record.json").write_text((cut / "record.json").read_text()[:40])
    header = runs / "efficientnet_lite0-scratch" / "run001"
    _partial_run(header, "interrupted", 1, 2, 4.0)
    (header / "progress.csv").write_text("epoch,epochs,train_lo")

    assert main(["--configfile", str(config_file), "--directory", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "4 runs: 0 finished, 0 running, 1 waiting, 0 failed, 3 unreadable" in out
    assert f"{empty / 'record.json'}: JSONDecodeError: Expecting value" in out
    assert f"{cut / 'record.json'}: JSONDecodeError: " in out
    assert f"{header / 'progress.csv'}: no column seconds, test_accuracy (cut short?)" in out
    # The readable run's 6 epochs left at 4 s; the unreadable ones are not counted, and the summary says so.
    assert "time left: at least 0.01 h of device time; 3 runs have no timed epoch of their model yet (or could " \
           "not be read) and are not counted" in out


def test_a_folder_without_the_study_says_so_and_nothing_timed_is_unknown(tmp_path, capsys, caplog):
    config_file = tmp_path / "demo.yaml"
    shutil.copy(ROOT / "config" / "demo.yaml", config_file)
    assert main(["--configfile", str(config_file), "--directory", str(tmp_path / "nowhere")]) == 0
    assert f"status: no such folder (directory={tmp_path / 'nowhere'})" in caplog.text
    caplog.clear()
    assert main(["--configfile", str(config_file), "--directory", str(tmp_path)]) == 0
    assert f"status: no results folder yet (path={tmp_path / 'results' / 'demo'})" in caplog.text
    out = capsys.readouterr().out
    assert "time left: unknown (no run has a timed epoch of its model yet)" in out and "0.00 h" not in out


def test_the_summary_counts_one_run_in_the_singular():
    table = pd.DataFrame({"state": ["running", "waiting"], "seconds_left": [3600.0, float("nan")]})
    assert summary(table).splitlines()[1] == (
        "time left: at least 1.00 h of device time, about 1.00 h of wall time at 1 run at once; 1 run has no timed "
        "epoch of its model yet (or could not be read) and is not counted")
