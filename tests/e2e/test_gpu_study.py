"""The GPU study's command (benchmarks/gpu_study/) on the CPU: it times the views training builds, and --small writes
every table and the figure with sane values. Its numbers are benchmarks, never tested here."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest
import torch

from helpers.paths import ROOT
from helpers.paths import SHARED_GZ1 as GZ1

sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu_epoch  # noqa: E402
from common import spec_of  # noqa: E402

from galaxy_pretraining.training.run import build_run  # noqa: E402
from galaxy_pretraining.training.views import Views  # noqa: E402


@pytest.mark.parametrize("protocol", ["paper", "zhu", "fu"])
def test_the_benchmark_times_the_views_training_builds(protocol):
    """gpu_epoch.augmentation_seconds times run.views.train, the views build_run made for training from each
    protocol's settings as study.settings.protocol builds them from its config: no argument is picked by hand."""
    spec = gpu_epoch.protocol_settings(protocol)
    small = gpu_epoch.small_protocol(protocol, spec)
    fields = set(spec["settings"]) | {"device", "compile", "eval_batch_size", "checkpoint_every"}
    settings, on = spec_of(spec["settings"], device="cpu", **{k: v for k, v in small.items() if k in fields})
    n, size = small["n_images"], small["image_size"]
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8)
    catalog = gpu_epoch.protocol_catalog(n, settings.n_classes, spec["class_counts"])
    run = build_run(settings, on, images, catalog, None)
    assert run.views == Views.from_settings(run.settings())
    calls = []

    class Watched:
        def train(self, batch, generator):
            calls.append(generator)
            return views.train(batch, generator)

    views, run.views = run.views, Watched()
    assert gpu_epoch.augmentation_seconds(run, 1) > 0
    assert calls and all(generator is run.generators["train"] for generator in calls)
    if protocol == "zhu":  # the views of Zhu et al. and Fu that an 8-argument call once left out
        assert views.scale_jitter is not None and views.colour_jitter is not None
    if protocol == "fu":
        assert views.channel_shift == 20 and settings.oversample


@pytest.mark.slow
@pytest.mark.skipif(not (GZ1 / "labels.csv").exists(), reason="gz1-sdss is not beside the repository")
def test_the_gpu_study_runs_small_on_the_cpu(tmp_path):
    out, archive = tmp_path / "results", tmp_path / "archive"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks/gpu_study"), "--small", "--device", "cpu",
                             "--results", str(out), "--archive", str(archive)], cwd=ROOT, capture_output=True,
                            text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    manifest = json.loads((out / "carry" / "manifest.json").read_text())
    assert manifest["pack"]["images"] == 48 and manifest["pack"]["classes"] == ["elliptical", "spiral",
                                                                                 "irregular+misc"]
    assert 0 < manifest["pack"]["rmse_grey_levels_vs_store"] < 5

    runs = pd.read_csv(out / "gz1_runs.csv")
    assert len(runs) == 4 and runs.groupby("arm")["run"].apply(sorted).tolist() == [[0, 1], [0, 1]]
    assert runs["peak_test_accuracy"].between(0, 1).all() and (runs["epochs"] == 2).all()
    assert (runs["final_test_accuracy"] <= runs["peak_test_accuracy"]).all() and (runs["seconds"] > 0).all()
    assert set(runs["weights"]) == {"none", "imagenet"}
    epochs = pd.read_csv(out / "gz1_epochs.csv")
    assert len(epochs) == 8 and epochs["test_accuracy"].between(0, 1).all()
    summary = pd.read_csv(out / "gz1_summary.csv")
    assert list(summary["runs"]) == [2, 2] and summary["mean"].between(0, 1).all()
    assert (summary["pairs"] == 2).all() and summary["sign_test_p"].between(0, 1).all()
    assert (summary["pretrained_wins"] + summary["scratch_wins"] + summary["ties"] == 2).all()
    assert (out / "gz1_accuracy.png").stat().st_size > 10_000

    protocols = pd.read_csv(out / "protocol_epochs.csv")
    assert list(protocols["protocol"]) == ["paper", "zhu", "fu"] and "error" not in protocols
    assert list(protocols["architecture"]) == ["alexnet", "wide_preact_resnet26", "densenet121"]
    assert (protocols["train_s"] > 0).all() and (protocols["test_s"] > 0).all()
    assert protocols["augmentation_share"].between(0, 1).all()
    assert list(protocols["test_views"]) == [1, 2, 1]  # Zhu's test sides each get a view
    # Fu's oversampling shows every class as often as the largest: more images than the training rows
    assert protocols.set_index("protocol").loc["fu", "train_images_shown"] > 24

    steps = pd.read_csv(out / "alexnet_step_mfu.csv")
    assert list(steps["variant"]) == ["engine", "cuda_graphs", "batch_1024", "max_autotune"]
    assert (steps["step_s"] > 0).all() and (steps["images_per_s"] > 0).all()
    kernels = pd.read_csv(out / "alexnet_step_top_kernels.csv")
    assert len(kernels) > 5 and kernels["share"].between(0, 1).all()
    assert "Self CPU" in (out / "alexnet_step_profile.txt").read_text()

    timings = json.loads((out / "timings.json").read_text())
    assert list(timings["parts_s"]) == ["pretrained-vs-scratch", "protocol-epochs", "step-profile"]
    with tarfile.open(archive / "gpu_study.tar.gz") as tar:
        names = {Path(n).name for n in tar.getnames()}
    assert {"gz1_runs.csv", "gz1_summary.csv", "gz1_accuracy.png", "protocol_epochs.csv", "alexnet_step_mfu.csv",
            "log.txt", "timings.json"} <= names and "manifest.json" not in names
    assert "pretrained-vs-scratch: summary written" in (archive / "log.txt").read_text()
    assert "| arm " in result.stdout  # the summary table, printed
