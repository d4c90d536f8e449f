"""The analysis steps of the workflow, one function per Snakemake rule of the same name.

Each reads its input tables, calls the pure functions of `analysis`, and
writes its outputs (Parquet plus a CSV rendering for the paper's tables).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from . import analysis
from .io import write_table


def _write_all(table: pd.DataFrame, paths: Sequence[str]) -> None:
    for path in paths:
        write_table(table, path)


def curves(inputs: Sequence[str], outputs: Sequence[str], params: Mapping) -> None:
    _write_all(analysis.collect_curves(list(inputs), params["jobs"]), outputs)


def peak_accuracy(inputs, outputs, params) -> None:
    _write_all(analysis.peak_accuracy_table(pd.read_parquet(inputs[0]), params["budgets"]), outputs)


def table1_budgets(inputs, outputs, params) -> None:
    _write_all(analysis.budget_table(pd.read_parquet(inputs[0])), outputs)


def best_epoch_confusions(inputs, outputs, params) -> None:
    curves_table, peaks = pd.read_parquet(inputs[0]), pd.read_parquet(inputs[1])
    _write_all(analysis.best_epoch_confusions(curves_table, peaks), outputs)


def per_class(inputs, outputs, params) -> None:
    _write_all(analysis.per_class_metrics(pd.read_parquet(inputs[0]), params["classes"]), outputs)


def table2_class_accuracy(inputs, outputs, params) -> None:
    summary = analysis.per_class_summary(pd.read_parquet(inputs[0]), params["classes"])
    columns = ["model", "class_name", "recall_n_runs", "recall_mean", "recall_sd", "paper_recall"]
    _write_all(summary[columns].rename(columns={"recall_n_runs": "n_runs", "recall_mean": "accuracy_mean",
                                                "recall_sd": "accuracy_sd", "paper_recall": "paper_accuracy"}), outputs)


def table4_precision_recall_f1(inputs, outputs, params) -> None:
    _write_all(analysis.per_class_summary(pd.read_parquet(inputs[0]), params["classes"]), outputs)


def confusion_summary(inputs, outputs, params) -> None:
    _write_all(analysis.confusion_summary(pd.read_parquet(inputs[0])), outputs)


def gains(inputs, outputs, params) -> None:
    peaks = pd.read_parquet(inputs[0])
    tables = [analysis.paired_gains(peaks, pretrained, scratch) for pretrained, scratch in params["pairs"]]
    columns = ["pretrained", "scratch", "run", "peak_accuracy_gain", "peak_epoch_difference", "equal_budget_gain",
               "equal_budget"]
    _write_all(pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns), outputs)


def sign_tests(inputs, outputs, params) -> None:
    _write_all(analysis.comparison_table(pd.read_parquet(inputs[0])), outputs)


def table3_long_runs(inputs, outputs, params) -> None:
    _write_all(analysis.long_runs_table(pd.read_parquet(inputs[0])), outputs)


def sample_summary(inputs, outputs, params) -> None:
    from .catalog import sample_summary as summary

    manifest = pd.read_parquet(inputs[1]) if len(inputs) > 1 else None
    _write_all(summary(pd.read_parquet(inputs[0]), params["classes"], manifest), outputs)
