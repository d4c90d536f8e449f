"""Pretrained against scratch on the 6,664 real SDSS galaxies of gz1-sdss, at the paper's protocol.

Galaxy Zoo 1 in three classes as config/gz1-sdss.yaml maps them, 1,000 test galaxies per run's split; 224 crops
of 256-pixel images, batch 384, SGD 0.001 / 0.9, 200 epochs, the paper's augmentation and test views
(config/config.yaml's `training`). Runs go in pairs (run r of both arms on split r) until the time left is what
the later parts need; per-run peak test accuracy, mean and sd per arm, a sign test, a figure. The pair is
AlexNet ImageNet vs scratch when torchvision's AlexNet weights are on the machine (--alexnet-weights, or torch's
hub cache); otherwise (233 MB, they cannot travel) the stand-in pair EfficientNet-Lite0 ImageNet vs scratch at
--standin-epochs: NOT the paper's architecture nor its 200 epochs, labelled so in every table.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from common import gpu_name

from galaxy_pretraining.analysis.pairs import sign_test

from .limits import CARRY_LIMIT_MIB
from .packing import decode_pack
from .predict import PREDICT

log = logging.getLogger(__name__)

NAME = "pretrained-vs-scratch"
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
STANDIN_EPOCHS = 30


def find_alexnet_weights(given: str | None) -> Path | None:
    """The AlexNet ImageNet weights of torchvision: `given`, else torch's hub cache; None when neither has them."""
    candidates = [Path(given)] if given else []
    candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE)
    return next((p for p in candidates if p.is_file()), None)


def arm_plan(arms: dict, alexnet: Path | None, lite0: Path, standin_epochs: int,
             chosen: list[str] | None = None) -> tuple[dict, str]:
    """The arms to run, scratch first, and a label saying how they differ from the paper's pair.

    Args:
        arms: packing.gz1_arms' settings by arm name.
        alexnet: AlexNet's ImageNet weights, or None when the machine lacks them (the stand-in pair then).
        lite0: EfficientNet-Lite0's ImageNet weights.
        standin_epochs: epochs of the stand-in pair.
        chosen: these arms of `arms` instead (at 200 epochs), e.g. alexnet-scratch alone.

    Returns:
        (arm name -> (settings dict, weights path or None), label).
    """
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
                    f"({ALEXNET_FILE}, 233 MB) were not on the machine and cannot travel within "
                    f"{CARRY_LIMIT_MIB:.0f} MiB")


def predict_run_s(settings: dict, n_train: int, n_test: int) -> float:
    """Predicted seconds of one run of these settings, its compiling left out."""
    kind = "alexnet" if settings["architecture"] == "alexnet" else "lite0"
    epoch = (n_train * PREDICT[f"{kind}_train_image_s"] + n_test * PREDICT[f"{kind}_test_image_s"]
             + PREDICT["epoch_overhead_s"])
    return settings["epochs"] * epoch + PREDICT["run_end_s"]


def pair_test(runs: pd.DataFrame, pretrained: str, scratch: str) -> dict:
    """Runs paired by split: how often the pretrained arm's peak accuracy beats scratch's (analysis.pairs.sign_test)."""
    table = runs.pivot(index="run", columns="arm", values="peak_test_accuracy").dropna()
    if not {pretrained, scratch} <= set(table.columns) or table.empty:
        return {"pairs": 0}
    difference = table[pretrained] - table[scratch]
    test = sign_test(difference)
    return {"pairs": len(table), "pretrained_wins": test["wins"], "scratch_wins": test["losses"],
            "ties": test["ties"], "mean_difference": float(difference.mean()), "sign_test_p": float(test["p_value"])}


def write_tables(out: Path, runs: list[dict], epochs: list[dict], plan: dict, label: str) -> pd.DataFrame:
    """gz1_runs.csv, gz1_epochs.csv and gz1_summary.csv (runs, mean, sd, min, max per arm, the sign test)."""
    table = pd.DataFrame(runs)
    table.to_csv(out / "gz1_runs.csv", index=False)
    pd.DataFrame(epochs).to_csv(out / "gz1_epochs.csv", index=False)
    summary = (table.groupby("arm", sort=False)["peak_test_accuracy"].agg(["count", "mean", "std", "min", "max"])
               .reset_index().rename(columns={"count": "runs"}))
    names = list(plan)
    test = pair_test(table, names[1], names[0]) if len(names) == 2 else {"pairs": 0}
    summary = summary.assign(**test, pair=label)
    summary.to_csv(out / "gz1_summary.csv", index=False)
    return summary


