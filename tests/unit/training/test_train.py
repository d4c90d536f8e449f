import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from galaxy_pretraining.data.splits import make_splits
from galaxy_pretraining.training.stopping import ANNOUNCEMENT, StopRequest, TrainingInterrupted, stop_on_signals
from galaxy_pretraining.training.train import (
    EpochInterrupted,
    RunData,
    RunOutputs,
    build_run,
    confusion_matrices,
    evaluate,
    load_store,
    run_outputs,
    train_group,
    train_one_epoch,
    train_run,
)

from helpers.paths import TESTS
from helpers.training import CLASSES, SPLIT, N, settings


def run(study, out, s, progress=False):
    return train_run(s, study / "images.npy", study / "catalog.parquet",
                     out / "metrics.parquet", out / "predictions.parquet", out / "best.pt",
                     weights_path=None, class_names=CLASSES, threads=1, progress=progress)


MAJORITY = 1 / 3  # the tiny study's three classes are equally frequent
MARGIN = 0.3


def test_a_short_training_learns_well_beyond_the_majority_class(tiny_study, tmp_path):
    """Brightness tells the classes apart: 4 epochs of SGD must beat always-the-majority by 30 points."""
    metrics = run(tiny_study, tmp_path, settings(epochs=4, rotation=0.0))
    assert metrics["test_accuracy"].max() >= MAJORITY + MARGIN, metrics["test_accuracy"].tolist()
    assert metrics["train_loss"].iloc[-1] < metrics["train_loss"].iloc[0]


def test_a_run_writes_per_epoch_metrics_predictions_and_best_model(tiny_study, tmp_path):
    metrics = run(tiny_study, tmp_path, settings())
    stored = pd.read_parquet(tmp_path / "metrics.parquet")
    assert list(stored["epoch"]) == [1, 2, 3]
    for column in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds", "images_per_second"):
        assert stored[column].notna().all(), column
    confusion = confusion_matrices(stored)
    assert confusion.shape == (3, 3, 3) and (confusion.sum(axis=(1, 2)) == 24).all()
    assert np.allclose(np.trace(confusion, axis1=1, axis2=2) / 24, stored["test_accuracy"])
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    # the run's test set is the one of the published splits table
    published = make_splits([f"g{i}" for i in range(N)], [0], test_size=24, seed=1, validation_size=0)
    assert sorted(predictions["row"]) == sorted(published[published.subset == "test"]["row"])
    best_epoch = int(metrics.loc[metrics["test_accuracy"].idxmax(), "epoch"])
    assert len(predictions) == 24 and (predictions["epoch"] == best_epoch).all()
    assert np.isclose((predictions["true"] == predictions["predicted"]).mean(), metrics["test_accuracy"].max())
    probabilities = predictions[[f"probability_{c}" for c in CLASSES]].to_numpy()
    assert np.allclose(probabilities.sum(1), 1, atol=1e-5)
    best = torch.load(tmp_path / "best.pt", weights_only=False)
    assert best["epoch"] == best_epoch and best["class_names"] == CLASSES


class Constant(nn.Module):
    """Always the same logits, whatever the image."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.tensor(logits)

    def forward(self, x):
        return self.logits.expand(len(x), -1)


def test_one_epoch_of_evaluation_checked_by_hand():
    labels = torch.tensor([0, 1, 1, 2])
    data = RunData(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), labels, {"test": torch.arange(4)})
    s = settings(crop_size=8)
    result = evaluate(Constant([0.0, 1.0, 0.0]), data, "test", s, torch.Generator(), torch.device("cpu"))
    assert result["accuracy"] == 0.5
    p = np.exp([0, 1, 0]) / np.exp([0, 1, 0]).sum()
    assert result["loss"] == pytest.approx(-(np.log(p[0]) + 2 * np.log(p[1]) + np.log(p[2])) / 4, rel=1e-6)
    assert result["confusion"].tolist() == [[0, 1, 0], [0, 2, 0], [0, 1, 0]]


def test_a_pretrained_model_without_weights_is_an_error(tiny_study, tmp_path):
    with pytest.raises(ValueError, match="needs a weights file"):
        run(tiny_study, tmp_path, settings(weights="imagenet"))


def test_class_names_must_match_the_model(tiny_study, tmp_path):
    with pytest.raises(ValueError, match="2 class names"):
        train_run(settings(), tiny_study / "images.npy", tiny_study / "catalog.parquet", tmp_path / "m.parquet",
                  tmp_path / "p.parquet", tmp_path / "b.pt", weights_path=None, class_names=["a", "b"])


KILL_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from helpers.training import settings
from galaxy_pretraining.training.train import train_run
study, out = Path(sys.argv[1]), Path(sys.argv[2])
s = settings(epochs=6, evaluation="paper", checkpoint_every=int(sys.argv[4]))
train_run(s, study / "images.npy", study / "catalog.parquet", out / "metrics.parquet",
          out / "predictions.parquet", out / "best.pt", weights_path=None, class_names=["a", "b", "c"], threads=1,
          progress=False)
"""

