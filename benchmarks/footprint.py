"""The disk the paper's whole study needs, projected from one real run, before and after finished runs were slimmed.

One real AlexNet run under the paper's protocol (config/config.yaml: crops of 224 from 256 px, SGD with momentum)
is trained for two epochs on a small synthetic store on the CPU, through the library's own functions. Its files are
measured and each is projected to the study's size from what it grows with:
- the array store: N x 3 x 256 x 256 uint8 (14,034 galaxies), exact;
- metrics.parquet: the run's own epoch rows, repeated to each job's epochs (200, 400, 1,000);
- predictions.parquet: the run's own rows, repeated to the test set (2,034 galaxies);
- last.pt while a run trains (model, momentum, best weights, random streams): independent of the data;
- last.pt once a run has finished: the record finish_checkpoint leaves (metrics and best epoch, no weights),
  built from the projected metrics and predictions;
- best.pt: the best weights, for the runs config best_weights keeps (the paper's study draws no network's weights,
  so `figures` keeps none; `all` keeps 210); best-kept.pt beside last.pt is a second name of the same file (a hard
  link), counted once.
Before: every finished run kept the full last.pt and best.pt. After: the record, and best.pt where kept.
Tables, figures and the report are measured on results/demo when `make demo` has made it (the paper's are of
the same kinds and count), else not.

    python benchmarks/footprint.py

Results are appended to benchmarks/results/footprint.csv; the table is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from common import ROOT, log_to_stdout, machine, paper_settings, record, write_synthetic_store

from galaxy_pretraining import study
from galaxy_pretraining.training.checkpoints import finish_checkpoint, kept_weights_path
from galaxy_pretraining.training.job import write_outputs
from galaxy_pretraining.training.loop import train_epochs
from galaxy_pretraining.training.run import BestEpoch, build_run
from galaxy_pretraining.training.spec import RunPaths

GB = 1e9


def size(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def one_real_run(folder: Path, images: int, split: dict) -> tuple:
    """Train one AlexNet run of the paper's protocol for 2 epochs; its run object and its folder."""
    store = write_synthetic_store(folder / "images.npy", images, 256)
    catalog = pd.DataFrame({"id": [f"G{i:05d}" for i in range(images)], "class_index": np.arange(images) % 4})
    settings, on = paper_settings(device="cpu", compile=False, epochs=2, batch_size=32, eval_batch_size=64,
                                  split={**split, "test_size": images // 4})
    tensor = torch.from_numpy(np.load(store))
    run = build_run(settings, on, tensor, catalog, None)
    out = folder / "run000"
    out.mkdir()
    train_epochs(run, out / "last.pt", progress=False)
    return run, out


def projected_files(run, out: Path, epochs: int, test_size: int, keep_weights: bool) -> dict[str, int]:
    """Bytes of one finished run of `epochs` epochs and `test_size` test galaxies, as the library writes it."""
    grown = dataclasses.replace(run, history=[run.history[-1] | {"epoch": e} for e in range(1, epochs + 1)],
                                best=BestEpoch(run.best.accuracy, run.best.epoch, run.best.state,
                                               run.best.predictions.sample(test_size, replace=True, random_state=0)
                                               .reset_index(drop=True)))
    folder = out / f"e{epochs}"
    folder.mkdir(exist_ok=True)
    write_outputs(grown, RunPaths(folder / "metrics.parquet", folder / "predictions.parquet", folder / "best.pt"))
    finish_checkpoint(grown, folder / "record.pt", folder / "best.pt" if keep_weights else None)
    kept = kept_weights_path(folder / "record.pt")
    copied = keep_weights and not kept.samefile(folder / "best.pt")  # no hard links here: a second copy on disk
    return {"metrics": size(folder / "metrics.parquet"), "predictions": size(folder / "predictions.parquet"),
            "best": size(folder / "best.pt"), "record": size(folder / "record.pt") + (size(kept) if copied else 0)}


def main():
    """Measure one real run's files, project the whole study's footprint, record it and print its table."""
    log_to_stdout()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=96, help="galaxies in the small store the real run trains on")
    args = parser.parse_args()
    config = study.resolve(yaml.safe_load((ROOT / "config/config.yaml").read_text()))
    plan = study.Study(config)
    jobs = plan.jobs
    n_galaxies = sum(config["data"]["nair_abraham"]["expected_class_counts"].values())
    test_size = config["splits"]["test_size"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="footprint-") as folder:
        run, out = one_real_run(Path(folder), args.images, study.split_settings(config))
        training_checkpoint = size(out / "last.pt")  # model, momentum, best weights, random streams
        store = 128 + n_galaxies * 3 * config["image_size"] ** 2
        per_epochs = {e: projected_files(run, out, e, test_size, False) for e in sorted({j.epochs for j in jobs})}
        kept = {e: projected_files(run, out, e, test_size, True)["record"] for e in per_epochs}
        results = {"metrics": 0, "predictions": 0, "before_checkpoints": 0, "after_checkpoints": 0,
                   "after_checkpoints_all": 0}
        keeps = 0
        for job in jobs:
            files = per_epochs[job.epochs]
            results["metrics"] += files["metrics"]
            results["predictions"] += files["predictions"]
            results["before_checkpoints"] += training_checkpoint + files["best"]
            keep = plan.keeps_best_weights(job)
            keeps += keep
            results["after_checkpoints"] += (kept[job.epochs] + files["best"]) if keep else files["record"]
            results["after_checkpoints_all"] += kept[job.epochs] + files["best"]
    demo = ROOT / "results/demo"
    made = [demo / name for name in ("tables", "figures", "report.html") if (demo / name).exists()]
    report = sum(size(path) for path in made) if made else None  # None: not measured (no make demo yet), not 0 GB
    outputs = results["metrics"] + results["predictions"]
    beyond = "" if made else "without tables, figures and report (not measured)"
    for name, value, note in [
        ("image store", store, f"{n_galaxies} x 3 x 256 x 256 uint8"),
        ("checkpoints before", results["before_checkpoints"], f"{len(jobs)} runs x (full last.pt + best.pt)"),
        ("checkpoints after (best_weights: figures)", results["after_checkpoints"],
         f"{len(jobs)} finished-run records; best.pt for {keeps} runs"),
        ("checkpoints after (best_weights: all)", results["after_checkpoints_all"], f"{len(jobs)} records + best.pt"),
        ("while training, per running job", training_checkpoint, "one full last.pt, replaced when the run ends"),
        ("metrics and predictions", outputs, f"{len(jobs)} runs"),
        ("tables, figures and report (the demo's)", report,
         "measured on results/demo" if made else "not measured: results/demo absent (run make demo first)"),
        ("whole study beyond the store, before", results["before_checkpoints"] + outputs + (report or 0), beyond),
        ("whole study beyond the store, after", results["after_checkpoints"] + outputs + (report or 0), beyond),
    ]:
        rows.append({"benchmark": "footprint", "variant": name, "value": None if value is None else value / GB,
                     "unit": "GB", "note": note, **machine()})
    table = pd.DataFrame(rows)
    record("footprint", rows)
    print(table[["variant", "value", "unit", "note"]].to_markdown(index=False, floatfmt=".3g"))  # noqa: T201 (the result table is the output)


if __name__ == "__main__":
    main()
