"""Training engine: one (model, run) of the study, per the paper's protocol.

The verbs: `load_data` (the run's images from the array store onto the
device, once), `train_one_epoch`, `evaluate`; and `train_run`, which is
`build_run` (device, data, model, optimiser, random streams), `resume` (from
`last.pt` when its settings match), `train_epochs` (the loop, metrics, best
epoch, checkpoints) and `write_outputs`. The resume checkpoint `last.pt` sits
beside the outputs and is not a Snakemake output, so a job killed by a time
limit and started again continues from it instead of starting over.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .array_store import open_array_store, read_rows
from .augment import evaluation_transform, random_transform
from .io import atomic_path, write_table
from .models import build_model
from .settings import TrainSettings
from .splits import make_splits, rows_of

log = logging.getLogger(__name__)

OPTIMIZERS = {
    "sgd": lambda params, o: torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], weight_decay=o["weight_decay"]),
    "adam": lambda params, o: torch.optim.Adam(params, lr=o["lr"], weight_decay=o["weight_decay"]),
    "adamw": lambda params, o: torch.optim.AdamW(params, lr=o["lr"], weight_decay=o["weight_decay"]),
}


def choose_device(requested: str) -> torch.device:
    """cuda, then mps, then cpu; an explicit request that is not available is an error."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but no CUDA device is available")
    return device


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest(), "big") >> 1


@dataclass
class RunData:
    images: dict[str, torch.Tensor]  # subset -> uint8 N x 3 x S x S on the device
    labels: dict[str, torch.Tensor]
    rows: dict[str, np.ndarray]  # subset -> catalog rows


def load_data(store_path, catalog: pd.DataFrame, split: dict, run: int, device: torch.device) -> RunData:
    """The run's train / validation / test images from the array store, onto the device once.

    The split is drawn from the catalog ids with `make_splits`: the same rows
    as the run's part of splits.parquet, without depending on that file (so
    adding runs to the study retrains nothing already done).

    Read in chunks of 1,024 images with plain file reads, so the host never
    holds a float copy (nor, on CUDA, a full uint8 copy) of the data set.
    """
    store = open_array_store(store_path)
    if len(store) != len(catalog):
        raise ValueError(f"{store_path} holds {len(store)} images but the catalog has {len(catalog)} rows")
    labels_all = torch.tensor(catalog["class_index"].to_numpy(), dtype=torch.long)
    splits = make_splits(catalog["id"], [run], split["test_size"], split["seed"], split["validation_size"])
    images, labels, rows = {}, {}, {}
    for subset in ("train", "validation", "test"):
        chosen = rows_of(splits, run, subset)
        if len(chosen) == 0:
            continue
        target = torch.empty((len(chosen), *store.shape[1:]), dtype=torch.uint8, device=device)
        for start in range(0, len(chosen), 1024):
            part = chosen[start : start + 1024]
            target[start : start + len(part)] = torch.from_numpy(read_rows(store_path, part)).to(device)
        images[subset], labels[subset], rows[subset] = target, labels_all[chosen].to(device), chosen
    return RunData(images, labels, rows)


