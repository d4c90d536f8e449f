"""Shared helpers of the benchmarks: the images they use, the machine, the results table."""

from __future__ import annotations

import os
import platform
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
GZ1 = ROOT.parent / "shared" / "data" / "gz1-sdss" / "images"


def sample_images(n: int) -> list[str]:
    """n real SDSS JPEGs from gz1-sdss when present, otherwise n mock cutouts made here."""
    if GZ1.is_dir():
        return [str(p) for p in sorted(GZ1.iterdir())[:n]]
    from galaxy_pretraining.mock import write_mock_sample

    folder = Path(tempfile.mkdtemp(prefix="bench-mock-"))
    write_mock_sample(folder / "catalog.parquet", folder / "images", n, seed=0)
    return [str(p) for p in sorted((folder / "images").iterdir())]


def machine() -> dict:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else ""
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores" + (f", {gpu}" if gpu else ""),
            "torch": torch.__version__, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d")}


def record(name: str, rows: list[dict]) -> Path:
    """Append rows to benchmarks/results/<name>.csv."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.csv"
    table = pd.DataFrame(rows)
    if path.exists():
        table = pd.concat([pd.read_csv(path), table], ignore_index=True)
    table.to_csv(path, index=False)
    print(f"recorded in {path}")
    return path