TIMING = ["seconds", "train_seconds", "images_per_second"]


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
    assert f"resuming from {killed / 'last.pt'} after epoch {epochs_done}" in resumed.stdout
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
    assert process.stdout.readline().startswith("training resnet18")
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
    assert f"resuming from {stopped / 'last.pt'} {where}" in resumed.stdout
    a = pd.read_parquet(whole / "metrics.parquet").drop(columns=TIMING)
    b = pd.read_parquet(stopped / "metrics.parquet").drop(columns=TIMING)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("protocol", [{}, {"oversample": True, "channel_shift": 20.0}], ids=["paper", "fu"])
def test_an_epoch_stopped_after_a_batch_continues_exactly_where_it_stopped(tiny_study, protocol):
    """The stopped epoch's position, continued, gives the weights and metrics of the epoch run through
    (with oversampling too: the saved order is the epoch's oversampled draw)."""
    s = settings(**protocol)
    catalog = pd.read_parquet(tiny_study / "catalog.parquet")
    images = load_store(tiny_study / "images.npy", len(catalog), torch.device("cpu"))

    def fresh():
        r = build_run(s, images, catalog, None, CLASSES)
        return r, (r.model, r.optimizer, r.data, s, r.generators["train"], r.device, False, 1)

    whole, args = fresh()
    through = train_one_epoch(*args)
    stopped, args = fresh()
    stop = StopRequest()
    stop.signum = signal.SIGUSR1
    with pytest.raises(EpochInterrupted) as interrupted:
        train_one_epoch(*args, stop=stop)
    assert interrupted.value.position.next_image == s.batch_size  # one batch, then the stop
    continued = train_one_epoch(*args, position=interrupted.value.position)
    assert {k: through[k] for k in ("train_loss", "train_accuracy")} == {
        k: continued[k] for k in ("train_loss", "train_accuracy")}
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, stopped.model.state_dict()[name]), name


def test_stop_on_signals_turns_sigusr1_into_a_request_and_restores_the_handler():
    before = signal.getsignal(signal.SIGUSR1)
    with stop_on_signals() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(0.01)
        assert stop.requested and stop.name == "SIGUSR1"
    assert signal.getsignal(signal.SIGUSR1) is before


def test_stop_on_signals_announces_on_stderr_from_when_a_signal_is_caught(capsys):
    with stop_on_signals(announce=True):
        pass
    with stop_on_signals():
        pass
    assert capsys.readouterr().err == ANNOUNCEMENT + "\n"


def test_a_signal_during_start_up_stops_after_the_first_batch_and_loses_nothing(tiny_study, tmp_path):
    """The rule's script catches signals before importing torch: one that came then ends the job after one batch."""
    s = settings(epochs=2)
    outputs = group_outputs(tmp_path / "stopped", [0])
    Path(outputs[0].metrics).parent.mkdir(parents=True)
    early = StopRequest()
    early.signum = signal.SIGTERM  # as the handler sets it
    with pytest.raises(TrainingInterrupted, match=f"SIGTERM: stopped .* in epoch 1 after {s.batch_size} of") as stop:
        train_group([s], tiny_study / "images.npy", tiny_study / "catalog.parquet", outputs, None, CLASSES,
                    threads=1, progress=False, stop=early)
    assert stop.value.code == 128 + signal.SIGTERM
    resumed = train_group_of(tiny_study, tmp_path / "stopped", [s])[0]
    whole = run(tiny_study, tmp_path / "whole", s)
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMING), whole.drop(columns=TIMING))


