"""The training loop: one epoch (`train_one_epoch`), evaluation on a subset (`evaluate`) and the epochs of a
run from where it stands to its last (`train_epochs`), with its metrics, best epoch and checkpoints.

Nothing in an epoch waits for the device but its end: loss and hits add up
on it. A stop request (SIGTERM, SIGUSR1) ends the batch in progress and saves
the exact state, so that the resumed run's numbers are those of an
uninterrupted one.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..errors import BadData
from ..models.freezing import hold_frozen_batch_norms
from .checkpoints import save_checkpoint
from .settings import TrainSettings
from .state import EpochInterrupted, EpochPosition, Run, RunData, Schedule
from .stopping import StopRequest, TrainingInterrupted
from .views import Views

log = logging.getLogger(__name__)


def autocasting(device: torch.device, settings: TrainSettings) -> bool:
    """Whether the run computes in bfloat16: training.mixed_precision, on CUDA."""
    return settings.mixed_precision and device.type == "cuda"


def autocast(device: torch.device, settings: TrainSettings):
    """bfloat16 autocast on CUDA when training.mixed_precision; a no-op context elsewhere."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocasting(device, settings))


# Seconds between reads of the running loss for a terminal's progress bar: each read waits for the device.
PROGRESS_SECONDS = 2.0


def epoch_order(labels: torch.Tensor, generator: torch.Generator, oversample: bool,
                length: int | None = None) -> torch.Tensor:
    """The order of an epoch: positions into the training rows (whose class indices are `labels`).

    Without oversampling, a permutation of all of them. With it, random
    oversampling: every class as often as the largest one, each class with all
    its images once plus random repeats (drawn with replacement) to fill up,
    the whole shuffled; a new draw every epoch. With `length`, passes of such
    orders one after the other, cut at `length` images.
    """
    if length is not None:
        passes, total = [], 0
        while total < length:
            passes.append(epoch_order(labels, generator, oversample))
            total += len(passes[-1])
        return torch.cat(passes)[:length]
    if not oversample:
        return torch.randperm(len(labels), generator=generator, device=labels.device)
    classes, counts = torch.unique(labels, return_counts=True)
    largest = int(counts.max())
    parts = []
    for label, count in zip(classes.tolist(), counts.tolist()):
        members = torch.nonzero(labels == label).flatten()
        repeats = torch.randint(0, count, (largest - count,), generator=generator, device=labels.device)
        parts += [members, members[repeats]]
    chosen = torch.cat(parts)
    return chosen[torch.randperm(len(chosen), generator=generator, device=labels.device)]


def batches(start: int, n: int, batch_size: int):
    """(first, last) positions of an epoch's batches from `start` to `n`: batch_size images each, but a last
    batch of one image is merged into the batch before it (batch_size + 1), since BatchNorm cannot train on one.

    The bounds depend only on n and batch_size, so a resumed epoch (`start` a
    bound of an earlier pass) continues on the same bounds. Raises BadData when
    the whole epoch is one image.
    """
    if n - start == 1 and start == 0:
        raise BadData("the training set holds 1 image: a batch of one cannot be trained (BatchNorm needs two); "
                      "give the run more training galaxies (splits.test_size, validation_size, train_fractions)")
    first = start
    while first < n:
        last = min(first + batch_size, n)
        if n - last == 1:
            last = n
        yield first, last
        first = last


class NonFiniteLoss(Exception):
    """A batch's training loss was NaN or infinite: the run diverged (`batch` counts from 1 in its epoch)."""

    def __init__(self, batch: int, loss: float):
        super().__init__(f"loss {loss} in batch {batch}")
        self.batch, self.loss = batch, loss