def _autocast(device: torch.device, settings: TrainSettings):
    enabled = settings.mixed_precision and device.type == "cuda"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def train_one_epoch(model, optimizer, data: RunData, settings: TrainSettings, generator, device, progress=True) -> dict:
    """One pass over the training set in random order; returns loss, accuracy and images/s."""
    model.train()
    images, labels = data.images["train"], data.labels["train"]
    n = len(images)
    order = torch.randperm(n, generator=generator, device=device)
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    start = time.perf_counter()
    # The per-batch bar only on a terminal; in a log file the per-epoch bar says it all.
    progress = progress and sys.stderr.isatty()
    bar = tqdm(total=n, desc="train", unit="img", leave=False, disable=not progress, mininterval=1)
    for first in range(0, n, settings.batch_size):
        index = order[first : first + settings.batch_size]
        batch = random_transform(
            images[index], settings.crop_size, settings.flips, settings.rotation, generator,
            settings.interpolation, settings.normalization,
        )
        if device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        target = labels[index]
        with _autocast(device, settings):
            logits = model(batch)
            loss = F.cross_entropy(logits.float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.detach() * len(index)
        correct += (logits.argmax(1) == target).sum()
        bar.update(len(index))
        if progress:
            bar.set_postfix(loss=f"{loss.item():.3f}", img_s=f"{bar.n / (time.perf_counter() - start):.0f}")
    bar.close()
    seconds = time.perf_counter() - start
    return {
        "train_loss": total_loss.item() / n,
        "train_accuracy": correct.item() / n,
        "train_seconds": seconds,
        "images_per_second": n / seconds,
    }


@torch.no_grad()
def evaluate(model, data: RunData, subset: str, settings: TrainSettings, generator, device) -> dict:
    """Loss, accuracy, confusion matrix (rows true, columns predicted) and probabilities on a subset."""
    model.eval()
    images, labels = data.images[subset], data.labels[subset]
    losses, probabilities = [], []
    for first in range(0, len(images), settings.eval_batch_size):
        batch = evaluation_transform(
            images[first : first + settings.eval_batch_size], settings.evaluation, settings.crop_size,
            settings.flips, settings.rotation, generator, settings.interpolation, settings.normalization,
        )
        if device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        with _autocast(device, settings):
            logits = model(batch).float()
        target = labels[first : first + settings.eval_batch_size]
        losses.append(F.cross_entropy(logits, target, reduction="sum"))
        probabilities.append(logits.softmax(1))
    probs = torch.cat(probabilities)
    predicted = probs.argmax(1)
    k = settings.n_classes
    confusion = torch.bincount(labels * k + predicted, minlength=k * k).reshape(k, k)
    return {
        "loss": torch.stack(losses).sum().item() / len(images),
        "accuracy": (predicted == labels).float().mean().item(),
        "confusion": confusion.cpu().numpy(),
        "probabilities": probs.cpu().numpy(),
        "predicted": predicted.cpu().numpy(),
    }


def _rng_states(generators: dict[str, torch.Generator]) -> dict:
    states = {name: g.get_state() for name, g in generators.items()}
    states["torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(generators: dict[str, torch.Generator], states: dict) -> None:
    for name, g in generators.items():
        g.set_state(states[name])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def predictions_table(data: RunData, result: dict, class_names) -> pd.DataFrame:
    table = pd.DataFrame(
        {"row": data.rows["test"], "true": data.labels["test"].cpu().numpy(), "predicted": result["predicted"]}
    )
    for i, name in enumerate(class_names):
        table[f"probability_{name}"] = result["probabilities"][:, i]
    return table


@dataclass
class Run:
    """One run in training: what build_run makes, resume restores and train_epochs advances."""

    settings: TrainSettings
    device: torch.device
    data: RunData
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    generators: dict[str, torch.Generator]
    class_names: list[str]
    history: list[dict]  # one row of metrics per finished epoch
    best: dict  # accuracy, epoch, state (on the CPU) and predictions of the best epoch so far


def _prepare_device(settings: TrainSettings, threads: int | None) -> torch.device:
    if threads:
        torch.set_num_threads(threads)
    if settings.deterministic:
        # cuBLAS needs a fixed workspace to be deterministic; must be set before CUDA starts.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    device = choose_device(settings.device)
    torch.use_deterministic_algorithms(settings.deterministic, warn_only=False)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not settings.deterministic
    return device


def build_run(settings: TrainSettings, store_path, catalog_path, weights_path, class_names, threads=None) -> Run:
    """Device, data on the device, model (ImageNet weights or default init), optimiser and random streams."""
    if settings.pretrained and weights_path is None:
        raise ValueError(f"{settings.architecture}: a pretrained model needs a weights file")
    class_names = list(class_names)
    if len(class_names) != settings.n_classes:
        raise ValueError(f"{len(class_names)} class names {class_names} for a model of {settings.n_classes} classes")
    device = _prepare_device(settings, threads)
    log.info("device %s, settings %s", device, settings)
    arm = "imagenet" if settings.pretrained else "scratch"
    print(f"training {settings.architecture} ({arm}) run {settings.run} on {device}", flush=True)
    data = load_data(store_path, pd.read_parquet(catalog_path), settings.split, settings.run, device)
    identity = (settings.seed, settings.architecture, settings.pretrained, settings.run)
    torch.manual_seed(_seed(*identity, "init"))
    model = build_model(settings.architecture, settings.n_classes, weights_path if settings.pretrained else None)
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimizer = OPTIMIZERS[settings.optimizer["name"]](model.parameters(), settings.optimizer)
    generators = {}
    for name in ("train", "evaluate"):
        generators[name] = torch.Generator(device=device)
        generators[name].manual_seed(_seed(*identity, name))
    best = {"accuracy": -1.0, "epoch": 0, "state": None, "predictions": None}
    return Run(settings, device, data, model, optimizer, generators, class_names, [], best)


def save_checkpoint(run: Run, path: os.PathLike) -> None:
    """The whole state of a run (model, optimiser, random streams, metrics, best epoch), written atomically."""
    with atomic_path(path) as tmp:
        torch.save(
            {
                "fingerprint": run.settings.fingerprint(),
                "settings": asdict(run.settings),
                "epoch": len(run.history),
                "model": run.model.state_dict(),
                "optimizer": run.optimizer.state_dict(),
                "rng": _rng_states(run.generators),
                "metrics": run.history,
                "best": run.best,
            },
            tmp,
        )


def resume(run: Run, path: os.PathLike) -> bool:
    """Continue from a checkpoint of the same settings; one of other settings is ignored. True if resumed."""
    path = Path(path)
    if not path.exists():
        return False
    checkpoint = torch.load(path, map_location=run.device, weights_only=False)
    if checkpoint["fingerprint"] != run.settings.fingerprint():
        print(f"{path} was made with other settings; starting over", flush=True)
        return False
    run.model.load_state_dict(checkpoint["model"])
    run.optimizer.load_state_dict(checkpoint["optimizer"])
    _set_rng_states(run.generators, checkpoint["rng"])
    run.history, run.best = checkpoint["metrics"], checkpoint["best"]
    print(f"resuming from {path} after epoch {len(run.history)}", flush=True)
    return True


def train_epochs(run: Run, checkpoint_path: os.PathLike, progress: bool = True) -> None:
    """Train from the epoch after the last finished one to the last; evaluate and checkpoint as set."""
    settings = run.settings
    bar = tqdm(range(len(run.history) + 1, settings.epochs + 1), desc="epochs", unit="epoch", disable=not progress,
               initial=len(run.history), total=settings.epochs)
    for epoch in bar:
        start = time.perf_counter()
        row = {"epoch": epoch, **train_one_epoch(run.model, run.optimizer, run.data, settings, run.generators["train"],
                                                 run.device, progress)}
        test = evaluate(run.model, run.data, "test", settings, run.generators["evaluate"], run.device)
        row.update(test_loss=test["loss"], test_accuracy=test["accuracy"], test_confusion=test["confusion"].tolist())
        if "validation" in run.data.images:
            validation = evaluate(run.model, run.data, "validation", settings, run.generators["evaluate"], run.device)
            row.update(validation_loss=validation["loss"], validation_accuracy=validation["accuracy"])
        row["seconds"] = time.perf_counter() - start
        run.history.append(row)
        if test["accuracy"] > run.best["accuracy"]:
            run.best = {
                "accuracy": test["accuracy"],
                "epoch": epoch,
                "state": {k: v.detach().to("cpu", copy=True) for k, v in run.model.state_dict().items()},
                "predictions": predictions_table(run.data, test, run.class_names),
            }
        bar.set_postfix(test_acc=f"{test['accuracy']:.3f}", best=f"{run.best['accuracy']:.3f}@{run.best['epoch']}",
                        img_s=f"{row['images_per_second']:.0f}")
        if epoch % settings.checkpoint_every == 0 or epoch == settings.epochs:
            save_checkpoint(run, checkpoint_path)
    bar.close()


def write_outputs(run: Run, metrics_path, predictions_path, best_model_path) -> pd.DataFrame:
    """The per-epoch metrics, the best epoch's predictions and the best model, each written atomically."""
    metrics = pd.DataFrame(run.history)
    metrics.insert(0, "run", run.settings.run)
    with atomic_path(best_model_path) as tmp:
        torch.save({"model": run.best["state"], "epoch": run.best["epoch"], "settings": asdict(run.settings),
                    "class_names": run.class_names}, tmp)
    write_table(run.best["predictions"].assign(epoch=run.best["epoch"]), predictions_path)
    write_table(metrics, metrics_path)
    return metrics


def train_run(
    settings: TrainSettings,
    store_path: os.PathLike,
    catalog_path: os.PathLike,
    metrics_path: os.PathLike,
    predictions_path: os.PathLike,
    best_model_path: os.PathLike,
    weights_path: os.PathLike | None,
    class_names,
    threads: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Train one run, resuming from `last.pt` beside the metrics if its settings match."""
    run = build_run(settings, store_path, catalog_path, weights_path, class_names, threads)
    checkpoint_path = Path(metrics_path).with_name("last.pt")
    resume(run, checkpoint_path)
    train_epochs(run, checkpoint_path, progress)
    return write_outputs(run, metrics_path, predictions_path, best_model_path)


def confusion_matrices(metrics: pd.DataFrame) -> np.ndarray:
    """The per-epoch test confusion matrices of a metrics table as an E x K x K array."""
    return np.stack([np.stack(list(m)) for m in metrics["test_confusion"]]).astype(np.int64)
