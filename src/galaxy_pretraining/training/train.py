"""Training engine: one (model, run) of the study, per the paper's protocol.

The verbs: `load_data` (the run's images from the array store onto the
device, once), `train_one_epoch`, `evaluate`; and `train_run`, which is
`build_run` (device, data, model, optimiser, random streams), `resume` (from
`last.pt` when its settings match), `train_epochs` (the loop, metrics, best
epoch, checkpoints) and `write_outputs`. The resume checkpoint `last.pt` sits
beside the outputs and is not a Snakemake output, so a job killed by a time
limit and started again continues from it instead of starting over. Once a
run has finished and written its outputs, `finish_checkpoint` replaces its
`last.pt` by a small record of its results (metrics and best epoch; the best
weights only where they are kept), so that a job that runs again writes them
again without training, and a finished study keeps no optimiser states.

`train_group` trains several runs of one model in one process: the store is
loaded onto the device once and the model built (and compiled) once; each run
gets its own initialisation, random streams, `last.pt` and outputs, exactly as
if it were trained alone, so a run's numbers never depend on its group.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..data.array_store import open_array_store, read_rows
from ..data.splits import labelled_subset, rows_of, study_splits
from ..io import atomic_path, write_table
from ..models.build import build_model
from ..models.freezing import freeze_layers, hold_frozen_batch_norms, trainable_parameters
from ..models.weights import weights_normalization
from .augment import FROM_WEIGHTS, evaluation_transform, random_transform
from .settings import TrainSettings
from .stopping import StopRequest, TrainingInterrupted, stop_on_signals

log = logging.getLogger(__name__)

# `extra`: fused=True on CUDA (one kernel for the whole update; the same arithmetic).
OPTIMIZERS = {
    "sgd": lambda params, o, **extra: torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"],
                                                      weight_decay=o["weight_decay"], nesterov=o["nesterov"], **extra),
    "adam": lambda params, o, **extra: torch.optim.Adam(params, lr=o["lr"], weight_decay=o["weight_decay"], **extra),
    "adamw": lambda params, o, **extra: torch.optim.AdamW(params, lr=o["lr"], weight_decay=o["weight_decay"], **extra),
}


class Schedule:
    """The learning-rate steps and the iteration limit of a run (training.lr_schedule, training.max_iterations).

    Counts the optimiser steps taken; a step decay (torch's MultiStepLR) moves
    after every step or every epoch as its `unit` says. Its state goes into
    last.pt, so a resumed run continues at the same rate and count.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, lr_schedule: dict | None, max_iterations: int | None):
        self.unit = None if lr_schedule is None else lr_schedule["unit"]
        self.scheduler = (None if lr_schedule is None else
                          torch.optim.lr_scheduler.MultiStepLR(optimizer, sorted(lr_schedule["milestones"]),
                                                               lr_schedule["gamma"]))
        self.max_iterations = max_iterations
        self.iterations = 0

    @property
    def done(self) -> bool:
        """Whether the run has taken its max_iterations steps."""
        return self.max_iterations is not None and self.iterations >= self.max_iterations

    def after_step(self) -> None:
        self.iterations += 1
        if self.unit == "iterations":
            self.scheduler.step()

    def after_epoch(self) -> None:
        if self.unit == "epochs":
            self.scheduler.step()

    def state_dict(self) -> dict:
        return {"iterations": self.iterations,
                "scheduler": None if self.scheduler is None else self.scheduler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.iterations = state["iterations"]
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])


def choose_device(requested: str) -> torch.device:
    """cuda, then mps, then cpu; an explicit request that is not available is an error."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but no CUDA device is available")
    return device


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest(), "big") >> 1


@dataclass
class RunData:
    """A run's view of the array store: the images stay where they are; each subset is a list of rows."""

    images: torch.Tensor  # the whole store, uint8 N x 3 x S x S on the device
    labels: torch.Tensor  # class index of every store row, on the device
    rows: dict[str, torch.Tensor]  # subset -> store rows (long, on the device); empty subsets left out
    epoch_images: int | None = None  # images an epoch shows, when not one pass (budget_scaling: steps)


