"""The paper's AlexNet epoch on a GPU, variant by variant: how close to the chip's limit, and what the study costs.

For AlexNet under the paper's protocol (config/config.yaml: 224 px crops of 256 px images, flips, rotation,
batch 384, SGD, bf16 autocast, the `paper` evaluation transform) on 14,034 images (12,000 train, 2,034 test):

- seconds per epoch, train and test apart, images/s, model FLOP utilisation (MFU) against the GPU's bf16
  peak, peak GPU memory; for `solo_eager` and `solo_compiled` (training.compile);
- the start-up seconds of a job and its peak host memory: a child process running the engine's real
  `train_group` on a full-size store file for k in {1, 4, 16} runs of 2 epochs (`grouped<k>`);
- projected GPU-hours of the study (70,000 epochs plus the start-up of every job) at each k;
- the input pipeline's share of a training epoch (the batched augmentation alone);
- `paper_way`: the same epoch through a per-sample DataLoader with PIL transforms and an eager float32 step,
  as the published code trains, in the same run on the same GPU.

Fused runs (k AlexNets stepped as one network with torch.func.vmap) were measured on an H100 and were slower
than one compiled run at a time (0.50 s per run-epoch fused at k=4 against 0.38 solo, rows `fused*` of
benchmarks/results/gpu_epoch.csv), so they were removed; see docs/benchmarks.md.

Results are appended to benchmarks/results/gpu_epoch.csv with the GPU's name; the last lines printed are a
Markdown table for docs/benchmarks.md. Synthetic uint8 images of the real size are used for the GPU variants (speed
does not depend on the pixels); `paper_way` decodes real JPEGs (mock galaxies where gz1-sdss is absent).

    PYTHONPATH=src python benchmarks/gpu_epoch.py                    # everything, on the GPU
    PYTHONPATH=src python benchmarks/gpu_epoch.py --small --device cpu  # a smoke test of every variant
    PYTHONPATH=src python benchmarks/gpu_epoch.py --protocols paper,zhu,fu  # an epoch of each protocol's config

`--protocols` times the configs' own settings (study.settings.protocol of config/config.yaml, zhu2019-gz2.yaml and
fu-galaxy10.yaml) through build_run / train_one_epoch / evaluate, so with exactly the views training builds
(time_protocol); benchmarks/gpu_study/ runs it as its part protocol-epochs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from common import (
    key_values,
    log,
    log_to_stdout,
    machine,
    paper_settings,
    record,
    sample_images,
    spec_of,
    write_synthetic_store,
)
from torch.utils.flop_counter import FlopCounterMode

from galaxy_pretraining.models.build import build_model
from galaxy_pretraining.training.device import choose_device, compiling
from galaxy_pretraining.training.loop import epoch_order, evaluate_run, evaluate_test, evaluation_sides, train_one_epoch
from galaxy_pretraining.training.optim import Schedule
from galaxy_pretraining.training.run import build_run

STUDY_EPOCHS = 100 * 200 + 100 * 400 + 5 * 2 * 1000
# Dense bf16 tensor-core peaks from NVIDIA's datasheets (SXM parts), TFLOP/s.
BF16_PEAK_TFLOPS = {"H100": 989.4, "H200": 989.4, "A100": 312.0, "V100": 125.0, "L40S": 362.05}
CLASSES = ["elliptical", "lenticular", "spiral", "irregular+misc"]


def sync(device):
    """Wait for the device's queued work (CUDA), so that a time covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def bf16_peak(device) -> float:
    """The GPU's dense bf16 peak in FLOP/s (BF16_PEAK_TFLOPS, NVIDIA's datasheets); NaN on a CPU or an unknown GPU."""
    if device.type != "cuda":
        return float("nan")
    name = torch.cuda.get_device_name(0)
    return next((peak for key, peak in BF16_PEAK_TFLOPS.items() if key in name), float("nan")) * 1e12


def flops_per_image(settings) -> tuple[float, float]:
    """Model FLOPs of one training image (forward + backward) and one test image (forward), counted by torch."""
    model = build_model(settings.architecture, settings.n_classes)
    x = torch.randn(2, 3, settings.crop_size, settings.crop_size)
    with FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    train = counter.get_total_flops() / 2
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return train, counter.get_total_flops() / 2


def catalog_of(n: int) -> pd.DataFrame:
    """A catalog of n images, the classes in turn."""
    return pd.DataFrame({"id": [f"G{i:05d}" for i in range(n)], "class_index": np.arange(n) % len(CLASSES)})


