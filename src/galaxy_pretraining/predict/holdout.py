"""Hold out part of a labelled sample table as a prediction set.

`python -m galaxy_pretraining.predict.holdout <table> <n> <folder> [--seed S]` writes <folder>/train.<ext> (the rest, for the study) and
<folder>/holdout.<ext> (n rows drawn at random, for a `predict:` set), each with every column as written.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from ..data.catalog import read_table_file
from ..io import write_table

log = logging.getLogger(__name__)


def hold_out(table_path: Path, n: int, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write the table's rows without `n` random ones and those `n` rows (CSV, cells as text); their paths.

    Raises ValueError when `n` is not between 1 and the table's rows less one.
    """
    table = read_table_file(table_path).astype(str)
    if not 0 < n < len(table):
        raise ValueError(f"{table_path}: cannot hold out {n} of its {len(table)} rows")
    chosen = np.zeros(len(table), dtype=bool)
    chosen[np.random.default_rng(seed).choice(len(table), n, replace=False)] = True
    folder.mkdir(parents=True, exist_ok=True)
    train, holdout = folder / "train.csv", folder / "holdout.csv"
    write_table(table[~chosen], train)
    write_table(table[chosen], holdout)
    log.info("holdout: written (table=%s, kept=%d, held_out=%d, seed=%d)", table_path, (~chosen).sum(), n, seed)
    return train, holdout


def main(argv: list[str] | None = None) -> None:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("table", type=Path)
    parser.add_argument("n", type=int)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    hold_out(arguments.table, arguments.n, arguments.folder, arguments.seed)


if __name__ == "__main__":
    main()
