"""The GPU benchmarks on the CPU: their transforms are training's. Their numbers are benchmarks, never tested here."""

from __future__ import annotations

import dataclasses
import inspect
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu_epoch  # noqa: E402

from galaxy_pretraining import augment, train  # noqa: E402
from galaxy_pretraining.settings import TrainSettings  # noqa: E402


class Recorded(Exception):
    pass


def recorder(calls: list):
    def record(*args, **kwargs):
        calls.append((args, kwargs))
        raise Recorded  # the arguments are all this test wants: no model runs

    return record


@pytest.mark.parametrize("protocol", ["paper", "zhu", "fu"])
def test_the_benchmark_times_the_views_training_builds(protocol, monkeypatch):
    """gpu_epoch.training_view passes augment.random_transform every argument train_one_epoch passes, equal, for each
    protocol's settings as study.train_settings builds them from its config."""
    spec = gpu_epoch.protocol_settings(protocol)
    small = gpu_epoch.small_protocol(protocol, spec)
    fields = {f.name for f in dataclasses.fields(TrainSettings)}
    settings = TrainSettings(**{**spec["settings"], "device": "cpu",
                                **{k: v for k, v in small.items() if k in fields}})
    n, size = small["n_images"], small["image_size"]
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8)
    catalog = gpu_epoch.protocol_catalog(n, settings.n_classes, spec["class_counts"])
    data = train.run_data(images, catalog, settings.split, 0, 1.0, "epochs")
    generator = torch.Generator().manual_seed(0)

    trained: list = []
    monkeypatch.setattr(train, "random_transform", recorder(trained))
    with pytest.raises(Recorded):
        train.train_one_epoch(torch.nn.Identity(), None, data, settings, generator, torch.device("cpu"), False)
    timed: list = []
    monkeypatch.setattr(gpu_epoch, "random_transform", recorder(timed))
    with pytest.raises(Recorded):
        gpu_epoch.training_view(images[:4], settings, generator, torch.device("cpu"))

    (train_args, train_kwargs), (bench_args, bench_kwargs) = trained[0], timed[0]
    assert len(train_args) + len(train_kwargs) == len(inspect.signature(augment.random_transform).parameters) == 11
    assert (bench_args[1:4], bench_args[5:], bench_kwargs) == (train_args[1:4], train_args[5:], train_kwargs)
    assert bench_args[4] is train_args[4] is generator
    if protocol == "zhu":  # the views of Zhu et al. and Fu that the 8-argument call left out
        assert bench_args[9] is not None and bench_args[10] is not None  # scale jitter, colour jitter
    if protocol == "fu":
        assert bench_args[8] == 20 and settings.oversample  # channel shift