def epoch_times(run, epochs: int) -> dict:
    """Median train and test seconds of `epochs` epochs, after one warm-up epoch (autotuning, compiling)."""
    device = run.device
    sync(device)
    start = time.perf_counter()
    run.schedule = Schedule(run.optimizer, None, None)  # no step limit and a constant rate: only the time counts
    train_one_epoch(run, 1, progress=False)
    evaluate_run(run, "test")
    sync(device)
    warm_up = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    train, test = [], []
    for _ in range(epochs):
        sync(device)
        start = time.perf_counter()
        train_one_epoch(run, 2, progress=False)
        sync(device)
        middle = time.perf_counter()
        evaluate_run(run, "test")
        sync(device)
        train.append(middle - start)
        test.append(time.perf_counter() - middle)
    return {"train_s": float(np.median(train)), "test_s": float(np.median(test)), "first_epoch_s": warm_up}


def augmentation_seconds(run, repeats: int = 3) -> float:
    """Seconds per epoch of the training view alone, over as many images as an epoch of the run shows.

    The view is run.views.train, the object build_run made for training: crop or scale jitter, flips, rotation,
    colour, to float.
    """
    s, device, rows = run.protocol, run.device, run.data.rows["train"]
    seconds = []
    for _ in range(repeats + 1):
        sync(device)
        start = time.perf_counter()
        order = epoch_order(run.data.labels[rows], run.generators["train"], s.oversample, run.data.epoch_images)
        for first in range(0, len(order), s.batch_size):
            batch = run.views.train(run.data.images[rows[order[first:first + s.batch_size]]], run.generators["train"])
            if device.type == "cuda":
                batch.contiguous(memory_format=torch.channels_last)
        sync(device)
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds[1:]))


# ---- the three protocols of the study configs, with the views training builds ----

# protocol -> (config, model timed, images in the study's store). The store's size is the configs' own count:
# config/config.yaml 14,034 (12,000 train / 2,034 test); config/zhu2019-gz2.yaml 28,790 (25,911 / 2,879);
# config/fu-galaxy10.yaml 17,736, the sum of its data.galaxy10_decals.expected_class_counts.
PROTOCOLS = {
    "paper": ("config/config.yaml", "alexnet-scratch", 14034),
    "zhu": ("config/zhu2019-gz2.yaml", "wide_preact_resnet26-scratch", 28790),
    "fu": ("config/fu-galaxy10.yaml", "densenet121-scratch", 17736),
}


def protocol_settings(name: str) -> dict:
    """A protocol's params and what its store holds.

    The params are study.settings.protocol of its config's model, run 0, all the labels; the store holds images,
    their side, the classes and each class's count where the config states them (Fu's oversampling draws from
    them).
    """
    from common import ROOT

    from galaxy_pretraining.config import load_config
    from galaxy_pretraining.study import TrainingJob
    from galaxy_pretraining.study.settings import protocol as job_protocol

    path, model, n_images = PROTOCOLS[name]
    config = load_config(ROOT / path)
    settings = job_protocol(config, TrainingJob(model, 0, config["models"][model]["epochs"], False, 1.0))
    counts = config["data"].get("galaxy10_decals", {}).get("expected_class_counts") if name == "fu" else None
    class_counts = [counts[c] for c in config["classes"]] if counts else None
    if class_counts is not None and sum(class_counts) != n_images:
        raise ValueError(f"{path}: {sum(class_counts)} images in expected_class_counts, not {n_images}")
    return {"settings": settings.params(), "n_images": n_images, "image_size": config["image_size"],
            "classes": list(config["classes"]), "class_counts": class_counts}


def small_protocol(name: str, spec: dict) -> dict:
    """time_protocol's arguments for a CPU smoke test of a protocol.

    That is 40 images of a few dozen pixels through the same transform code path (Zhu's scale jitter scaled down
    with the images).
    """
    split = {**spec["settings"]["split"], "test_size": 16, "validation_size": 0}
    small = {"n_images": 40, "epochs": 1, "warmup_steps": 1, "split": split, "batch_size": 12, "eval_batch_size": 32,
             "compile": False}
    if name == "zhu":
        jitter = {"sides": [40, 56], "resize": 24, "test_sides": [44, 56], "test_side": 56}
        return {**small, "image_size": 56, "crop_size": 16, "scale_jitter": jitter}
    if name == "fu":
        return {**small, "image_size": 40, "crop_size": 32}
    return {**small, "image_size": 72, "crop_size": 64}  # AlexNet needs 63 pixels at least