def load_store(store_path, n_rows: int, device: torch.device) -> torch.Tensor:
    """The whole array store onto the device, once per process (a group's runs share it).

    Read in chunks of 1,024 images with plain file reads, so the host never
    holds a float copy (nor, on CUDA, a full uint8 copy) of the data set.
    """
    store = open_array_store(store_path)
    if len(store) != n_rows:
        raise ValueError(f"{store_path} holds {len(store)} images but the catalog has {n_rows} rows")
    target = torch.empty(store.shape, dtype=torch.uint8, device=device)
    for start in range(0, len(store), 1024):
        part = np.arange(start, min(start + 1024, len(store)))
        target[start : start + len(part)] = torch.from_numpy(read_rows(store_path, part)).to(device)
    return target


def run_data(images: torch.Tensor, catalog: pd.DataFrame, split: dict, run: int, train_fraction: float,
             budget_scaling: str) -> RunData:
    """The run's train / validation / test rows of the store.

    The split is drawn from the catalog with `study_splits`: the same rows
    as the run's part of splits.parquet, without depending on that file (so
    adding runs to the study retrains nothing already done). With
    train_fraction < 1 the training rows are the run's labelled subset
    (splits.labelled_subset); with budget_scaling `steps` an epoch then shows
    as many images as the whole training set has, so the run takes as many
    optimiser steps as a run on all the labels.
    """
    device = images.device
    class_index = catalog["class_index"].to_numpy()
    labels = torch.tensor(class_index, dtype=torch.long, device=device)
    splits = study_splits(catalog, [run], split)
    rows = {}
    for subset in ("train", "validation", "test"):
        chosen = rows_of(splits, run, subset)
        if subset == "train":
            full = len(chosen)
            chosen = labelled_subset(chosen, catalog["id"].to_numpy(), class_index, train_fraction, split["seed"], run)
        if len(chosen):
            rows[subset] = torch.as_tensor(chosen, dtype=torch.long, device=device)
    if budget_scaling not in ("epochs", "steps"):
        raise ValueError(f"unknown budget_scaling {budget_scaling!r}; use 'epochs' or 'steps'")
    return RunData(images, labels, rows, full if budget_scaling == "steps" and full > len(rows["train"]) else None)


def load_data(store_path, catalog: pd.DataFrame, split: dict, run: int, device: torch.device) -> RunData:
    """One run's data (all its training labels): the store onto the device and the run's rows of it."""
    return run_data(load_store(store_path, len(catalog), device), catalog, split, run, 1.0, "epochs")


def _autocast(device: torch.device, settings: TrainSettings):
    enabled = settings.mixed_precision and device.type == "cuda"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def compiling(settings: TrainSettings, device: torch.device) -> bool:
    """Whether `training.compile` asks for torch.compile here (auto: on CUDA only)."""
    return settings.compile if isinstance(settings.compile, bool) else device.type == "cuda"


def _compiled(model: torch.nn.Module, settings: TrainSettings, device: torch.device) -> torch.nn.Module:
    # dynamic=False: one static graph per batch shape (the last, shorter batch gets its own). With dynamic
    # shapes, torch 2.11's inductor failed a stride check in ResNet-18's channels-last backward on an H100.
    return torch.compile(model, dynamic=False) if compiling(settings, device) else model


# Seconds between reads of the running loss for a terminal's progress bar: each read waits for the device.
PROGRESS_SECONDS = 2.0


@dataclass
class EpochPosition:
    """Where an epoch was stopped: its order of the training rows, the next image and the sums so far.

    Saved in `last.pt` when a signal stops training mid-epoch, so that the
    resumed epoch continues from the very next batch with the same order and
    random streams: the run's numbers are those of an uninterrupted run.
    """

    epoch: int
    order: torch.Tensor  # the epoch's permutation of the training rows
    next_image: int  # how many images of `order` are done
    total_loss: torch.Tensor  # sum of per-image losses so far (0-d)
    correct: torch.Tensor  # hits so far (0-d)
    seconds: float  # training time spent in the epoch so far

    def to(self, device) -> EpochPosition:
        return EpochPosition(self.epoch, self.order.to(device), self.next_image, self.total_loss.to(device),
                             self.correct.to(device), self.seconds)


