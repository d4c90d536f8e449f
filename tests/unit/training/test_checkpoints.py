"""training.checkpoints: last.pt after a kill or a signal, resumed to the numbers of an uninterrupted run; a finished run's record."""

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from galaxy_pretraining.io import link_or_copy
from galaxy_pretraining.training.job import train_group
from galaxy_pretraining.training.spec import RunPaths
from galaxy_pretraining.training.stopping import StopRequest, TrainingInterrupted

from helpers.paths import TESTS
from helpers.training import TIMING, group_outputs, machine, paths_in, settings, train_group_of, train_tiny

KILL_SCRIPT = """
import logging
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from helpers.training import machine, paths_in, settings
from galaxy_pretraining.training.job import train_run
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
study, out = Path(sys.argv[1]), Path(sys.argv[2])
s = settings(epochs=6, evaluation="paper")
train_run(s, paths_in(out), machine(checkpoint_every=int(sys.argv[4])), study / "images.npy",
          study / "catalog.parquet", progress=False)
"""


def test_sigkill_then_rerun_gives_the_same_metrics_as_an_uninterrupted_run(tiny_study, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    here = str(TESTS)
    command = [sys.executable, "-c", KILL_SCRIPT, str(tiny_study)]
    subprocess.run(command + [str(whole), here, "2"], check=True, capture_output=True)
    process = subprocess.Popen(command + [str(killed), here, "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "last.pt").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert (killed / "last.pt").exists() and not (killed / "metrics.parquet").exists()
    epochs_done = torch.load(killed / "last.pt", weights_only=False)["epoch"]
    assert 2 <= epochs_done < 6
    resumed = subprocess.run(command + [str(killed), here, "2"], check=True, capture_output=True, text=True)
    assert f"run 0: resuming from {killed / 'last.pt'} after epoch {epochs_done}" in resumed.stdout
    a = pd.read_parquet(whole / "metrics.parquet").drop(columns=TIMING)
    b = pd.read_parquet(killed / "metrics.parquet").drop(columns=TIMING)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(pd.read_parquet(whole / "predictions.parquet"),
                                  pd.read_parquet(killed / "predictions.parquet"))


def test_sigterm_saves_the_state_and_the_resumed_run_equals_an_uninterrupted_run(tiny_study, tmp_path):
    """SLURM's SIGTERM: the batch finishes, last.pt is written, exit 143; no checkpoint_every epochs are lost."""
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    here = str(TESTS)
    command = [sys.executable, "-c", KILL_SCRIPT, str(tiny_study)]
    # checkpoint_every 100: without the signal's own checkpoint nothing would be saved before the end
    subprocess.run(command + [str(whole), here, "100"], check=True, capture_output=True)
    process = subprocess.Popen(command + [str(stopped), here, "100"], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("job: starting")
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, out
    assert "SIGTERM: stopped resnet18 run 0 " in out and not (stopped / "metrics.parquet").exists()
    checkpoint = torch.load(stopped / "last.pt", weights_only=False)
    position = checkpoint["position"]
    where = (f"in epoch {position['epoch']} after {position['next_image']} of 72 training images" if position
             else f"after epoch {checkpoint['epoch']}")
    assert where in out
    resumed = subprocess.run(command + [str(stopped), here, "100"], check=True, capture_output=True, text=True)
    assert f"run 0: resuming from {stopped / 'last.pt'} {where}" in resumed.stdout
    a = pd.read_parquet(whole / "metrics.parquet").drop(columns=TIMING)
    b = pd.read_parquet(stopped / "metrics.parquet").drop(columns=TIMING)
    pd.testing.assert_frame_equal(a, b)


def test_a_signal_during_start_up_stops_after_the_first_batch_and_loses_nothing(tiny_study, tmp_path):
    """The rule's script catches signals before importing torch: one that came then ends the job after one batch."""
    s = settings(epochs=2)
    outputs = group_outputs(tmp_path / "stopped", [0])
    Path(outputs[0].metrics).parent.mkdir(parents=True)
    early = StopRequest()
    early.signum = signal.SIGTERM  # as the handler sets it
    with pytest.raises(TrainingInterrupted, match=f"SIGTERM: stopped .* in epoch 1 after {s.batch_size} of") as stop:
        train_group([s], outputs, machine(), tiny_study / "images.npy", tiny_study / "catalog.parquet",
                    progress=False, stop=early)
    assert stop.value.code == 128 + signal.SIGTERM
    resumed = train_group_of(tiny_study, tmp_path / "stopped", [s])[0]
    whole = train_tiny(tiny_study, tmp_path / "whole", s)
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMING), whole.drop(columns=TIMING))


def test_a_checkpoint_of_other_settings_is_not_resumed(tiny_study, tmp_path):
    """A last.pt of other settings is ignored: the run starts over and its first epoch is a fresh run's."""
    other = settings(epochs=2)
    wanted = settings(epochs=3, optimizer={"name": "sgd", "lr": 0.02, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False})
    train_tiny(tiny_study, tmp_path / "reused", other)
    assert (tmp_path / "reused" / "last.pt").exists()
    metrics = train_tiny(tiny_study, tmp_path / "reused", wanted)
    fresh = train_tiny(tiny_study, tmp_path / "fresh", wanted)
    assert list(metrics["epoch"]) == [1, 2, 3]
    pd.testing.assert_frame_equal(metrics.drop(columns=TIMING), fresh.drop(columns=TIMING))


def test_a_rerun_group_retrains_only_the_run_whose_checkpoint_is_gone(tiny_study, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    group = [settings(run=0, epochs=2), settings(run=1, epochs=2)]
    first = train_group_of(tiny_study, tmp_path, group)
    for path in (tmp_path / "run0").iterdir():  # run 0: outputs gone (Snakemake removes them), the rest kept
        if path.name not in ("last.pt", "best-kept.pt"):
            path.unlink()
    shutil.rmtree(tmp_path / "run1")  # run 1: rebuilt from nothing
    caplog.clear()
    second = train_group_of(tiny_study, tmp_path, group)
    printed = caplog.text
    assert f"resuming from {tmp_path / 'run0' / 'last.pt'} after epoch 2" in printed
    assert "resuming from " + str(tmp_path / "run1") not in printed
    for a, b in zip(first, second):
        pd.testing.assert_frame_equal(a.drop(columns=TIMING), b.drop(columns=TIMING))
    pd.testing.assert_frame_equal(first[0], second[0])  # run 0 was not retrained: even its timings are the saved ones


def test_a_finished_run_leaves_only_its_results_and_is_written_again_from_them(tiny_study, tmp_path, caplog):
    """Disk: a finished run's last.pt keeps metrics and best epoch, not the model, optimiser, random streams or
    weights; kept best weights (best_weights) are on disk once, best-kept.pt a second name of best.pt. A rerun of
    the job writes the same outputs without training."""
    caplog.set_level(logging.INFO)
    group = [settings(run=0, epochs=2), settings(run=1, epochs=2)]
    outputs = [RunPaths(tmp_path / "run0/metrics.parquet", tmp_path / "run0/predictions.parquet", None),
               RunPaths(tmp_path / "run1/metrics.parquet", tmp_path / "run1/predictions.parquet",
                          tmp_path / "run1/best.pt")]
    for o in outputs:
        Path(o.metrics).parent.mkdir(parents=True, exist_ok=True)
    first = train_group(group, outputs, machine(), tiny_study / "images.npy", tiny_study / "catalog.parquet", progress=False)
    assert not (tmp_path / "run0/best.pt").exists() and (tmp_path / "run1/best.pt").exists()
    records = [torch.load(tmp_path / f"run{r}/last.pt", weights_only=False) for r in (0, 1)]
    for record in records:
        assert record["finished"] and not {"model", "optimizer", "rng", "schedule"} & set(record)
        assert len(record["metrics"]) == 2 and record["best"]["predictions"] is not None
    assert records[0]["best"]["state"] is None and records[1]["best"]["state"] is None
    assert records[0]["best_weights"] is None and not (tmp_path / "run0/best-kept.pt").exists()
    assert records[1]["best_weights"] == "best-kept.pt"
    assert (tmp_path / "run1/best-kept.pt").samefile(tmp_path / "run1/best.pt")  # one copy on disk
    best = torch.load(tmp_path / "run1/best.pt", weights_only=False)["model"]
    predictions = [pd.read_parquet(o.predictions) for o in outputs]
    for o in outputs:  # Snakemake removes a job's outputs before it runs it again
        for path in (o.metrics, o.predictions, o.best_model):
            if path is not None:
                Path(path).unlink()
    caplog.clear()
    second = train_group(group, outputs, machine(), tiny_study / "images.npy", tiny_study / "catalog.parquet", progress=False)
    printed = caplog.text
    assert printed.count(": the run had finished") == 2 and "epochs" not in printed
    assert "run 0: outputs written again without training (from=last.pt)" in printed
    assert "run 1: outputs written again without training (from=last.pt and best-kept.pt)" in printed
    for a, b in zip(first, second):
        pd.testing.assert_frame_equal(a, b)  # not retrained: even the timings are the saved ones
    for o, before in zip(outputs, predictions):
        pd.testing.assert_frame_equal(pd.read_parquet(o.predictions), before)
    again = torch.load(tmp_path / "run1/best.pt", weights_only=False)["model"]
    assert all(torch.equal(again[k], best[k]) for k in best)
    assert (tmp_path / "run1/best-kept.pt").samefile(tmp_path / "run1/best.pt")  # the new best.pt, linked again


def test_kept_best_weights_that_are_gone_or_of_another_epoch(tiny_study, tmp_path, caplog):
    """best-kept.pt deleted: said, and the run is trained again for its best.pt; of another epoch than the record's
    best: an error naming both files. Weights no longer kept (best_weights changed): best-kept.pt and the best.pt
    that is the same file, no longer an output, are removed, and that is said."""
    caplog.set_level(logging.INFO)
    alone = settings(run=0, epochs=2)
    out = paths_in(tmp_path)
    first = train_group([alone], [out], machine(), tiny_study / "images.npy", tiny_study / "catalog.parquet", progress=False)[0]
    kept = tmp_path / "best-kept.pt"
    weights = torch.load(kept, weights_only=False)
    torch.save({**weights, "epoch": weights["epoch"] % 2 + 1}, tmp_path / "other.pt")
    for path in (out.metrics, out.predictions, out.best_model, kept):
        Path(path).unlink()
    caplog.clear()
    again = train_group([alone], [out], machine(), tiny_study / "images.npy", tiny_study / "catalog.parquet", progress=False)[0]
    printed = caplog.text
    assert f"run 0: kept best weights gone (file={kept})" in printed
    assert "run 0: retrained from epoch 0 (reason=best.pt asked for, the record holds no best weights)" in printed
    assert "without training" not in printed
    pd.testing.assert_frame_equal(first.drop(columns=TIMING), again.drop(columns=TIMING))
    assert kept.samefile(out.best_model)

    os.replace(tmp_path / "other.pt", kept)
    with pytest.raises(ValueError, match=f"{kept}: the weights of epoch .*, but .*last.pt says the best epoch"):
        train_group([alone], [out], machine(), tiny_study / "images.npy", tiny_study / "catalog.parquet", progress=False)

    link_or_copy(out.best_model, kept)  # the right weights again; then config best_weights no longer keeps them
    caplog.clear()
    train_group([alone], [paths_in(tmp_path, keep_best=False)], machine(), tiny_study / "images.npy",
                tiny_study / "catalog.parquet", progress=False)
    record = torch.load(tmp_path / "last.pt", weights_only=False)
    assert record["finished"] and record["best_weights"] is None
    assert not kept.exists() and not out.best_model.exists()
    assert "run 0: best weights no longer kept, config best_weights (removed=best.pt and best-kept.pt, size=" \
        in caplog.text


def test_best_weights_asked_for_after_a_run_finished_without_them_train_it_again(tiny_study, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    alone = settings(run=0, epochs=2)
    out = paths_in(tmp_path, keep_best=False)
    train_group([alone], [out], machine(), tiny_study / "images.npy", tiny_study / "catalog.parquet", progress=False)
    wanted = paths_in(tmp_path)
    caplog.clear()
    train_group([alone], [wanted], machine(), tiny_study / "images.npy", tiny_study / "catalog.parquet", progress=False)
    assert "run 0: retrained from epoch 0 (reason=best.pt asked for, the record holds no best weights)" in caplog.text
    assert torch.load(tmp_path / "best.pt", weights_only=False)["model"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device machine)")
@pytest.mark.parametrize("compiled", [False, True])
def test_a_run_resumes_on_cuda(tiny_study, tmp_path, compiled):
    """A checkpoint written on the GPU is read back there (random streams included) and changes nothing."""
    s, on = settings(epochs=2, evaluation="paper"), machine(device="cuda", compile=compiled)
    first = train_tiny(tiny_study, tmp_path, s, on=on)
    for name in ("metrics.parquet", "predictions.parquet", "best.pt"):
        (tmp_path / name).unlink()
    again = train_tiny(tiny_study, tmp_path, s, on=on)
    pd.testing.assert_frame_equal(first, again)