def protocol_catalog(n: int, n_classes: int, class_counts: list[int] | None = None) -> pd.DataFrame:
    """A catalog of n images: classes in turn, or shuffled in the given counts (scaled to n)."""
    if class_counts is None:
        labels = np.arange(n) % n_classes
    else:
        share = np.asarray(class_counts, dtype=float) / sum(class_counts)
        counts = np.maximum(1, np.floor(share * n).astype(int))
        counts[np.argmax(counts)] += n - counts.sum()
        labels = np.random.default_rng(0).permutation(np.repeat(np.arange(len(counts)), counts))
    return pd.DataFrame({"id": [f"G{i:05d}" for i in range(n)], "class_index": labels})


def test_pass(run) -> None:
    """The test evaluation of one epoch as train_epochs runs it (loop.evaluate_test).

    That is the test view, then every other test side.
    """
    evaluate_test(run)


def time_protocol(protocol: str, spec: dict, device, epochs: int = 1, n_images: int | None = None,
                  image_size: int | None = None, warmup_steps: int = 5, **overrides) -> dict:
    """Seconds of a protocol's epoch (train, then test as train_epochs does) on synthetic images of its store's size.

    The images are uint8; the epoch goes through the engine's build_run, train_one_epoch and evaluate: the views
    and the model training builds. Compiled runs warm up on a whole epoch (every batch shape), eager ones on
    `warmup_steps` batches.
    """
    n = n_images or spec["n_images"]
    size = image_size or spec["image_size"]
    settings, on = spec_of(spec["settings"], device=str(device), **overrides)
    catalog = protocol_catalog(n, settings.n_classes, spec["class_counts"])
    generator = torch.Generator(device=device).manual_seed(0)
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, device=device, generator=generator)
    run = build_run(settings, on, images, catalog, None)
    compiled = compiling(on, device)
    sync(device)
    start = time.perf_counter()
    # no step limit and a constant rate (only the time counts); eager runs warm up on warmup_steps batches
    run.schedule = Schedule(run.optimizer, None, None if compiled else warmup_steps)
    train_one_epoch(run, 1, progress=False)
    run.schedule = Schedule(run.optimizer, None, None)
    test_pass(run)
    sync(device)
    first = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    train, test, shown = [], [], 0
    for _ in range(epochs):
        sync(device)
        start = time.perf_counter()
        trained = train_one_epoch(run, 2, progress=False)
        sync(device)
        middle = time.perf_counter()
        test_pass(run)
        sync(device)
        train.append(middle - start)
        test.append(time.perf_counter() - middle)
        shown = round(trained["images_per_second"] * trained["train_seconds"])
    n_test, views = len(run.data.rows["test"]), max(1, len(evaluation_sides(run.scale_jitter)))
    train_flops, test_flops = flops_per_image(settings)
    train_s, test_s = float(np.median(train)), float(np.median(test))
    epoch_flops = shown * train_flops + n_test * views * test_flops
    row = {"benchmark": "gpu_epoch", "variant": f"protocol_{protocol}", "device": str(device),
           "architecture": settings.architecture, "compiled": compiled, "images": n, "image_size": size,
           "train_images_shown": shown, "test_images": n_test, "test_views": views, "batch_size": settings.batch_size,
           "crop_size": settings.crop_size, "value": train_s + test_s, "unit": "s/epoch", "train_s": train_s,
           "test_s": test_s, "warmup_s": first, "images_per_s": (shown + n_test * views) / (train_s + test_s),
           "gflop_train_image": train_flops / 1e9, "mfu": epoch_flops / (train_s + test_s) / bf16_peak(device),
           "augmentation_share": augmentation_seconds(run, 1) / train_s,
           "peak_gpu_gib": torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else math.nan,
           **machine()}
    del run, images
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


# ---- start-up and host memory of a real job: a child process running train_group ----

CHILD = """
import json, sys, time
t0 = time.perf_counter()
import torch
from pathlib import Path
from galaxy_pretraining.training.job import train_group
from galaxy_pretraining.training.spec import Machine, Protocol, RunPaths
args = json.loads(sys.argv[1])
group = [Protocol.from_params(p) for p in args["protocols"]]
out = Path(args["out"])
paths = [RunPaths(out / f"run{p.run}" / "metrics.parquet", out / f"run{p.run}" / "predictions.parquet",
                  out / f"run{p.run}" / "best.pt") for p in group]
for p in paths:
    p.metrics.parent.mkdir(parents=True, exist_ok=True)
tables = train_group(group, paths, Machine(**args["machine"]), args["store"], args["catalog"], progress=False)
epoch_seconds = sum(float(t["seconds"].sum()) for t in tables)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"epoch_seconds": epoch_seconds, "inside_s": time.perf_counter() - t0, "host_peak_gb": peak_kb / 2**20}))
"""


