"""A run in training and what it stands on: the device, the array store on it, the run's rows of it, the
learning-rate schedule and where a stopped epoch stands.

`load_store` puts the store onto the device once per process (a group's runs
share it); `run_data` picks a run's train / validation / test rows of it; `Run`
holds everything `run.build_run` makes, `checkpoints.resume` restores and
`loop.train_epochs` advances.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data.array_store import open_array_store, read_rows
from ..data.splits import labelled_subset, rows_of, study_splits
from ..errors import BadData
from .settings import TrainSettings
from .views import Views


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


def compiling(settings: TrainSettings, device: torch.device) -> bool:
    """Whether `training.compile` asks for torch.compile here (auto: on CUDA only)."""
    return settings.compile if isinstance(settings.compile, bool) else device.type == "cuda"


def run_seed(*parts) -> int:
    """A 63-bit seed from the parts of a run's identity (seed, architecture, arm, run, stream name), stable
    across processes and machines (blake2b, not Python's hash)."""
    return int.from_bytes(hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest(), "big") >> 1


@dataclass
class RunData:
    """A run's view of the array store: the images stay where they are; each subset is a list of rows."""

    images: torch.Tensor  # the whole store, uint8 N x 3 x S x S on the device
    labels: torch.Tensor  # class index of every store row, on the device
    rows: dict[str, torch.Tensor]  # subset -> store rows (long, on the device); empty subsets left out
    epoch_images: int | None = None  # images an epoch shows, when not one pass (budget_scaling: steps)


def load_store(store_path, n_rows: int, device: torch.device) -> torch.Tensor:
    """The whole array store onto the device, once per process (a group's runs share it); see load_store_digested."""
    return load_store_digested(store_path, n_rows, device)[0]


DIGEST_BYTES = 16  # of a store row's SHA-256: what ties a run's record to the pixels it trained on


def row_digests(rows: np.ndarray) -> np.ndarray:
    """The first DIGEST_BYTES of each image's SHA-256 (uint8 K x 3 x S x S on the host): K x DIGEST_BYTES uint8.

    SHA-256, not blake2b: CPUs with SHA extensions hash it about twice as fast, and the job hashes its whole store.
    """
    return np.array([np.frombuffer(hashlib.sha256(np.ascontiguousarray(row).data).digest()[:DIGEST_BYTES],
                                   dtype=np.uint8) for row in rows], dtype=np.uint8).reshape(len(rows), DIGEST_BYTES)


def load_store_digested(store_path, n_rows: int, device: torch.device) -> tuple[torch.Tensor, np.ndarray]:
    """The whole array store onto the device and a digest of each row (row_digests), in one read.

    Read in chunks of 1,024 images with plain file reads, so the host never
    holds a float copy (nor, on CUDA, a full uint8 copy) of the data set; each
    chunk is hashed while it is on the host, so the digests cost a hash, not a
    second read. Raises BadData when the store and the catalog differ in rows.
    """
    store = open_array_store(store_path)
    if len(store) != n_rows:
        raise BadData(f"{store_path} holds {len(store)} images but the catalog has {n_rows} rows")
    target = torch.empty(store.shape, dtype=torch.uint8, device=device)
    digests = np.empty((len(store), DIGEST_BYTES), dtype=np.uint8)
    for start in range(0, len(store), 1024):
        part = np.arange(start, min(start + 1024, len(store)))
        chunk = read_rows(store_path, part)
        digests[start : start + len(part)] = row_digests(chunk)
        target[start : start + len(part)] = torch.from_numpy(chunk).to(device)
    return target, digests


def data_identity(catalog: pd.DataFrame, rows: dict[str, np.ndarray], digests: np.ndarray, class_names) -> dict:
    """What a run read: the class names in order and, per subset, the ids, labels and image digests of its rows.

    Saved in last.pt and in a finished run's record; `data_change` compares two.
    """
    ids, labels = catalog["id"].astype(str).to_numpy(), catalog["class_index"].to_numpy()
    return {"classes": [str(c) for c in class_names],
            "subsets": {subset: {"ids": ids[chosen].tolist(), "labels": labels[chosen].astype(int).tolist(),
                                 "images": digests[chosen]}
                        for subset, chosen in rows.items()}}


def data_change(old: dict | None, new: dict) -> str | None:
    """What differs between the data a checkpoint was made from (`old`) and the run's (`new`); None: nothing.

    Names each kind of change with its count: class names or order, rows in
    or out of a subset, labels, images.
    """
    if old is None:
        return "the checkpoint does not record the data it was trained on"
    reasons = []
    if old["classes"] != new["classes"]:
        reasons.append(f"classes {old['classes']} -> {new['classes']}")
    labels = images = 0
    for subset in sorted(set(old["subsets"]) | set(new["subsets"])):
        before = old["subsets"].get(subset, {"ids": [], "labels": [], "images": np.empty((0, DIGEST_BYTES))})
        after = new["subsets"].get(subset, {"ids": [], "labels": [], "images": np.empty((0, DIGEST_BYTES))})
        was = {i: k for k, i in enumerate(before["ids"])}
        now = {i: k for k, i in enumerate(after["ids"])}
        added, removed = len(now.keys() - was.keys()), len(was.keys() - now.keys())
        if added or removed:
            reasons.append(f"{subset} rows {added} in, {removed} out")
        for i in now.keys() & was.keys():
            labels += before["labels"][was[i]] != after["labels"][now[i]]
            images += not np.array_equal(before["images"][was[i]], after["images"][now[i]])
    if labels:
        reasons.append(f"labels of {labels} rows")
    if images:
        reasons.append(f"images of {images} rows")
    return "; ".join(reasons) or None


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


@dataclass
class Run:
    """One run in training: what build_run makes, resume restores and train_epochs advances."""

    settings: TrainSettings
    device: torch.device
    data: RunData
    views: Views  # the run's training and evaluation views, built once from its settings
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
    identity: dict | None = None  # data_identity of the run's rows: what its checkpoints are tied to
    diverged: dict | None = None  # {epoch, batch, loss} when a non-finite loss stopped the run
