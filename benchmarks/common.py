"""Shared helpers of the benchmarks: the images they use, the machine, the results table."""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch

from galaxy_pretraining.config import schema_defaults

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
GZ1 = ROOT.parent / "shared" / "data" / "gz1-sdss" / "images"
MACHINE_COLUMNS = ("machine", "torch", "date")

log = logging.getLogger("benchmarks")


def log_to_stdout() -> None:
    """Show the benchmark's log lines on stdout, one line per event, as its output."""
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")


def key_values(row: dict) -> str:
    """A results row as `key=value, ...` for a log line, without the machine, torch and date columns."""
    return ", ".join(f"{key}={value}" for key, value in row.items() if key not in MACHINE_COLUMNS)


def sample_images(n: int) -> list[str]:
    """N real SDSS JPEGs from gz1-sdss when present, otherwise n mock cutouts made here."""
    if GZ1.is_dir():
        return [str(p) for p in sorted(GZ1.iterdir())[:n]]
    from galaxy_pretraining.data.synthetic import write_mock_sample

    folder = Path(tempfile.mkdtemp(prefix="bench-mock-"))
    mock = schema_defaults("data", "mock")
    write_mock_sample(folder / "catalog.parquet", folder / "images", n, mock["seed"],
                      (mock["image_size_min"], mock["image_size_max"]))
    return [str(p) for p in sorted((folder / "images").iterdir())]


def write_synthetic_store(path: Path, n: int = 14034, size: int = 256) -> Path:
    """An array store of n random uint8 images of size x size (full size by default: 2.8 GB), block by block."""
    import numpy as np

    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, 3, size, size))
    block = np.random.default_rng(0).integers(0, 256, (64, 3, size, size), dtype=np.uint8)
    for first in range(0, n, 64):
        array[first : first + 64] = block[: n - first]
    array.flush()
    del array
    return path


def spec_of(values, **overrides):
    """A run's (Protocol, Machine) from one flat mapping of training values and overrides of either.

    The mapping is a Protocol's params, say; machine values not given are the schema's defaults, threads and the
    compile cache torch's own.
    """
    from galaxy_pretraining.training.spec import Machine, Protocol

    merged = {**values, **overrides}
    names = [f.name for f in dataclasses.fields(Machine) if f.name not in ("threads", "compile_cache")]
    defaults = {**schema_defaults("training"), "tensorboard": schema_defaults()["tensorboard"]}  # Machine's one top-level key
    machine_values = {name: merged.pop(name, defaults[name]) for name in names}
    return Protocol.from_params(merged), Machine(**machine_values, threads=None, compile_cache=None)


def paper_settings(**overrides):
    """The (Protocol, Machine) of the paper's AlexNet (config/config.yaml, from scratch, run 0), with overrides."""
    from galaxy_pretraining.config import load_config
    from galaxy_pretraining.study import TrainingJob
    from galaxy_pretraining.study.settings import protocol as job_protocol

    config = load_config(ROOT / "config/config.yaml")
    protocol = job_protocol(config, TrainingJob("alexnet-scratch", 0, 1, False, 1.0))
    machine = {k: config["training"][k] for k in ("device", "compile", "eval_batch_size", "checkpoint_every")}
    return spec_of({**protocol.params(), **machine}, **overrides)


def bare_run(protocol, machine, data, model, optimizer, generator):
    """A training.run.Run around a given network, optimiser and data: what train_one_epoch takes.

    It has none of build_run's split, seeds and weights: the benchmarks time the loop on their own images.
    """
    from galaxy_pretraining.training.optim import Schedule
    from galaxy_pretraining.training.run import Run
    from galaxy_pretraining.training.views import Views

    views = Views.from_settings(protocol)
    return Run(protocol, machine, data.images.device, data, views, model, model, optimizer,
               {"train": generator, "evaluate": generator}, Schedule(optimizer, None, None), protocol.normalization,
               protocol.scale_jitter)


def gpu_name(device: torch.device) -> str:
    """The GPU's name where `device` is CUDA, else "cpu"."""
    return torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"


def machine() -> dict:
    """The machine (architecture, cores, GPU), torch's version and today's date, for a results row."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else ""
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores" + (f", {gpu}" if gpu else ""),
            "torch": torch.__version__, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d")}


def record(name: str, rows: list[dict]) -> Path:
    """Append rows to benchmarks/results/<name>.csv."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.csv"
    table = pd.DataFrame(rows)
    if path.exists():
        table = pd.concat([pd.read_csv(path), table], ignore_index=True)
    table.to_csv(path, index=False)
    log.info("%s: results recorded (rows=%d, file=%s)", name, len(rows), path)
    return path