def write_store(folder: Path, n: int, size: int) -> tuple[Path, Path]:
    """A full-size store of n synthetic images of `size` pixels and its catalog, in `folder`."""
    store = write_synthetic_store(folder / "images.npy", n, size)
    catalog = folder / "catalog.parquet"
    catalog_of(n).to_parquet(catalog)
    return store, catalog


def job_startup(settings, on, k, epochs, files, folder, steady_epoch_s, cache, name) -> dict:
    """Wall seconds of a k-run job of `epochs` epochs each, less the epochs' steady time: its start-up.

    `files`: the store and its catalog (write_store). `cache`: torch.compile's cache folder (a fresh one: the
    first job on a new node; a shared one that an earlier job filled: every later job of the study, see
    train_resources.compile_cache).
    """
    store, catalog = files
    group = [dataclasses.replace(settings, run=run, epochs=epochs).params() for run in range(k)]
    args = {"protocols": group, "machine": dataclasses.asdict(on), "store": str(store), "catalog": str(catalog),
            "out": str(folder / name)}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"),
                                                        os.environ.get("PYTHONPATH", "")]),
           "TORCHINDUCTOR_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if out.returncode:
        raise RuntimeError(f"the k={k} job failed:\n{out.stderr[-3000:]}")
    child = json.loads(out.stdout.strip().splitlines()[-1])
    startup = wall - k * epochs * steady_epoch_s
    return {"job_wall_s": wall, "job_startup_s": startup, "startup_per_run_s": startup / k,
            "host_peak_gb": child["host_peak_gb"]}


# ---- the paper's way: a per-sample DataLoader with PIL transforms, an eager float32 step ----

