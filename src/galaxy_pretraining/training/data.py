"""A run's data: the array store on the device, the run's rows of it and the identity of what it read.

`load_store_digested` puts the store onto the device once per process (a
group's runs share it) and hashes each row on the way; `run_data` picks a run's
train / validation / test rows; `data_identity` and `data_change` tie a run's
checkpoints to the data it read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data.array_store import open_array_store, read_rows
from ..data.splits import labelled_subset, rows_of, study_splits
from ..errors import BadData

BUDGET_SCALINGS = ("epochs", "steps")  # training.budget_scaling


@dataclass
class RunData:
    """A run's view of the array store: the images stay where they are; each subset is a list of rows."""

    images: torch.Tensor  # the whole store, uint8 N x 3 x S x S on the device
    labels: torch.Tensor  # class index of every store row, on the device
    rows: dict[str, torch.Tensor]  # subset -> store rows (long, on the device); empty subsets left out
    epoch_images: int | None = None  # images an epoch shows, when not one pass (budget_scaling: steps)


def load_store(store_path, n_rows: int, device: torch.device) -> torch.Tensor:
    """The whole array store onto the device, once per process (a group's runs share it).

    As load_store_digested, without the digests.
    """
    return load_store_digested(store_path, n_rows, device)[0]


DIGEST_BYTES = 16  # of a store row's SHA-256: what ties a run's record to the pixels it trained on


def row_digests(rows: np.ndarray) -> np.ndarray:
    """The first DIGEST_BYTES of each image's SHA-256, as K x DIGEST_BYTES uint8.

    The images are uint8 K x 3 x S x S on the host.

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
    """What a run read: the class names in order and, per subset, its rows.

    The ids, labels and image digests of each row.

    Saved in last.pt and in a finished run's record; `data_change` compares two.
    """
    ids, labels = catalog["id"].astype(str).to_numpy(), catalog["class_index"].to_numpy()
    return {"classes": [str(c) for c in class_names],
            "subsets": {subset: {"ids": ids[chosen].tolist(), "labels": labels[chosen].astype(int).tolist(),
                                 "images": digests[chosen]}
                        for subset, chosen in rows.items()}}


def data_change(old: dict | None, new: dict) -> str | None:
    """What differs between the data a checkpoint was made from (`old`) and the run's (`new`).

    None when nothing does.

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


def run_data(images: torch.Tensor, catalog: pd.DataFrame, split: Mapping, run: int, train_fraction: float,
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
    if budget_scaling not in BUDGET_SCALINGS:
        raise ValueError(f"unknown budget_scaling {budget_scaling!r}; use one of {BUDGET_SCALINGS}")
    return RunData(images, labels, rows, full if budget_scaling == "steps" and full > len(rows["train"]) else None)


def load_data(store_path, catalog: pd.DataFrame, split: Mapping, run: int, device: torch.device) -> RunData:
    """One run's data (all its training labels): the store onto the device and the run's rows of it."""
    return run_data(load_store(store_path, len(catalog), device), catalog, split, run, 1.0, "epochs")


