"""Load a figure's input tables and call its module's draw()."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence

import pandas as pd

from . import FIGURES


def render(name: str, inputs: Mapping[str, str], outputs: Sequence[str], arguments: Mapping) -> None:
    """`inputs` maps draw()'s table arguments to Parquet files ("module" is the figure's source, not read)."""
    if name not in FIGURES:
        raise KeyError(f"unknown figure {name!r}; figures: {FIGURES}")
    module = importlib.import_module(f"galaxy_pretraining.figures.{name}")
    tables = {key: pd.read_parquet(path) for key, path in inputs.items() if key != "module"}
    module.draw(**tables, **arguments, paths=list(outputs))