def figure(out: Path, runs: pd.DataFrame, epochs: pd.DataFrame, label: str, n_images: int) -> None:
    """gz1_accuracy.png: every run's test accuracy per epoch, and peak accuracy per arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.6, 1]})
    sns.lineplot(epochs, x="epoch", y="test_accuracy", hue="arm", units="run", estimator=None, lw=0.7, alpha=0.6,
                 ax=left)
    left.set(title="test accuracy per epoch, every run", ylabel="test accuracy")
    sns.boxplot(runs, x="arm", y="peak_test_accuracy", hue="arm", ax=right, fliersize=0, boxprops={"alpha": 0.4})
    sns.stripplot(runs, x="arm", y="peak_test_accuracy", color="k", size=5, ax=right)
    right.set(title="peak test accuracy per run", xlabel="", ylabel="peak test accuracy")
    right.tick_params(axis="x", labelrotation=12, labelsize=8)
    fig.suptitle(f"gz1-sdss, {n_images:,} SDSS galaxies (3 classes): {label}"[:220], fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "gz1_accuracy.png", dpi=130)
    plt.close(fig)


def run(out: Path, device: torch.device, spec: dict, args, deadline: float) -> None:
    """Train the pairs of runs that fit before `deadline` (at least --min-runs per arm) and write the tables."""
    from common import spec_of

    from galaxy_pretraining.training.loop import train_epochs
    from galaxy_pretraining.training.run import build_run

    carry = args.carry
    manifest = json.loads((carry / "manifest.json").read_text())
    images, class_index, objid = decode_pack(carry / manifest["pack"]["file"])
    classes = manifest["pack"]["classes"]
    arm_classes = {tuple(arm["class_names"]) for arm in spec["gz1_arms"].values()}
    if arm_classes != {tuple(classes)}:
        raise ValueError(f"the pack's classes {classes} are not the arms' {sorted(arm_classes)}: pack both again")
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
    log.info("%s: planned (pair=%r, galaxies=%d, train=%d, test=%d, predicted_run_s={%s}, runs_fit=%d, min_runs=%d, "
             "max_runs=%d)", NAME, label, len(images), n_train, n_test,
             ", ".join(f"{k}: {v:.0f}" for k, v in predicted.items()), runs_fit, args.min_runs, args.runs)
    runs, epochs, shared, measured = [], [], {}, {}
    with tempfile.TemporaryDirectory(prefix="gpu-study-") as folder:
        for r in range(args.runs):
            need = sum(measured.get(name, predicted[name]) for name in plan)
            if r >= args.min_runs and time.time() + need > deadline:
                log.info("%s: stopped (runs_per_arm=%d, next_pair_s=%.0f)", NAME, r, need)
                break
            for name, (settings, weights) in plan.items():
                settings, on = spec_of(settings, run=r, device=str(device), checkpoint_every=settings["epochs"])
                start = time.perf_counter()
                trained = build_run(settings, on, images, catalog, weights, shared.get(settings.architecture))
                shared[settings.architecture] = trained
                train_epochs(trained, Path(folder) / f"{name}-{r}.pt", progress=False)
                (Path(folder) / f"{name}-{r}.pt").unlink(missing_ok=True)
                seconds = time.perf_counter() - start
                if r:  # the first run of an architecture also compiles: not a run's time
                    measured[name] = seconds
                accuracy = [row["test_accuracy"] for row in trained.history]
                runs.append({"arm": name, "architecture": settings.architecture, "weights": settings.weights,
                             "run": r, "epochs": settings.epochs, "peak_test_accuracy": max(accuracy),
                             "best_epoch": int(np.argmax(accuracy)) + 1, "final_test_accuracy": accuracy[-1],
                             "final_train_loss": trained.history[-1]["train_loss"], "seconds": seconds,
                             "predicted_s": predicted[name], "gpu": gpu_name(device)})
                epochs += [{"arm": name, "run": r, "epoch": row["epoch"], "train_loss": row["train_loss"],
                            "train_accuracy": row["train_accuracy"], "test_loss": row["test_loss"],
                            "test_accuracy": row["test_accuracy"], "seconds": row["seconds"]}
                           for row in trained.history]
                log.info("%s: run trained (arm=%s, run=%d, peak_test_accuracy=%.4f, best_epoch=%d, seconds=%.1f, "
                         "predicted_s=%.0f)", NAME, name, r, max(accuracy), runs[-1]["best_epoch"], seconds,
                         predicted[name])
                summary = write_tables(out, runs, epochs, plan, label)
    n_images = len(images)
    del shared, images
    if device.type == "cuda":
        torch.cuda.empty_cache()
    if runs:
        figure(out, pd.DataFrame(runs), pd.DataFrame(epochs), label, n_images)
        log.info("%s: summary written (file=gz1_summary.csv, runs=%d)", NAME, len(runs))
        print(summary.to_markdown(index=False, floatfmt=".4g"), flush=True)  # noqa: T201 (the result table is the output)