def test_a_checkpoint_of_other_settings_is_not_resumed(tiny_study, tmp_path):
    """A last.pt of other settings is ignored: the run starts over and its first epoch is a fresh run's."""
    other = settings(epochs=2)
    wanted = settings(epochs=3, optimizer={"name": "sgd", "lr": 0.02, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False})
    run(tiny_study, tmp_path / "reused", other)
    assert (tmp_path / "reused" / "last.pt").exists()
    metrics = run(tiny_study, tmp_path / "reused", wanted)
    fresh = run(tiny_study, tmp_path / "fresh", wanted)
    assert list(metrics["epoch"]) == [1, 2, 3]
    pd.testing.assert_frame_equal(metrics.drop(columns=TIMING), fresh.drop(columns=TIMING))


def test_rows_read_from_the_store_equal_the_stored_images(tiny_study):
    from galaxy_pretraining.data.array_store import read_rows

    store = np.load(tiny_study / "images.npy")
    rows = np.array([5, 0, 95, 17])
    assert np.array_equal(read_rows(tiny_study / "images.npy", rows), store[rows])
    with pytest.raises(IndexError, match="row 96"):
        read_rows(tiny_study / "images.npy", np.array([96]))


def test_a_validation_split_is_evaluated_every_epoch(tiny_study, tmp_path):
    metrics = run(tiny_study, tmp_path, settings(epochs=2, split={**SPLIT, "validation_size": 12}))
    assert metrics["validation_accuracy"].between(0, 1).all() and metrics["validation_loss"].notna().all()
    assert (confusion_matrices(metrics).sum(axis=(1, 2)) == 24).all()  # the test set is unchanged


def group_outputs(out, runs):
    return [RunOutputs(out / f"run{r}" / "metrics.parquet", out / f"run{r}" / "predictions.parquet",
                       out / f"run{r}" / "best.pt") for r in runs]


def train_group_of(study, out, group):
    outputs = group_outputs(out, [s.run for s in group])
    for o in outputs:
        Path(o.metrics).parent.mkdir(parents=True, exist_ok=True)
    return train_group(group, study / "images.npy", study / "catalog.parquet", outputs, None, CLASSES, threads=1,
                       progress=False)


def test_a_group_gives_each_run_the_numbers_it_gets_alone(tiny_study, tmp_path):
    """runs_per_job: two runs trained one after the other in one process, on one model object, equal solo runs."""
    group = [settings(run=0, epochs=2), settings(run=1, epochs=2)]
    together = train_group_of(tiny_study, tmp_path / "group", group)
    for s, grouped in zip(group, together):
        alone = run(tiny_study, tmp_path / f"alone{s.run}", s)
        pd.testing.assert_frame_equal(grouped.drop(columns=TIMING), alone.drop(columns=TIMING))
        a = torch.load(tmp_path / "group" / f"run{s.run}" / "best.pt", weights_only=False)["model"]
        b = torch.load(tmp_path / f"alone{s.run}" / "best.pt", weights_only=False)["model"]
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert not together[0].drop(columns=TIMING).equals(together[1].drop(columns=TIMING))  # two runs, not one twice


def test_a_rerun_group_retrains_only_the_run_whose_checkpoint_is_gone(tiny_study, tmp_path, capsys):
    group = [settings(run=0, epochs=2), settings(run=1, epochs=2)]
    first = train_group_of(tiny_study, tmp_path, group)
    for path in (tmp_path / "run0").iterdir():  # run 0: outputs gone (Snakemake removes them), last.pt kept
        if path.name != "last.pt":
            path.unlink()
    shutil.rmtree(tmp_path / "run1")  # run 1: rebuilt from nothing
    capsys.readouterr()
    second = train_group_of(tiny_study, tmp_path, group)
    printed = capsys.readouterr().out
    assert f"resuming from {tmp_path / 'run0' / 'last.pt'} after epoch 2" in printed
    assert "resuming from " + str(tmp_path / "run1") not in printed
    for a, b in zip(first, second):
        pd.testing.assert_frame_equal(a.drop(columns=TIMING), b.drop(columns=TIMING))
    pd.testing.assert_frame_equal(first[0], second[0])  # run 0 was not retrained: even its timings are the saved ones