class EpochInterrupted(Exception):
    """A stop request ended an epoch early; `position` says where."""

    def __init__(self, position: EpochPosition):
        super().__init__(f"epoch {position.epoch} stopped after {position.next_image} images")
        self.position = position


def epoch_order(labels: torch.Tensor, generator: torch.Generator, oversample: bool,
                length: int | None = None) -> torch.Tensor:
    """The order of an epoch: positions into the training rows (whose class indices are `labels`).

    Without oversampling, a permutation of all of them. With it, random
    oversampling: every class as often as the largest one, each class with all
    its images once plus random repeats (drawn with replacement) to fill up,
    the whole shuffled; a new draw every epoch. With `length`, passes of such
    orders one after the other, cut at `length` images.
    """
    if length is not None:
        passes, total = [], 0
        while total < length:
            passes.append(epoch_order(labels, generator, oversample))
            total += len(passes[-1])
        return torch.cat(passes)[:length]
    if not oversample:
        return torch.randperm(len(labels), generator=generator, device=labels.device)
    classes, counts = torch.unique(labels, return_counts=True)
    largest = int(counts.max())
    parts = []
    for label, count in zip(classes.tolist(), counts.tolist()):
        members = torch.nonzero(labels == label).flatten()
        repeats = torch.randint(0, count, (largest - count,), generator=generator, device=labels.device)
        parts += [members, members[repeats]]
    chosen = torch.cat(parts)
    return chosen[torch.randperm(len(chosen), generator=generator, device=labels.device)]