def paper_way(settings, device, n_train, n_test, n_files, workers) -> dict:
    """Train and test seconds of an epoch the published code's way: per-sample PIL transforms, eager float32."""
    from input_pipeline import JpegDataset
    from torch.utils.data import DataLoader, Dataset

    paths = sample_images(n_files)

    class Cycled(Dataset):
        def __init__(self, n):
            self.inner, self.n = JpegDataset(paths), n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return self.inner[i % len(paths)], i % len(CLASSES)

    model = build_model(settings.architecture, settings.n_classes).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    loader = {n: DataLoader(Cycled(n), batch_size=settings.batch_size, shuffle=True, num_workers=workers,
                            pin_memory=device.type == "cuda", persistent_workers=workers > 0)
              for n in (n_train, n_test)}
    times = {}
    for name, n in (("train_s", n_train), ("test_s", n_test)):
        model.train(name == "train_s")
        sync(device)
        start = time.perf_counter()
        for x, y in loader[n]:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if name == "train_s":
                loss = F.cross_entropy(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            else:
                with torch.no_grad():
                    model(x)
        sync(device)
        times[name] = time.perf_counter() - start
    return times


def main():
    """Measure the chosen variants (or protocols), record them and print their Markdown table."""
    log_to_stdout()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per variant (after one warm-up)")
    parser.add_argument("--groups", default="1,1,4,16",
                        help="runs per job for the start-up measurement; the first job fills the compile cache")
    parser.add_argument("--variants", default="solo_eager,solo_compiled,grouped,paper_way")
    parser.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1), help="paper_way's loaders")
    parser.add_argument("--small", action="store_true", help="a smoke test: 64 px crops of 72 px, 512 images")
    parser.add_argument("--out", help="also copy the results table here")
    parser.add_argument("--steady", type=float, help="s/epoch of solo_compiled from an earlier run (for `grouped` alone)")
    parser.add_argument("--protocols", help="e.g. paper,zhu,fu: time an epoch of each of these protocols (its "
                        "config's settings and the views training builds, time_protocol) instead of the variants")
    args = parser.parse_args()
    device = choose_device(args.device)
    if args.protocols:
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        rows = []
        for name in args.protocols.split(","):
            spec = protocol_settings(name)
            options = small_protocol(name, spec) if args.small else {"epochs": args.epochs}
            rows.append(time_protocol(name, spec, device, **options))
            log.info("gpu_epoch: protocol timed (%s)", key_values(rows[-1]))
        record("gpu_epoch", rows)
        return
    variants = args.variants.split(",")
    n_train, n_test, size = (448, 64, 72) if args.small else (12000, 2034, 256)
    overrides = {"crop_size": 64, "batch_size": 64, "eval_batch_size": 128} if args.small else {}
    settings, on = paper_settings(device=str(device), split={"test_size": n_test, "validation_size": 0, "seed": 2023},
                              **overrides)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    train_flops, test_flops = flops_per_image(settings)
    peak = bf16_peak(device)
    log.info("gpu_epoch: FLOPs counted (architecture=%s, gflop_train_image=%.2f, gflop_test_image=%.2f, "
             "bf16_peak_tflops=%.0f)", settings.architecture, train_flops / 1e9, test_flops / 1e9, peak / 1e12)
    epoch_flops = n_train * train_flops + n_test * test_flops

    generator = torch.Generator(device=device).manual_seed(0)
    images = torch.randint(0, 256, (n_train + n_test, 3, size, size), dtype=torch.uint8, device=device,
                           generator=generator)
    catalog = catalog_of(len(images))
    rows, steady = [], args.steady

    def save(rows):  # after every variant, so that a run cut short keeps what it measured
        if args.out:
            pd.DataFrame(rows).to_csv(Path(args.out) / "gpu_epoch.csv", index=False)

    def row(variant, times, **extra):
        epoch = times["train_s"] + times["test_s"]
        result = {"benchmark": "gpu_epoch", "variant": variant, "device": str(device), "value": epoch,
                  "unit": "s/epoch", **times, "images_per_s": (n_train + n_test) / epoch,
                  "mfu": epoch_flops / epoch / peak,
                  "peak_gpu_gib": torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else math.nan,
                  **extra, **machine()}
        rows.append(result)
        save(rows)
        log.info("gpu_epoch: variant timed (%s)", key_values(result))

    for variant, compiled in (("solo_eager", False), ("solo_compiled", True)):
        if variant not in variants:
            continue
        run = build_run(settings, dataclasses.replace(on, compile=compiled), images, catalog, None)
        times = epoch_times(run, args.epochs)
        extra = {}
        if compiled or "solo_compiled" not in variants:
            steady = times["train_s"] + times["test_s"]
            extra["augmentation_share"] = augmentation_seconds(run) / times["train_s"]
        row(variant, times, **extra)
        del run

    if "grouped" in variants and steady is not None:
        with tempfile.TemporaryDirectory(prefix="gpu-epoch-") as folder:
            store, catalog_path = write_store(Path(folder), n_train + n_test, size)
            cache, cold_startup = Path(folder) / "compile-cache", None  # the first job fills it; the rest find it
            for i, k in enumerate(map(int, args.groups.split(","))):
                name = f"grouped{k}_{'warm' if i else 'cold'}_cache"
                job = job_startup(settings, dataclasses.replace(on, compile="auto"), k, 2, (store, catalog_path),
                                  Path(folder), steady, cache, name)
                cold_startup = cold_startup or job["job_startup_s"]
                jobs = 2 * math.ceil(100 / k) + 2 * math.ceil(5 / k)
                # one job starts cold, the others find the shared cache warm
                hours = (STUDY_EPOCHS * steady + cold_startup + (jobs - 1) * job["job_startup_s"]) / 3600
                rows.append({"benchmark": "gpu_epoch", "variant": name, "device": str(device),
                             "value": job["startup_per_run_s"], "unit": "s start-up per run", **job,
                             "study_jobs": jobs, "study_gpu_hours": hours, **machine()})
                save(rows)
                log.info("gpu_epoch: job start-up timed (%s)", key_values(rows[-1]))

    if "paper_way" in variants:
        times = paper_way(settings, device, n_train, n_test, 64 if args.small else 1000, args.workers)
        ratio = (times["train_s"] + times["test_s"]) / steady if steady else math.nan
        row("paper_way", times, slower_than_ours=ratio)

    table = pd.DataFrame(rows)
    path = record("gpu_epoch", rows)
    columns = [c for c in ("variant", "train_s", "test_s", "value", "unit", "images_per_s", "mfu", "peak_gpu_gib",
                           "job_startup_s", "host_peak_gb", "study_gpu_hours", "augmentation_share",
                           "slower_than_ours") if c in table]
    log.info("gpu_epoch: done (machine=%s, torch=%s, file=%s)", machine()["machine"], machine()["torch"], path)
    print(table[columns].to_markdown(index=False, floatfmt=".3g"))  # noqa: T201 (the result table is the output)


if __name__ == "__main__":
    main()