class LossCheck:
    """Raises NonFiniteLoss for the first batch whose loss is not finite, without waiting for the batch in progress.

    On the CPU (and MPS) each loss is checked at once. On CUDA each batch's
    flag is copied to pinned host memory behind the batch and read one batch
    later, so the host stays one batch ahead of the device and never stalls
    the queue; the batch named is still the one whose loss was not finite.
    """

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.pending = None  # (batch, loss, flag on the host, event) of the batch not yet read
        if self.cuda:
            self.flags = [torch.empty((), dtype=torch.bool, pin_memory=True) for _ in range(2)]

    def after(self, loss: torch.Tensor, batch: int) -> None:
        """Check the loss of `batch` (0-d, on the device), or the batch before it on CUDA."""
        if not self.cuda:
            if not bool(torch.isfinite(loss)):
                raise NonFiniteLoss(batch, loss.item())
            return
        self.finish()
        flag = self.flags[batch % 2]
        flag.copy_(~torch.isfinite(loss.detach()), non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self.pending = (batch, loss.detach(), flag, event)

    def finish(self) -> None:
        """Read the batch still pending (CUDA); call after the epoch's last batch and before a checkpoint."""
        if self.pending is None:
            return
        batch, loss, flag, event = self.pending
        self.pending = None
        event.synchronize()
        if bool(flag):
            raise NonFiniteLoss(batch, loss.item())


def optimizer_step(model, optimizer, batch: torch.Tensor, target: torch.Tensor, device: torch.device,
                   settings: TrainSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step on a batch of views (float N x 3 x crop x crop) and their class indices (long N):
    forward under autocast, cross-entropy in float32, then zero_grad, backward and step. Returns the logits
    (N x classes) and the batch's mean loss (0-d), both still on the device."""
    with autocast(device, settings):
        logits = model(batch)
        loss = F.cross_entropy(logits.float(), target)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return logits, loss


def train_one_epoch(model, optimizer, data: RunData, settings: TrainSettings, views: Views, generator, device,
                    progress=True, epoch: int = 0, position: EpochPosition | None = None, stop: StopRequest | None = None,
                    schedule: Schedule | None = None) -> dict:
    """One pass over the training set in random order; returns loss, accuracy and images/s.

    Nothing in the loop waits for the device: loss and hits add up on it and
    are read once at the end (and, on a terminal, every PROGRESS_SECONDS).
    `position` continues an epoch that was stopped; when `stop` is requested
    after a batch that is not the epoch's last, EpochInterrupted says where.
    `schedule` steps the learning rate after each batch and ends the epoch
    early when the run has taken its max_iterations steps.
    """
    model.train()
    hold_frozen_batch_norms(model)
    rows = data.rows["train"]
    if position is None:
        position = EpochPosition(epoch, epoch_order(data.labels[rows], generator, settings.oversample,
                                                         data.epoch_images), 0,
                                 torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.long), 0.0)
    else:
        position = position.to(device)
    order, total_loss, correct = position.order, position.total_loss, position.correct
    n = len(order)  # with oversampling, more than the training rows
    start = shown = time.perf_counter() - position.seconds
    # The per-batch bar only on a terminal; in a log file the per-epoch bar says it all.
    progress = progress and sys.stderr.isatty()
    bar = tqdm(total=n, initial=position.next_image, desc="train", unit="img", leave=False, disable=not progress,
               mininterval=1)
    check = LossCheck(device)
    for first, last in batches(position.next_image, n, settings.batch_size):
        index = rows[order[first:last]]
        batch = views.train(data.images[index], generator)
        if device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        target = data.labels[index]
        logits, loss = optimizer_step(model, optimizer, batch, target, device, settings)
        check.after(loss, first // settings.batch_size + 1)
        total_loss += loss.detach() * len(index)
        correct += (logits.argmax(1) == target).sum()
        bar.update(len(index))
        done = last
        if schedule is not None:
            schedule.after_step()
            if schedule.done:
                n = done  # the run's last step: the epoch ends here
                break
        if stop is not None and stop.requested and done < n:
            bar.close()
            check.finish()
            raise EpochInterrupted(EpochPosition(position.epoch, order, done, total_loss, correct,
                                                 time.perf_counter() - start))
        if progress and time.perf_counter() - shown > PROGRESS_SECONDS:
            shown = time.perf_counter()
            bar.set_postfix(loss=f"{total_loss.item() / bar.n:.3f}", img_s=f"{bar.n / (shown - start):.0f}")
    check.finish()
    bar.close()
    train_loss, train_correct = total_loss.item(), correct.item()  # the epoch's one wait for the device
    seconds = time.perf_counter() - start
    return {
        "train_loss": train_loss / n,
        "train_accuracy": train_correct / n,
        "train_seconds": seconds,
        "images_per_second": n / seconds,
    }


@torch.no_grad()
def evaluate(model, data: RunData, subset: str, settings: TrainSettings, views: Views, generator, device,
             test_side: int | None = None) -> dict:
    """Loss, accuracy, confusion matrix (rows true, columns predicted) and probabilities on a subset, through
    `views.evaluate`. `test_side`: with training.scale_jitter, the side of the test view (default: scale_jitter's
    test_side)."""
    model.eval()
    rows = data.rows[subset]
    labels = data.labels[rows]
    losses, probabilities, all_logits = [], [], []
    for first in range(0, len(rows), settings.eval_batch_size):
        index = rows[first : first + settings.eval_batch_size]
        batch = views.evaluate(data.images[index], generator, test_side)
        if device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        with autocast(device, settings):
            logits = model(batch).float()
        losses.append(F.cross_entropy(logits, data.labels[index], reduction="sum"))
        probabilities.append(logits.softmax(1))
        all_logits.append(logits)
    probs = torch.cat(probabilities)
    predicted = probs.argmax(1)
    k = settings.n_classes
    confusion = torch.bincount(labels * k + predicted, minlength=k * k).reshape(k, k)
    return {
        "loss": torch.stack(losses).sum().item() / len(rows),
        "accuracy": (predicted == labels).float().mean().item(),
        "confusion": confusion.cpu().numpy(),
        "probabilities": probs.cpu().numpy(),
        "logits": torch.cat(all_logits).cpu().numpy(),
        "predicted": predicted.cpu().numpy(),
    }


def predictions_table(data: RunData, result: dict, class_names) -> pd.DataFrame:
    rows = data.rows["test"]
    table = pd.DataFrame(
        {"row": rows.cpu().numpy(), "true": data.labels[rows].cpu().numpy(), "predicted": result["predicted"]}
    )
    for i, name in enumerate(class_names):
        table[f"probability_{name}"] = result["probabilities"][:, i]
    for i, name in enumerate(class_names):  # float32 probabilities saturate; the logits keep every ranking
        table[f"logit_{name}"] = result["logits"][:, i]
    return table


def _interrupted(run: Run, checkpoint_path, stop: StopRequest, where: str) -> TrainingInterrupted:
    message = (f"{stop.name}: stopped {run.settings.architecture} run {run.settings.run} {where}; its state is in "
               f"{checkpoint_path}, and the job exits with {128 + stop.signum} so that it is retried and resumes there")
    print(message, flush=True)
    return TrainingInterrupted(stop.signum, message)


DIVERGED_ADVICE = "lower training.optimizer.lr"
MIXED_PRECISION_ADVICE = ", or set training.mixed_precision: false (bf16 can overflow)"


def _diverged(run: Run, model: str, epoch: int, batch, loss: float, seconds: float) -> None:
    """Stop a run whose loss is not finite: its epochs so far stay, a last row marks the epoch it diverged in,
    its best epoch's predictions become NaN (no result), and the log says where and what to change.

    `model` is the run's folder under runs/ (the config's model name, with a label budget's or long run's suffix).
    """
    settings = run.settings
    run.diverged = {"epoch": epoch, "batch": batch, "loss": float(loss)}
    run.history.append({"epoch": epoch, "train_loss": float("nan"), "train_accuracy": float("nan"),
                        "iterations": run.schedule.iterations, "learning_rate": run.optimizer.param_groups[0]["lr"],
                        "test_loss": float("nan"), "test_accuracy": float("nan"), "seconds": seconds, "diverged": True})
    rows = run.data.rows["test"]
    table = pd.DataFrame({"row": rows.cpu().numpy(), "true": run.data.labels[rows].cpu().numpy(), "predicted": -1})
    for name in run.class_names:
        table[f"probability_{name}"] = np.nan
    for name in run.class_names:
        table[f"logit_{name}"] = np.nan
    run.best = {**run.best, "predictions": table, "accuracy": float("nan")}
    where = f"batch {batch}" if isinstance(batch, int) else batch
    arm = "scratch" if settings.weights == "none" else settings.weights
    log.warning("%s run %s: diverged (architecture=%s, weights=%s, epoch=%s, where=%s, loss=%s); the run stops here "
                "and is recorded as diverged, with its %d finished epochs; %s", model, settings.run,
                settings.architecture, arm, epoch, where,
                loss, epoch - 1, DIVERGED_ADVICE + (MIXED_PRECISION_ADVICE if autocasting(run.device, settings) else ""))


def train_epochs(run: Run, checkpoint_path: os.PathLike, progress: bool = True, stop: StopRequest | None = None) -> None:
    """Train from where the run stands to the last epoch; evaluate and checkpoint as set.

    When `stop` is requested, the batch in progress is finished, the exact
    state is written to `checkpoint_path` and TrainingInterrupted is raised.
    The first non-finite training loss (or non-finite test probabilities)
    stops the run: `run.diverged` says where, its history ends with a row
    marked diverged, and the caller writes its outputs as a diverged run's.
    """
    settings = run.settings
    if run.finished:
        return
    bar = tqdm(range(len(run.history) + 1, settings.epochs + 1), desc="epochs", unit="epoch", disable=not progress,
               initial=len(run.history), total=settings.epochs)
    for epoch in bar:
        if run.schedule.done:
            break  # resumed after the run's last step (max_iterations)
        start = time.perf_counter()
        position, run.position = run.position, None
        try:
            trained = train_one_epoch(run.forward, run.optimizer, run.data, settings, run.views, run.generators["train"],
                                      run.device, progress, epoch, position, stop, run.schedule)
        except NonFiniteLoss as bad:
            _diverged(run, Path(checkpoint_path).parent.parent.name, epoch, bad.batch, bad.loss, time.perf_counter() - start)
            break
        except EpochInterrupted as interrupted:
            save_checkpoint(run, checkpoint_path, interrupted.position)
            n = len(interrupted.position.order)
            raise _interrupted(run, checkpoint_path, stop,
                               f"in epoch {epoch} after {interrupted.position.next_image} of {n} training images"
                               ) from None
        run.schedule.after_epoch()
        row = {"epoch": epoch, **trained, "iterations": run.schedule.iterations,
               "learning_rate": run.optimizer.param_groups[0]["lr"]}
        test, side_accuracies = evaluate_test(run)
        if not (np.isfinite(test["loss"]) and np.isfinite(test["probabilities"]).all()):
            _diverged(run, Path(checkpoint_path).parent.parent.name, epoch, "test evaluation", test["loss"], time.perf_counter() - start)
            break
        row.update(test_loss=test["loss"], test_accuracy=test["accuracy"], test_confusion=test["confusion"].tolist())
        row.update(side_accuracies)
        if "validation" in run.data.rows:
            validation = evaluate(run.forward, run.data, "validation", settings, run.views, run.generators["evaluate"],
                                  run.device)
            row.update(validation_loss=validation["loss"], validation_accuracy=validation["accuracy"])
        row["seconds"] = time.perf_counter() - start
        row["diverged"] = False
        run.history.append(row)
        if test["accuracy"] > run.best["accuracy"]:
            run.best = {
                "accuracy": test["accuracy"],
                "epoch": epoch,
                # kept on the device: a copy to the host at every improvement would stall the GPU
                "state": {k: v.detach().clone() for k, v in run.model.state_dict().items()},
                "predictions": predictions_table(run.data, test, run.class_names),
            }
        bar.set_postfix(test_acc=f"{test['accuracy']:.3f}", best=f"{run.best['accuracy']:.3f}@{run.best['epoch']}",
                        img_s=f"{row['images_per_second']:.0f}")
        if epoch % settings.checkpoint_every == 0 or epoch == settings.epochs or run.schedule.done:
            save_checkpoint(run, checkpoint_path)
        if run.schedule.done:
            break  # max_iterations reached: this was the last epoch
        if stop is not None and stop.requested and epoch < settings.epochs:
            if epoch % settings.checkpoint_every:
                save_checkpoint(run, checkpoint_path)
            raise _interrupted(run, checkpoint_path, stop, f"after epoch {epoch}")
    bar.close()


def evaluate_test(run: Run) -> tuple[dict, dict[str, float]]:
    """One epoch's test evaluation: `evaluate` on the test set (at scale_jitter's test_side), then the accuracy at
    every other test side; {side_accuracy_column(side): accuracy} for each of evaluation_sides (the test_side's is
    the first evaluation's, not evaluated twice). In that order, so the evaluation stream draws the same."""
    settings = run.settings

    def accuracy_at(side: int) -> float:
        return evaluate(run.forward, run.data, "test", settings, run.views, run.generators["evaluate"], run.device,
                        side)["accuracy"]

    test = evaluate(run.forward, run.data, "test", settings, run.views, run.generators["evaluate"], run.device)
    sides = {side_accuracy_column(side): test["accuracy"] if side == settings.scale_jitter["test_side"]
             else accuracy_at(side) for side in evaluation_sides(settings)}
    return test, sides


def side_accuracy_column(side: int) -> str:
    """The metrics column of the test accuracy at one scale_jitter test side: test_accuracy_side<side>."""
    return f"test_accuracy_side{side}"


def evaluation_sides(settings: TrainSettings) -> list[int]:
    """Every test side that gets its own accuracy column (scale_jitter.test_sides; none without scale_jitter)."""
    return [] if settings.scale_jitter is None else list(settings.scale_jitter["test_sides"])


def confusion_matrices(metrics: pd.DataFrame) -> np.ndarray:
    """The per-epoch test confusion matrices of a metrics table as an E x K x K array."""
    return np.stack([np.stack(list(m)) for m in metrics["test_confusion"]]).astype(np.int64)