def test_a_finished_run_leaves_only_its_results_and_is_written_again_from_them(tiny_study, tmp_path, capsys):
    """Disk: a finished run's last.pt keeps metrics and best epoch, not the model, optimiser or random streams;
    best weights only where kept (best_weights). A rerun of the job writes the same outputs without training."""
    group = [settings(run=0, epochs=2), settings(run=1, epochs=2)]
    outputs = [RunOutputs(tmp_path / "run0/metrics.parquet", tmp_path / "run0/predictions.parquet", None),
               RunOutputs(tmp_path / "run1/metrics.parquet", tmp_path / "run1/predictions.parquet",
                          tmp_path / "run1/best.pt")]
    for o in outputs:
        Path(o.metrics).parent.mkdir(parents=True, exist_ok=True)
    first = train_group(group, tiny_study / "images.npy", tiny_study / "catalog.parquet", outputs, None, CLASSES,
                        threads=1, progress=False)
    assert not (tmp_path / "run0/best.pt").exists() and (tmp_path / "run1/best.pt").exists()
    records = [torch.load(tmp_path / f"run{r}/last.pt", weights_only=False) for r in (0, 1)]
    for record in records:
        assert record["finished"] and not {"model", "optimizer", "rng", "schedule"} & set(record)
        assert len(record["metrics"]) == 2 and record["best"]["predictions"] is not None
    assert records[0]["best"]["state"] is None
    best = torch.load(tmp_path / "run1/best.pt", weights_only=False)["model"]
    assert all(torch.equal(records[1]["best"]["state"][k], best[k]) for k in best)
    predictions = [pd.read_parquet(o.predictions) for o in outputs]
    for o in outputs:  # Snakemake removes a job's outputs before it runs it again
        for path in (o.metrics, o.predictions, o.best_model):
            if path is not None:
                Path(path).unlink()
    capsys.readouterr()
    second = train_group(group, tiny_study / "images.npy", tiny_study / "catalog.parquet", outputs, None, CLASSES,
                         threads=1, progress=False)
    printed = capsys.readouterr().out
    assert printed.count("the run had finished; its outputs are written again") == 2 and "epochs" not in printed
    for a, b in zip(first, second):
        pd.testing.assert_frame_equal(a, b)  # not retrained: even the timings are the saved ones
    for o, before in zip(outputs, predictions):
        pd.testing.assert_frame_equal(pd.read_parquet(o.predictions), before)
    again = torch.load(tmp_path / "run1/best.pt", weights_only=False)["model"]
    assert all(torch.equal(again[k], best[k]) for k in best)


def test_best_weights_asked_for_after_a_run_finished_without_them_train_it_again(tiny_study, tmp_path, capsys):
    alone = settings(run=0, epochs=2)
    out = RunOutputs(tmp_path / "metrics.parquet", tmp_path / "predictions.parquet", None)
    train_group([alone], tiny_study / "images.npy", tiny_study / "catalog.parquet", [out], None, CLASSES, threads=1,
                progress=False)
    wanted = RunOutputs(out.metrics, out.predictions, tmp_path / "best.pt")
    capsys.readouterr()
    train_group([alone], tiny_study / "images.npy", tiny_study / "catalog.parquet", [wanted], None, CLASSES,
                threads=1, progress=False)
    assert "had finished without keeping its best weights" in capsys.readouterr().out
    assert torch.load(tmp_path / "best.pt", weights_only=False)["model"]


def test_a_jobs_outputs_are_matched_to_its_runs_with_best_weights_for_some():
    outputs = run_outputs(["r/run000/metrics.parquet", "r/run001/metrics.parquet"],
                          ["r/run000/predictions.parquet", "r/run001/predictions.parquet"], ["r/run001/best.pt"])
    assert [o.best_model for o in outputs] == [None, "r/run001/best.pt"]
    assert run_outputs("r/run000/metrics.parquet", "r/run000/predictions.parquet", [])[0].best_model is None
    with pytest.raises(ValueError, match="in no run's folder"):
        run_outputs(["r/run000/metrics.parquet"], ["r/run000/predictions.parquet"], ["r/run009/best.pt"])


