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
from collections.abc import Sequence

import numpy as np
import pandas as pd

SUBSETS = ("train", "validation", "test")


def _order(ids: Sequence[str], seed: int, run: int) -> np.ndarray:
    keys = [
        int.from_bytes(hashlib.blake2b(f"{seed}/{run}/{galaxy}".encode(), digest_size=8).digest(), "big")
        for galaxy in ids
    ]
    return np.argsort(np.asarray(keys, dtype=np.uint64), kind="stable")


def make_splits(ids: Sequence[str], runs: Sequence[int], test_size: int, seed: int, validation_size: int) -> pd.DataFrame:
    """Table (run, row, id, subset) for every run: row indexes the catalog."""
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
        order = _order(ids, seed, run)
        subset = np.empty(len(ids), dtype=object)
        subset[order[:test_size]] = "test"
        subset[order[test_size : test_size + validation_size]] = "validation"
        subset[order[test_size + validation_size :]] = "train"
        frames.append(pd.DataFrame({"run": run, "row": np.arange(len(ids)), "id": ids, "subset": subset}))
    table = pd.concat(frames, ignore_index=True)
    table["run"] = table["run"].astype(np.int64)
    table["subset"] = pd.Categorical(table["subset"], categories=list(SUBSETS))
    return table


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
