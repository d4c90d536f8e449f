"""A training job: runs of one model trained one after the other in one process, and their outputs."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence

import pandas as pd
import torch

from .. import metrics_columns as col
from ..errors import BadConfig, BadData
from ..io import atomic_path, payload_bytes, write_table
from ..provenance import as_dirty
from .accounting import DeviceMonitor
from .checkpoints import finish_checkpoint, kept_weights_path, resume, states_on_cpu
from .data import load_store_digested
from .device import prepare_device
from .live import RunAccount, check_tensorboard
from .loop import train_epochs
from .run import Run, build_run
from .spec import Machine, Protocol, RunPaths
from .stopping import StopRequest, TrainingInterrupted, stop_on_signals

log = logging.getLogger(__name__)


def write_outputs(run: Run, paths: RunPaths) -> pd.DataFrame:
    """The per-epoch metrics, the best epoch's predictions and the best model.

    The best model is written unless `paths.best_model` is None.

    Each is written atomically. Both tables have a column `diverged`: in the
    metrics True on the row of the epoch a diverged run stopped in
    (loop.train_epochs), in the predictions True on every row of a diverged run
    (whose probabilities are NaN). A diverged run's best.pt holds its best
    finished epoch's weights, or the weights it diverged with when it finished
    none, and says `diverged`.

    Raises:
        BadData: the run finished without keeping its best weights but `paths.best_model` asks for them.
    """
    metrics = pd.DataFrame(run.history)
    metrics.insert(0, col.RUN, run.protocol.run)
    metrics[col.DIVERGED] = metrics[col.DIVERGED].fillna(False) if col.DIVERGED in metrics else False
    metrics[col.DIVERGED] = metrics[col.DIVERGED].astype(bool)
    if "dirty" in metrics:  # a real boolean, NA where unknown (provenance.git_state)
        metrics["dirty"] = as_dirty(metrics["dirty"]).array
    diverged = run.diverged is not None
    if paths.best_model is not None:
        state = run.best.state
        if state is None and diverged:
            state = run.model.state_dict()
        if state is None:
            raise BadData(f"{paths.best_model}: run {run.protocol.run} finished without keeping its best weights "
                          "(config best_weights); delete its last.pt to train it again")
        with atomic_path(paths.best_model, needed=payload_bytes(state), only_writer=True) as tmp:
            torch.save({"model": states_on_cpu(state), "epoch": run.best.epoch, "diverged": run.diverged,
                        "settings": run.settings(), "class_names": run.class_names}, tmp)
    write_table(run.best.predictions.assign(epoch=run.best.epoch, diverged=diverged), paths.predictions)
    write_table(metrics, paths.metrics)
    return metrics


def _check_group(protocols: Sequence[Protocol], paths: Sequence[RunPaths], weights_path) -> None:
    if not protocols:
        raise ValueError("a training group needs at least one run")
    if len(paths) != len(protocols):
        raise ValueError(f"{len(protocols)} runs but {len(paths)} sets of paths")
    for protocol in protocols[1:]:
        differing = protocols[0].same_group(protocol)
        if differing:
            raise ValueError(f"runs {protocols[0].run} and {protocol.run} cannot share a job: they differ in {differing}")
    first = protocols[0]
    if first.weights != "none" and weights_path is None:
        raise BadConfig(f"{first.architecture}: a model with {first.weights} weights needs a weights file")


def train_group(
    protocols: Sequence[Protocol],
    paths: Sequence[RunPaths],
    machine: Machine,
    store_path: os.PathLike,
    catalog_path: os.PathLike,
    weights_path: os.PathLike | None = None,
    stop: StopRequest | None = None,
    progress: bool = True,
) -> list[pd.DataFrame]:
    """Train several runs of one model in one process, one after the other.

    Their number is `train_resources.runs_per_job`.

    The store goes onto the device once and the model is built and compiled
    once. Each run resumes from its own `last.pt` (RunPaths.checkpoint): a run
    that had finished is only written out again (from the record
    `finish_checkpoint` left), so a killed group loses at most the epochs since
    the running run's last checkpoint. On SIGTERM or SIGUSR1 (SLURM's warning
    before a kill) the running run saves its exact state after the batch in
    progress and TrainingInterrupted ends the job with 128 + the signal's
    number; nothing is lost. torch.compile's cache is chosen before torch is
    imported (caches.use_compile_cache, in the rule's script). Each run
    trained accounts for itself (live.RunAccount: progress.csv, record.json,
    and TensorBoard events with `machine.tensorboard`).

    Args:
        protocols: the runs' protocols, in run order; they differ in `run` only.
        paths: where each run writes, in the same order.
        machine: device, compile, eval batch size, checkpoint interval and threads, read when the job starts.
        store_path: the array store (images.npy).
        catalog_path: its catalog (catalog.parquet).
        weights_path: the pretrained weights file; None for a model trained from scratch.
        stop: a request whose signal handlers the caller installed already (the rule's script does, before
            importing torch); None installs them here.
        progress: show progress bars.

    Returns:
        Each run's metrics table, in run order.

    Raises:
        ValueError: no runs, paths that do not match them, runs that differ in more than `run`, or a pretrained
            model without a weights file.
    """
    _check_group(protocols, paths, weights_path)
    check_tensorboard(machine.tensorboard)
    device = prepare_device(protocols[0], machine)
    log.info("job: starting (device=%s, runs=%s, protocol=%s, machine=%s)", device, [p.run for p in protocols],
             protocols[0].fingerprint(), machine)
    catalog = pd.read_parquet(catalog_path)
    monitor = DeviceMonitor(device)
    with contextlib.nullcontext(stop) if stop is not None else stop_on_signals() as stop, \
            contextlib.closing(monitor):
        images, digests = load_store_digested(store_path, len(catalog), device)
        shared, tables = None, []
        for protocol, out in zip(protocols, paths):
            run = shared = build_run(protocol, machine, images, catalog, weights_path, shared, digests)
            checkpoint_path = out.checkpoint
            resume(run, checkpoint_path)
            if run.finished and out.best_model is not None and run.best.state is None:
                log.info("run %s: retrained from epoch 0 (reason=best.pt asked for, the record holds no best weights)",
                         protocol.run)
                run = shared = build_run(protocol, machine, images, catalog, weights_path, shared, digests)
            elif run.finished:
                written_from = [checkpoint_path.name] + ([kept_weights_path(checkpoint_path).name]
                                                         if out.best_model is not None else [])
                log.info("run %s: outputs written again without training (from=%s)", protocol.run,
                         " and ".join(written_from))
            account = None if run.finished else RunAccount(run, checkpoint_path.parent, monitor, machine.tensorboard)
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
            tables.append(write_outputs(run, out))
            finish_checkpoint(run, checkpoint_path, out.best_model)
            if account is not None:
                account.end("diverged" if run.diverged else "finished")
    return tables


def train_run(protocol: Protocol, paths: RunPaths, machine: Machine, store_path: os.PathLike,
              catalog_path: os.PathLike, weights_path: os.PathLike | None = None,
              progress: bool = True) -> pd.DataFrame:
    """Train one run (a group of one, `train_group`), resuming from its `last.pt` if its protocol matches."""
    return train_group([protocol], [paths], machine, store_path, catalog_path, weights_path, progress=progress)[0]