def test_runs_of_different_settings_cannot_share_a_job(tiny_study, tmp_path):
    with pytest.raises(ValueError, match=r"runs 0 and 1 cannot share a job: they differ in \['epochs'\]"):
        train_group_of(tiny_study, tmp_path, [settings(run=0, epochs=2), settings(run=1, epochs=3)])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device machine)")
@pytest.mark.parametrize("compiled", [False, True])
def test_a_run_resumes_on_cuda(tiny_study, tmp_path, compiled):
    """A checkpoint written on the GPU is read back there (random streams included) and changes nothing."""
    s = settings(device="cuda", compile=compiled, epochs=2, evaluation="paper")
    first = run(tiny_study, tmp_path, s)
    for name in ("metrics.parquet", "predictions.parquet", "best.pt"):
        (tmp_path / name).unlink()
    again = run(tiny_study, tmp_path, s)
    pd.testing.assert_frame_equal(first, again)


def test_a_label_budget_trains_on_its_subset_and_steps_scaling_keeps_the_epochs_length(tiny_study):
    from galaxy_pretraining.analysis.label_budgets import training_set_sizes
    from galaxy_pretraining.training.train import epoch_order, run_data

    catalog = pd.read_parquet(tiny_study / "catalog.parquet")
    images = load_store(tiny_study / "images.npy", len(catalog), torch.device("cpu"))
    full = run_data(images, catalog, SPLIT, 0, 1.0, "steps")
    epochs = run_data(images, catalog, SPLIT, 0, 0.25, "epochs")
    steps = run_data(images, catalog, SPLIT, 0, 0.25, "steps")
    assert full.epoch_images is None and epochs.epoch_images is None and steps.epoch_images == 72
    assert set(steps.rows["train"].tolist()) < set(full.rows["train"].tolist())
    assert torch.equal(steps.rows["test"], full.rows["test"])  # the test set is never touched
    sizes = training_set_sizes(catalog, SPLIT, [0], [0.25, 1.0]).set_index("train_fraction")["n_train"]
    assert sizes.to_dict() == {0.25: len(steps.rows["train"]), 1.0: 72}  # the tables count what training used
    order = epoch_order(steps.labels[steps.rows["train"]], torch.Generator().manual_seed(0), False, 72)
    n = len(steps.rows["train"])
    assert len(order) == 72 and sorted(order[:n].tolist()) == list(range(n))  # whole passes, one after another


def test_normalisation_from_the_weights_is_in_the_runs_saved_settings(tiny_study, tmp_path):
    """training.normalization `weights`: resnet18 from scratch gets ImageNet's values (its ImageNet arm's),
    and its checkpoint and best model hold them, not the word `weights`."""
    from galaxy_pretraining.figures.inspection.gradcam import displayable
    from galaxy_pretraining.training.augment import IMAGENET_MEAN, IMAGENET_STD, normalize

    s = settings(epochs=1, normalization="weights")
    run(tiny_study, tmp_path, s)
    for file in ("best.pt", "last.pt"):
        path = tmp_path / file
        if path.exists():
            saved = torch.load(path, weights_only=False)["settings"]["normalization"]
            assert saved["mean"] == list(IMAGENET_MEAN) and saved["std"] == list(IMAGENET_STD), (file, saved)
    images, catalog = load_store(tiny_study / "images.npy", N, torch.device("cpu")), pd.read_parquet(
        tiny_study / "catalog.parquet")
    r = build_run(s, images, catalog, None, CLASSES)
    assert r.settings.normalization["source"].startswith("ImageNet") and s.normalization == "weights"
    assert 0 <= evaluate(r.model, r.data, "test", r.settings, r.generators["evaluate"], r.device)["accuracy"] <= 1
    pixels = torch.rand(2, 3, 4, 4)
    assert np.allclose(displayable(normalize(pixels, r.settings.normalization), r.settings.normalization),
                       pixels.permute(0, 2, 3, 1).numpy(), atol=1e-6)