def train_one_epoch(model, optimizer, data: RunData, settings: TrainSettings, generator, device, progress=True,
                    epoch: int = 0, position: EpochPosition | None = None, stop: StopRequest | None = None,
                    schedule: Schedule | None = None) -> dict:
    """One pass over the training set in random order; returns loss, accuracy and images/s.

    Nothing in the loop waits for the device: loss and hits add up on it and
    are read once at the end (and, on a terminal, every PROGRESS_SECONDS).
    `position` continues an epoch that was stopped; when `stop` is requested
    after a batch that is not the epoch's last, EpochInterrupted says where.
    `schedule` steps the learning rate after each batch and ends the epoch
    early when the run has taken its max_iterations steps.
    """
    model.train()
    hold_frozen_batch_norms(model)
    rows = data.rows["train"]
    if position is None:
        position = EpochPosition(epoch, epoch_order(data.labels[rows], generator, settings.oversample,
                                                         data.epoch_images), 0,
                                 torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.long), 0.0)
    else:
        position = position.to(device)
    order, total_loss, correct = position.order, position.total_loss, position.correct
    n = len(order)  # with oversampling, more than the training rows
    start = shown = time.perf_counter() - position.seconds
    # The per-batch bar only on a terminal; in a log file the per-epoch bar says it all.
    progress = progress and sys.stderr.isatty()
    bar = tqdm(total=n, initial=position.next_image, desc="train", unit="img", leave=False, disable=not progress,
               mininterval=1)
    for first in range(position.next_image, n, settings.batch_size):
        index = rows[order[first : first + settings.batch_size]]
        batch = random_transform(
            data.images[index], settings.crop_size, settings.flips, settings.rotation, generator,
            settings.interpolation, settings.normalization, compiling(settings, device), settings.channel_shift,
            settings.scale_jitter, settings.colour_jitter,
        )
        if device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        target = data.labels[index]
        with _autocast(device, settings):
            logits = model(batch)
            loss = F.cross_entropy(logits.float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.detach() * len(index)
        correct += (logits.argmax(1) == target).sum()
        bar.update(len(index))
        done = first + len(index)
        if schedule is not None:
            schedule.after_step()
            if schedule.done:
                n = done  # the run's last step: the epoch ends here
                break
        if stop is not None and stop.requested and done < n:
            bar.close()
            raise EpochInterrupted(EpochPosition(position.epoch, order, done, total_loss, correct,
                                                 time.perf_counter() - start))
        if progress and time.perf_counter() - shown > PROGRESS_SECONDS:
            shown = time.perf_counter()
            bar.set_postfix(loss=f"{total_loss.item() / bar.n:.3f}", img_s=f"{bar.n / (shown - start):.0f}")
    bar.close()
    train_loss, train_correct = total_loss.item(), correct.item()  # the epoch's one wait for the device
    seconds = time.perf_counter() - start
    return {
        "train_loss": train_loss / n,
        "train_accuracy": train_correct / n,
        "train_seconds": seconds,
        "images_per_second": n / seconds,
    }


@torch.no_grad()
def evaluate(model, data: RunData, subset: str, settings: TrainSettings, generator, device,
             test_side: int | None = None) -> dict:
    """Loss, accuracy, confusion matrix (rows true, columns predicted) and probabilities on a subset.
    `test_side`: with training.scale_jitter, the side of the test view (default: scale_jitter's test_side)."""
    if settings.scale_jitter is not None and test_side is None:
        test_side = settings.scale_jitter["test_side"]
    model.eval()
    rows = data.rows[subset]
    labels = data.labels[rows]
    losses, probabilities = [], []
    for first in range(0, len(rows), settings.eval_batch_size):
        index = rows[first : first + settings.eval_batch_size]
        batch = evaluation_transform(
            data.images[index], settings.evaluation, settings.crop_size,
            settings.flips, settings.rotation, generator, settings.interpolation, settings.normalization,
            compiling(settings, device), settings.channel_shift, settings.scale_jitter, settings.colour_jitter,
            test_side,
        )
        if device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        with _autocast(device, settings):
            logits = model(batch).float()
        losses.append(F.cross_entropy(logits, data.labels[index], reduction="sum"))
        probabilities.append(logits.softmax(1))
    probs = torch.cat(probabilities)
    predicted = probs.argmax(1)
    k = settings.n_classes
    confusion = torch.bincount(labels * k + predicted, minlength=k * k).reshape(k, k)
    return {
        "loss": torch.stack(losses).sum().item() / len(rows),
        "accuracy": (predicted == labels).float().mean().item(),
        "confusion": confusion.cpu().numpy(),
        "probabilities": probs.cpu().numpy(),
        "predicted": predicted.cpu().numpy(),
    }


def _rng_states(generators: dict[str, torch.Generator]) -> dict:
    states = {name: g.get_state() for name, g in generators.items()}
    states["torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(generators: dict[str, torch.Generator], states: dict) -> None:
    for name, g in generators.items():
        g.set_state(states[name])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def predictions_table(data: RunData, result: dict, class_names) -> pd.DataFrame:
    rows = data.rows["test"]
    table = pd.DataFrame(
        {"row": rows.cpu().numpy(), "true": data.labels[rows].cpu().numpy(), "predicted": result["predicted"]}
    )
    for i, name in enumerate(class_names):
        table[f"probability_{name}"] = result["probabilities"][:, i]
    return table


@dataclass
class Run:
    """One run in training: what build_run makes, resume restores and train_epochs advances."""

    settings: TrainSettings
    device: torch.device
    data: RunData
    model: torch.nn.Module  # the network itself: its state_dict is what is saved
    forward: torch.nn.Module  # what the loop calls: the model, or its torch.compile'd wrapper
    optimizer: torch.optim.Optimizer
    generators: dict[str, torch.Generator]
    schedule: Schedule
    class_names: list[str]
    history: list[dict]  # one row of metrics per finished epoch
    best: dict  # accuracy, epoch, state (on the device) and predictions of the best epoch so far
    position: EpochPosition | None = None  # where the unfinished epoch stopped, when resumed mid-epoch
    finished: bool = False  # resumed from the record a finished run leaves (finish_checkpoint): nothing to train


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
        raise ValueError(f"{settings.architecture}: a model with {settings.weights} weights needs a weights file")
    class_names = list(class_names)
    if len(class_names) != settings.n_classes:
        raise ValueError(f"{len(class_names)} class names {class_names} for a model of {settings.n_classes} classes")
    return class_names


def build_run(settings: TrainSettings, images: torch.Tensor, catalog: pd.DataFrame, weights_path, class_names,
              shared: Run | None = None) -> Run:
    """The run's rows of the store, model (ImageNet weights or default init), optimiser and random streams.

    With `shared` (the group's previous run) the network and its compiled
    wrapper are reused: this run's initialisation is copied into them, so
    nothing is built or compiled twice and the numbers are those of a solo run.
    """
    class_names = _check_job(settings, weights_path, class_names)
    device = images.device
    arm = "scratch" if settings.weights == "none" else settings.weights
    print(f"training {settings.architecture} ({arm}) run {settings.run} on {device}", flush=True)
    data = run_data(images, catalog, settings.split, settings.run, settings.train_fraction, settings.budget_scaling)
    # Arms of one architecture with any pretrained weights draw alike (the seeds predate the zoobot source).
    identity = (settings.seed, settings.architecture, settings.weights != "none", settings.run)
    torch.manual_seed(_seed(*identity, "init"))
    initial = build_model(settings.architecture, settings.n_classes, None if settings.weights == "none" else weights_path,
                          settings.dropout)
    if settings.scale_jitter is not None and settings.scale_jitter.get("draw") == "per_run":
        # Zhu et al.'s code: one crop side and one number of quarter turns for the whole run, drawn from the
        # run's own seed (the same after a resume), kept in its saved settings.
        draw = torch.Generator().manual_seed(_seed(*identity, "per_run_view"))
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
        generators[name].manual_seed(_seed(*identity, name))
    best = {"accuracy": -1.0, "epoch": 0, "state": None, "predictions": None}
    return Run(settings, device, data, model, forward, optimizer, generators, schedule, class_names, [], best)


def _on_cpu(state: dict | None) -> dict | None:
    return None if state is None else {k: v.to("cpu") for k, v in state.items()}


def save_checkpoint(run: Run, path: os.PathLike, position: EpochPosition | None = None) -> None:
    """The whole state of a run (model, optimiser, random streams, metrics, best epoch), written atomically.

    With `position`, the state is that of the middle of an epoch (after the
    batch that ended at `position.next_image`), and resume continues there.
    """
    with atomic_path(path) as tmp:
        torch.save(
            {
                "fingerprint": run.settings.fingerprint(),
                "settings": asdict(run.settings),
                "epoch": len(run.history),
                "model": run.model.state_dict(),
                "optimizer": run.optimizer.state_dict(),
                "schedule": run.schedule.state_dict(),
                "rng": _rng_states(run.generators),
                "metrics": run.history,
                "best": {**run.best, "state": _on_cpu(run.best["state"])},
                "position": None if position is None else vars(position.to("cpu")),
            },
            tmp,
        )


def finish_checkpoint(run: Run, path: os.PathLike, keep_weights: bool) -> None:
    """Replace a finished run's `last.pt` by the small record of its results, written atomically.

    The record holds the settings' fingerprint, the metrics of every epoch and
    the best epoch (accuracy, epoch, predictions, and its weights only when
    `keep_weights`), but not the model, optimiser or random streams: about
    0.73 GB less for AlexNet. `resume` reads it back as a finished run, so a
    job that trains it again (Snakemake deletes every output of a job before
    it runs) only writes its outputs again.
    """
    with atomic_path(path) as tmp:
        torch.save(
            {
                "fingerprint": run.settings.fingerprint(),
                "settings": asdict(run.settings),
                "epoch": len(run.history),
                "finished": True,
                "metrics": run.history,
                "best": {**run.best, "state": _on_cpu(run.best["state"]) if keep_weights else None},
            },
            tmp,
        )


def resume(run: Run, path: os.PathLike) -> bool:
    """Continue from a checkpoint of the same settings; one of other settings is ignored. True if resumed.

    A finished run's record (`finish_checkpoint`) sets `run.finished`: its metrics and best epoch come back, and
    there is nothing to train.
    """
    path = Path(path)
    if not path.exists():
        return False
    # Onto the CPU: the random streams' states must be CPU tensors; load_state_dict moves the rest to the device.
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    if checkpoint["fingerprint"] != run.settings.fingerprint():
        print(f"{path} was made with other settings; starting over", flush=True)
        return False
    if checkpoint.get("finished"):
        run.history, run.best, run.finished = checkpoint["metrics"], checkpoint["best"], True
        print(f"resuming from {path} after epoch {len(run.history)}: the run had finished; its outputs are written "
              "again", flush=True)
        return True
    run.model.load_state_dict(checkpoint["model"])
    run.optimizer.load_state_dict(checkpoint["optimizer"])
    run.schedule.load_state_dict(checkpoint["schedule"])
    _set_rng_states(run.generators, checkpoint["rng"])
    run.history, run.best = checkpoint["metrics"], checkpoint["best"]
    position = checkpoint.get("position")
    run.position = None if position is None else EpochPosition(**position)
    if run.position is not None and run.position.epoch != len(run.history) + 1:
        raise ValueError(f"{path}: stopped in epoch {run.position.epoch} but holds {len(run.history)} finished epochs")
    if run.position is None:
        print(f"resuming from {path} after epoch {len(run.history)}", flush=True)
    else:
        print(f"resuming from {path} in epoch {run.position.epoch} after {run.position.next_image} of "
              f"{len(run.position.order)} training images", flush=True)
    return True


def _interrupted(run: Run, checkpoint_path, stop: StopRequest, where: str) -> TrainingInterrupted:
    message = (f"{stop.name}: stopped {run.settings.architecture} run {run.settings.run} {where}; its state is in "
               f"{checkpoint_path}, and the job exits with {128 + stop.signum} so that it is retried and resumes there")
    print(message, flush=True)
    return TrainingInterrupted(stop.signum, message)


def train_epochs(run: Run, checkpoint_path: os.PathLike, progress: bool = True, stop: StopRequest | None = None) -> None:
    """Train from where the run stands to the last epoch; evaluate and checkpoint as set.

    When `stop` is requested, the batch in progress is finished, the exact
    state is written to `checkpoint_path` and TrainingInterrupted is raised.
    """
    settings = run.settings
    if run.finished:
        return
    bar = tqdm(range(len(run.history) + 1, settings.epochs + 1), desc="epochs", unit="epoch", disable=not progress,
               initial=len(run.history), total=settings.epochs)
    for epoch in bar:
        if run.schedule.done:
            break  # resumed after the run's last step (max_iterations)
        start = time.perf_counter()
        position, run.position = run.position, None
        try:
            trained = train_one_epoch(run.forward, run.optimizer, run.data, settings, run.generators["train"],
                                      run.device, progress, epoch, position, stop, run.schedule)
        except EpochInterrupted as interrupted:
            save_checkpoint(run, checkpoint_path, interrupted.position)
            n = len(interrupted.position.order)
            raise _interrupted(run, checkpoint_path, stop,
                               f"in epoch {epoch} after {interrupted.position.next_image} of {n} training images"
                               ) from None
        run.schedule.after_epoch()
        row = {"epoch": epoch, **trained, "iterations": run.schedule.iterations,
               "learning_rate": run.optimizer.param_groups[0]["lr"]}
        test = evaluate(run.forward, run.data, "test", settings, run.generators["evaluate"], run.device)
        row.update(test_loss=test["loss"], test_accuracy=test["accuracy"], test_confusion=test["confusion"].tolist())
        for side in evaluation_sides(settings):  # the test_side's view is `test` itself: not evaluated twice
            row[side_accuracy_column(side)] = (test["accuracy"] if side == settings.scale_jitter["test_side"] else
                                               evaluate(run.forward, run.data, "test", settings,
                                                        run.generators["evaluate"], run.device, side)["accuracy"])
        if "validation" in run.data.rows:
            validation = evaluate(run.forward, run.data, "validation", settings, run.generators["evaluate"],
                                  run.device)
            row.update(validation_loss=validation["loss"], validation_accuracy=validation["accuracy"])
        row["seconds"] = time.perf_counter() - start
        run.history.append(row)
        if test["accuracy"] > run.best["accuracy"]:
            run.best = {
                "accuracy": test["accuracy"],
                "epoch": epoch,
                # kept on the device: a copy to the host at every improvement would stall the GPU
                "state": {k: v.detach().clone() for k, v in run.model.state_dict().items()},
                "predictions": predictions_table(run.data, test, run.class_names),
            }
        bar.set_postfix(test_acc=f"{test['accuracy']:.3f}", best=f"{run.best['accuracy']:.3f}@{run.best['epoch']}",
                        img_s=f"{row['images_per_second']:.0f}")
        if epoch % settings.checkpoint_every == 0 or epoch == settings.epochs or run.schedule.done:
            save_checkpoint(run, checkpoint_path)
        if run.schedule.done:
            break  # max_iterations reached: this was the last epoch
        if stop is not None and stop.requested and epoch < settings.epochs:
            if epoch % settings.checkpoint_every:
                save_checkpoint(run, checkpoint_path)
            raise _interrupted(run, checkpoint_path, stop, f"after epoch {epoch}")
    bar.close()


def side_accuracy_column(side: int) -> str:
    """The metrics column of the test accuracy at one scale_jitter test side: test_accuracy_side<side>."""
    return f"test_accuracy_side{side}"


def evaluation_sides(settings: TrainSettings) -> list[int]:
    """Every test side that gets its own accuracy column (scale_jitter.test_sides; none without scale_jitter)."""
    return [] if settings.scale_jitter is None else list(settings.scale_jitter["test_sides"])


def write_outputs(run: Run, metrics_path, predictions_path, best_model_path) -> pd.DataFrame:
    """The per-epoch metrics, the best epoch's predictions and (unless `best_model_path` is None) the best model,
    each written atomically."""
    metrics = pd.DataFrame(run.history)
    metrics.insert(0, "run", run.settings.run)
    if best_model_path is not None:
        if run.best["state"] is None:
            raise ValueError(f"{best_model_path}: run {run.settings.run} finished without keeping its best weights "
                             "(config best_weights); delete its last.pt to train it again")
        with atomic_path(best_model_path) as tmp:
            torch.save({"model": _on_cpu(run.best["state"]), "epoch": run.best["epoch"],
                        "settings": asdict(run.settings), "class_names": run.class_names}, tmp)
    write_table(run.best["predictions"].assign(epoch=run.best["epoch"]), predictions_path)
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
    compile_cache: os.PathLike | None = None,
    stop: StopRequest | None = None,
) -> list[pd.DataFrame]:
    """Train several runs of one model in one process, one after the other (`train_resources.runs_per_job`).

    The store goes onto the device once and the model is built and compiled
    once. Each run resumes from its own `last.pt` beside its metrics: a run
    that had finished is only written out again (from the record
    `finish_checkpoint` left), so a killed group loses at most the epochs since
    the running run's last checkpoint. On SIGTERM or
    SIGUSR1 (SLURM's warning before a kill) the running run saves its exact
    state after the batch in progress and TrainingInterrupted ends the job
    with 128 + the signal's number; nothing is lost. `compile_cache`:
    torch.compile's cache folder, unless TORCHINDUCTOR_CACHE_DIR is set already.
    `stop`: a request whose signal handlers the caller installed already (the
    rule's script does, before importing torch); None installs them here.
    """
    _check_group(group)
    if compile_cache is not None:
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(Path(compile_cache).resolve()))
    if len(outputs) != len(group):
        raise ValueError(f"{len(group)} runs but {len(outputs)} sets of outputs")
    _check_job(group[0], weights_path, class_names)
    device = _prepare_device(group[0], threads)
    log.info("device %s, settings %s, runs %s", device, group[0], [s.run for s in group])
    catalog = pd.read_parquet(catalog_path)
    with contextlib.nullcontext(stop) if stop is not None else stop_on_signals() as stop:
        images = load_store(store_path, len(catalog), device)
        shared, tables = None, []
        for settings, out in zip(group, outputs):
            run = shared = build_run(settings, images, catalog, weights_path, class_names, shared)
            checkpoint_path = Path(out.metrics).with_name("last.pt")
            resume(run, checkpoint_path)
            if run.finished and out.best_model is not None and run.best["state"] is None:
                print(f"run {settings.run} had finished without keeping its best weights, which are now asked for "
                      "(config best_weights, gradcam.run, feature_maps.run): it is trained again", flush=True)
                run = shared = build_run(settings, images, catalog, weights_path, class_names, shared)
            train_epochs(run, checkpoint_path, progress, stop)
            tables.append(write_outputs(run, out.metrics, out.predictions, out.best_model))
            finish_checkpoint(run, checkpoint_path, keep_weights=out.best_model is not None)
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


def confusion_matrices(metrics: pd.DataFrame) -> np.ndarray:
    """The per-epoch test confusion matrices of a metrics table as an E x K x K array."""
    return np.stack([np.stack(list(m)) for m in metrics["test_confusion"]]).astype(np.int64)
