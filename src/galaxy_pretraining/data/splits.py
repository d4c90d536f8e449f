"""Random train/test (and optional validation) splits, stable forever.

A galaxy's place in run r is decided by a hash of (seed, run, galaxy id):
sorting the sample by that key is a uniformly random permutation, drawn
without replacement, that depends on no library's random-number stream and so
never changes when numpy or Python do. The first `test_size` galaxies of the
order are the test set, the next `validation_size` the validation set, the rest
the training set.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import BadData

log = logging.getLogger(__name__)

SUBSETS = ("train", "validation", "test")


def _order(ids: Sequence[str], seed: int, run: int) -> np.ndarray:
    keys = [
        int.from_bytes(hashlib.blake2b(f"{seed}/{run}/{galaxy}".encode(), digest_size=8).digest(), "big")
        for galaxy in ids
    ]
    return np.argsort(np.asarray(keys, dtype=np.uint64), kind="stable")


def _quotas(counts: np.ndarray, total: int) -> np.ndarray:
    """`total` shared among classes in proportion to their counts.

    The floors, then one more for the largest remainders (ties to the earlier class), so that the quotas add up to
    `total` exactly.
    """
    exact = counts * total / counts.sum()
    quotas = np.floor(exact).astype(np.int64)
    remainders = exact - quotas
    for i in np.argsort(-remainders, kind="stable")[: total - quotas.sum()]:
        quotas[i] += 1
    return quotas


def _stratified_order(ids: Sequence[str], labels: np.ndarray, seed: int, run: int, test_size: int,
                      validation_size: int) -> np.ndarray:
    """An order of the rows whose first rows hold each class's share of the test, then validation set.

    An order of the rows whose first test_size rows hold each class's share of the test set (its test quota,
    _quotas) and the next validation_size rows each class's share of the validation set; within each class the rows
    come in the hash order of `_order`.
    """
    order = _order(ids, seed, run)
    ranked = labels[order]
    classes, counts = np.unique(labels, return_counts=True)
    test, validation = _quotas(counts, test_size), _quotas(counts, validation_size)
    parts = {"test": [], "validation": [], "train": []}
    for c, label in enumerate(classes):
        members = order[ranked == label]
        parts["test"].append(members[: test[c]])
        parts["validation"].append(members[test[c] : test[c] + validation[c]])
        parts["train"].append(members[test[c] + validation[c] :])
    return np.concatenate([np.concatenate(parts[name]) for name in ("test", "validation", "train")])


def make_splits(ids: Sequence[str], runs: Sequence[int], test_size: int, seed: int, validation_size: int,
                labels: Sequence[int] | None = None) -> pd.DataFrame:
    """Table (run, row, id, subset) for every run: row indexes the catalog.

    Args:
        ids: the catalog's galaxy ids, in its row order; unique.
        runs: the run numbers to draw a split for; each run's split depends on its number, not on the others.
        test_size: galaxies in each run's test set.
        seed: the seed of the hash order the galaxies are chosen in.
        validation_size: galaxies in each run's validation set (0: none).
        labels: the class of each row; given, the split is stratified: each class has its share of the test
            and validation sets, rounded so that the sizes are exact (largest remainders), its galaxies chosen
            in the same hash order.

    Returns:
        One row per run and galaxy; `subset` is test, validation or train.

    Raises:
        ValueError: the ids are not unique, or the test and validation sets leave no training galaxy.
    """
    ids = [str(i) for i in ids]
    if len(set(ids)) != len(ids):
        raise ValueError("galaxy ids must be unique to draw splits")
    if test_size + validation_size >= len(ids):
        raise ValueError(
            f"test_size ({test_size}) + validation_size ({validation_size}) leaves no training galaxies "
            f"in a sample of {len(ids)}"
        )
    frames = []
    for run in runs:
        order = (_order(ids, seed, run) if labels is None else
                 _stratified_order(ids, np.asarray(labels), seed, run, test_size, validation_size))
        subset = np.empty(len(ids), dtype=object)
        subset[order[:test_size]] = "test"
        subset[order[test_size : test_size + validation_size]] = "validation"
        subset[order[test_size + validation_size :]] = "train"
        frames.append(pd.DataFrame({"run": run, "row": np.arange(len(ids)), "id": ids, "subset": subset}))
    table = pd.concat(frames, ignore_index=True)
    table["run"] = table["run"].astype(np.int64)
    table["subset"] = pd.Categorical(table["subset"], categories=list(SUBSETS))
    return table


def study_splits(catalog: pd.DataFrame, runs: Sequence[int], split: Mapping) -> pd.DataFrame:
    """The splits of a study's runs, as its config's `splits` block draws them.

    `split` is that block without `runs` and `train_fractions`; with split["stratify"] the split is stratified by
    `class_index`. The result is what splits.parquet holds, and what every training job and table draws again.
    """
    labels = catalog["class_index"].to_numpy() if split["stratify"] else None
    splits = make_splits(catalog["id"], list(runs), split["test_size"], split["seed"], split["validation_size"], labels)
    check_test_classes(splits, catalog)
    return splits


def check_test_classes(splits: pd.DataFrame, catalog: pd.DataFrame) -> None:
    """Refuse splits whose test set holds one class; log a class a run's training or test set lacks.

    A test set of one class scores 100 % for a network that predicts only that
    class, which would be reported as a result, so it stops the study. A class
    missing from one run's training set (the network cannot learn it; its test
    galaxies count as errors) or test set (its per-class accuracy is undefined
    for that run), as a small class may be in a random split, is logged.

    Args:
        splits: the table of `make_splits` (run, row, id, subset); row indexes `catalog`.
        catalog: the study's catalog: class_index, and class_name to name the classes in messages.

    Raises:
        BadData: naming the run, the classes missing from its test set and their galaxies in the catalog.
    """
    labels = catalog["class_index"].to_numpy()
    names = (catalog.groupby("class_index")["class_name"].first() if "class_name" in catalog
             else pd.Series({c: f"index {c}" for c in np.unique(labels)}))
    counts = catalog["class_index"].value_counts()
    for run, table in splits.groupby("run", sort=True):
        for subset in ("test", "train"):
            present = set(labels[table.loc[table["subset"] == subset, "row"].to_numpy()])
            missing = [c for c in sorted(counts.index) if c not in present]
            if subset == "test" and len(present) < 2:
                detail = ", ".join(f"{names[c]!r} ({counts[c]} galaxies in the catalog)" for c in missing)
                raise BadData(f"run {run}: its test set holds no galaxy of class {detail}; a test set of one class "
                              "scores 100 % for a network that predicts only it: add galaxies of that class, drop it "
                              "from `classes`, or change `splits`")
            if missing:
                log.warning("splits: run %d's %s set holds no galaxy of class %s (galaxies=%s)", run, subset,
                            ", ".join(repr(names[c]) for c in missing), ", ".join(str(counts[c]) for c in missing))


def labelled_subset(rows: np.ndarray, ids: Sequence[str], labels: np.ndarray, fraction: float, seed: int,
                    run: int) -> np.ndarray:
    """The training rows a run keeps at a label budget: `fraction` of each class, nested, in catalog order.

    Each class's training galaxies are ordered by a hash of (seed, run, id)
    (another order than the split's) and the first max(1, round(fraction x
    n_class)) are kept: stratified by class, and nested, since the order does
    not depend on the fraction (the 1 % set lies inside the 2 % set). The test
    set is not touched. Fraction 1 keeps every row.
    """
    rows = np.asarray(rows)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"a training fraction must lie in (0, 1], not {fraction}")
    if fraction == 1.0:
        return np.sort(rows)
    kept = []
    for label in np.unique(labels[rows]):
        members = rows[labels[rows] == label]
        order = _order([str(ids[row]) for row in members], f"{seed}/labels", run)
        kept.append(members[order[: max(1, int(fraction * len(members) + 0.5))]])
    return np.sort(np.concatenate(kept))


def rows_of(splits: pd.DataFrame, run: int, subset: str) -> np.ndarray:
    """Catalog rows of one subset of one run, in catalog order."""
    if run not in set(splits["run"].unique()):
        raise KeyError(f"run {run} is not in the splits table (runs {sorted(splits['run'].unique())[:5]}...)")
    chosen = splits[(splits["run"] == run) & (splits["subset"] == subset)]
    return np.sort(chosen["row"].to_numpy())
