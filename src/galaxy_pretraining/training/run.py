"""Training one (model, run) of the study, or a group of runs of one model in one process, per the paper's
protocol: `train_group` (and `train_run`, a group of one) builds each run (`build_run`: its rows, model,
views, optimiser and random streams), resumes it from its `last.pt` (`checkpoints.resume`), trains its epochs
(`loop.train_epochs`) and writes its outputs (`write_outputs`).

In a group the store is loaded onto the device once and the model built (and
compiled) once; each run gets its own initialisation, random streams,
`last.pt` and outputs, exactly as if it were trained alone, so a run's
numbers never depend on its group.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..errors import BadConfig, BadData
from ..io import atomic_path, payload_bytes, write_table
from ..models.build import build_model
from ..models.freezing import freeze_layers, trainable_parameters
from ..models.weights import weights_normalization
from .accounting import DeviceMonitor
from .augment import FROM_WEIGHTS
from .checkpoints import finish_checkpoint, kept_weights_path, resume, states_on_cpu
from .live import RunAccount, check_tensorboard
from .loop import train_epochs
from .settings import TrainSettings
from .state import (
    DIGEST_BYTES,
    Run,
    Schedule,
    choose_device,
    compiling,
    data_identity,
    load_store_digested,
    row_digests,
    run_data,
    run_seed,
)
from .stopping import StopRequest, TrainingInterrupted, stop_on_signals
from .views import Views

log = logging.getLogger(__name__)


# `extra`: fused=True on CUDA (one kernel for the whole update; the same arithmetic).
OPTIMIZERS = {
    "sgd": lambda params, o, **extra: torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"],
                                                      weight_decay=o["weight_decay"], nesterov=o["nesterov"], **extra),
    "adam": lambda params, o, **extra: torch.optim.Adam(params, lr=o["lr"], weight_decay=o["weight_decay"], **extra),
    "adamw": lambda params, o, **extra: torch.optim.AdamW(params, lr=o["lr"], weight_decay=o["weight_decay"], **extra),
}


def _compiled(model: torch.nn.Module, settings: TrainSettings, device: torch.device) -> torch.nn.Module:
    # dynamic=False: one static graph per batch shape (the last, shorter batch gets its own). With dynamic
    # shapes, torch 2.11's inductor failed a stride check in ResNet-18's channels-last backward on an H100.
    return torch.compile(model, dynamic=False) if compiling(settings, device) else model


def _prepare_device(settings: TrainSettings, threads: int | None) -> torch.device:
    if threads:
        torch.set_num_threads(threads)
    if settings.deterministic:
        # cuBLAS needs a fixed workspace to be deterministic; must be set before CUDA starts.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    device = choose_device(settings.device)
    torch.use_deterministic_algorithms(settings.deterministic, warn_only=False)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not settings.deterministic
    return device


def _check_job(settings: TrainSettings, weights_path, class_names) -> list[str]:
    if settings.weights != "none" and weights_path is None:
        raise BadConfig(f"{settings.architecture}: a model with {settings.weights} weights needs a weights file")
    class_names = list(class_names)
    if len(class_names) != settings.n_classes:
        raise BadConfig(f"{len(class_names)} class names {class_names} for a model of {settings.n_classes} classes")
    return class_names


def build_run(settings: TrainSettings, images: torch.Tensor, catalog: pd.DataFrame, weights_path, class_names,
              shared: Run | None = None, digests: np.ndarray | None = None) -> Run:
    """The run's rows of the store, model (ImageNet weights or default init), optimiser and random streams.

    With `shared` (the group's previous run) the network and its compiled
    wrapper are reused: this run's initialisation is copied into them, so
    nothing is built or compiled twice and the numbers are those of a solo run.
    `digests`: state.row_digests of every store row (load_store_digested); None
    hashes the run's rows of `images` here. With them the run's `identity`
    (state.data_identity) ties its checkpoints to the data it reads.
    """
    class_names = _check_job(settings, weights_path, class_names)
    device = images.device
    arm = "scratch" if settings.weights == "none" else settings.weights
    print(f"training {settings.architecture} ({arm}) run {settings.run} on {device}", flush=True)
    data = run_data(images, catalog, settings.split, settings.run, settings.train_fraction, settings.budget_scaling)
    rows = {subset: chosen.cpu().numpy() for subset, chosen in data.rows.items()}
    if digests is None:
        digests = np.zeros((len(catalog), DIGEST_BYTES), dtype=np.uint8)
        used = np.unique(np.concatenate(list(rows.values())))
        digests[used] = row_digests(images[torch.as_tensor(used, device=images.device)].cpu().numpy())
    read = data_identity(catalog, rows, digests, class_names)
    # Arms of one architecture with any pretrained weights draw alike (the seeds predate the zoobot source).
    identity = (settings.seed, settings.architecture, settings.weights != "none", settings.run)
    torch.manual_seed(run_seed(*identity, "init"))
    initial = build_model(settings.architecture, settings.n_classes, None if settings.weights == "none" else weights_path,
                          settings.dropout)
    if settings.scale_jitter is not None and settings.scale_jitter.get("draw") == "per_run":
        # Zhu et al.'s code: one crop side and one number of quarter turns for the whole run, drawn from the
        # run's own seed (the same after a resume), kept in its saved settings.
        draw = torch.Generator().manual_seed(run_seed(*identity, "per_run_view"))
        low, high = settings.scale_jitter["sides"]
        side, turns = (int(torch.randint(low, high + 1, (1,), generator=draw)),
                       int(torch.randint(0, 4, (1,), generator=draw)))
        settings = replace(settings, scale_jitter={**settings.scale_jitter, "run_side": side, "run_turns": turns})
        print(f"one view for the whole run: side {side}, {turns} quarter turns", flush=True)
    if settings.normalization == FROM_WEIGHTS:
        # The run (its checkpoints and best model's saved settings) holds the values its weights call for.
        settings = replace(settings, normalization=weights_normalization(initial, settings.architecture, settings.weights))
        print(f"normalisation from the weights: {settings.normalization}", flush=True)
    if shared is None:
        frozen = freeze_layers(initial, settings.architecture, settings.frozen_share)
        if frozen:
            print(f"{len(frozen)} layers frozen at their ImageNet weights, {frozen[0]} to {frozen[-1]}", flush=True)
        model = initial.to(device)
        if device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        forward = _compiled(model, settings, device)
    else:
        model, forward = shared.model, shared.forward
        model.load_state_dict(initial.state_dict())
    fused = {"fused": True} if device.type == "cuda" else {}
    # Only the trainable parameters: frozen ones get no gradient, no optimiser state and no weight decay.
    optimizer = OPTIMIZERS[settings.optimizer["name"]](trainable_parameters(model), settings.optimizer, **fused)
    schedule = Schedule(optimizer, settings.lr_schedule, settings.max_iterations)
    generators = {}
    for name in ("train", "evaluate"):
        generators[name] = torch.Generator(device=device)
        generators[name].manual_seed(run_seed(*identity, name))
    best = {"accuracy": -1.0, "epoch": 0, "state": None, "predictions": None}
    views = Views.from_settings(settings, compiling(settings, device))
    return Run(settings, device, data, views, model, forward, optimizer, generators, schedule, class_names, [], best,
               identity=read)


def write_outputs(run: Run, metrics_path, predictions_path, best_model_path) -> pd.DataFrame:
    """The per-epoch metrics, the best epoch's predictions and (unless `best_model_path` is None) the best model,
    each written atomically.

    Both tables have a column `diverged`: in the metrics True on the row of the
    epoch a diverged run stopped in (loop.train_epochs), in the predictions
    True on every row of a diverged run (whose probabilities are NaN). A
    diverged run's best.pt holds its best finished epoch's weights, or the
    weights it diverged with when it finished none, and says `diverged`.
    """
    metrics = pd.DataFrame(run.history)
    metrics.insert(0, "run", run.settings.run)
    metrics["diverged"] = (metrics["diverged"].fillna(False) if "diverged" in metrics else False)
    metrics["diverged"] = metrics["diverged"].astype(bool)
    diverged = run.diverged is not None
    if best_model_path is not None:
        state = run.best["state"]
        if state is None and diverged:
            state = run.model.state_dict()
        if state is None:
            raise BadData(f"{best_model_path}: run {run.settings.run} finished without keeping its best weights "
                             "(config best_weights); delete its last.pt to train it again")
        with atomic_path(best_model_path, needed=payload_bytes(state), only_writer=True) as tmp:
            torch.save({"model": states_on_cpu(state), "epoch": run.best["epoch"], "diverged": run.diverged,
                        "settings": asdict(run.settings), "class_names": run.class_names}, tmp)
    write_table(run.best["predictions"].assign(epoch=run.best["epoch"], diverged=diverged), predictions_path)
    write_table(metrics, metrics_path)
    return metrics


@dataclass(frozen=True)
class RunOutputs:
    """Where one run of a group writes: its metrics, best-epoch predictions and best model (None: its best weights
    are not kept, config best_weights); last.pt beside the metrics."""

    metrics: os.PathLike
    predictions: os.PathLike
    best_model: os.PathLike | None


def run_outputs(metrics, predictions, best_models) -> list[RunOutputs]:
    """RunOutputs of a job's outputs: one path each (one run) or lists of paths in run order (a group).

    `best_models` holds the best.pt paths of the runs that keep them (possibly none), each in its run's folder.
    Raises ValueError when the metrics and predictions differ in number, or a best.pt belongs to no run.
    """
    def as_list(paths):
        return [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)

    metrics, predictions, best_models = as_list(metrics), as_list(predictions), as_list(best_models)
    if len(metrics) != len(predictions):
        raise ValueError(f"{len(metrics)} metrics and {len(predictions)} predictions paths")
    by_folder = {Path(path).parent: path for path in best_models}
    unmatched = set(by_folder) - {Path(path).parent for path in metrics}
    if unmatched:
        raise ValueError(f"best-model paths in no run's folder: {sorted(map(str, unmatched))}")
    return [RunOutputs(m, p, by_folder.get(Path(m).parent)) for m, p in zip(metrics, predictions)]


def _check_group(group: list[TrainSettings]) -> None:
    if not group:
        raise ValueError("a training group needs at least one run")
    first = {k: v for k, v in asdict(group[0]).items() if k != "run"}
    for settings in group[1:]:
        other = {k: v for k, v in asdict(settings).items() if k != "run"}
        differing = sorted(k for k in first if first[k] != other[k])
        if differing:
            raise ValueError(f"runs {group[0].run} and {settings.run} cannot share a job: they differ in {differing}")


def train_group(
    group: list[TrainSettings],
    store_path: os.PathLike,
    catalog_path: os.PathLike,
    outputs: list[RunOutputs],
    weights_path: os.PathLike | None,
    class_names,
    threads: int | None = None,
    progress: bool = True,
    stop: StopRequest | None = None,
    tensorboard: bool = False,
) -> list[pd.DataFrame]:
    """Train several runs of one model in one process, one after the other (`train_resources.runs_per_job`).

    The store goes onto the device once and the model is built and compiled
    once. Each run resumes from its own `last.pt` beside its metrics: a run
    that had finished is only written out again (from the record
    `finish_checkpoint` left), so a killed group loses at most the epochs since
    the running run's last checkpoint. On SIGTERM or
    SIGUSR1 (SLURM's warning before a kill) the running run saves its exact
    state after the batch in progress and TrainingInterrupted ends the job
    with 128 + the signal's number; nothing is lost. torch.compile's cache is
    chosen before torch is imported (caches.use_compile_cache, in the rule's script).
    `stop`: a request whose signal handlers the caller installed already (the
    rule's script does, before importing torch); None installs them here.
    Each run trained accounts for itself (live.RunAccount: progress.csv, record.json, and TensorBoard events
    with `tensorboard`).
    """
    _check_group(group)
    if len(outputs) != len(group):
        raise ValueError(f"{len(group)} runs but {len(outputs)} sets of outputs")
    _check_job(group[0], weights_path, class_names)
    check_tensorboard(tensorboard)
    device = _prepare_device(group[0], threads)
    log.info("device %s, settings %s, runs %s", device, group[0], [s.run for s in group])
    catalog = pd.read_parquet(catalog_path)
    monitor = DeviceMonitor(device)
    with contextlib.nullcontext(stop) if stop is not None else stop_on_signals() as stop, \
            contextlib.closing(monitor):
        images, digests = load_store_digested(store_path, len(catalog), device)
        shared, tables = None, []
        for settings, out in zip(group, outputs):
            run = shared = build_run(settings, images, catalog, weights_path, class_names, shared, digests)
            checkpoint_path = Path(out.metrics).with_name("last.pt")
            resume(run, checkpoint_path)
            if run.finished and out.best_model is not None and run.best["state"] is None:
                print(f"run {settings.run}: its best.pt is asked for, but the record holds no best weights (they were "
                      "not kept when it ran, or its best-kept.pt is gone, as said above): it is trained again from "
                      "epoch 0", flush=True)
                run = shared = build_run(settings, images, catalog, weights_path, class_names, shared, digests)
            elif run.finished:
                print(f"run {settings.run}: its outputs are written again from {checkpoint_path.name}"
                      + (f" and {kept_weights_path(checkpoint_path).name}" if out.best_model is not None else "")
                      + ", without training", flush=True)
            account = None if run.finished else RunAccount(run, checkpoint_path.parent, monitor, tensorboard)
            try:
                train_epochs(run, checkpoint_path, progress, stop, None if account is None else account.epoch)
            except TrainingInterrupted:
                if account is not None:
                    account.end("interrupted")
                raise
            except BaseException as error:
                if account is not None:
                    account.end("failed", error)
                raise
            tables.append(write_outputs(run, out.metrics, out.predictions, out.best_model))
            finish_checkpoint(run, checkpoint_path, out.best_model)
            if account is not None:
                account.end("diverged" if run.diverged else "finished")
    return tables


def train_run(
    settings: TrainSettings,
    store_path: os.PathLike,
    catalog_path: os.PathLike,
    metrics_path: os.PathLike,
    predictions_path: os.PathLike,
    best_model_path: os.PathLike,
    weights_path: os.PathLike | None,
    class_names,
    threads: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Train one run, resuming from `last.pt` beside the metrics if its settings match."""
    outputs = RunOutputs(metrics_path, predictions_path, best_model_path)
    return train_group([settings], store_path, catalog_path, [outputs], weights_path, class_names, threads,
                       progress)[0]
