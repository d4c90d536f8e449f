"""The training loop: one epoch, evaluation on a subset and the epochs of a run.

`train_one_epoch` trains one epoch of a run, `evaluate` evaluates a network
on a subset, and `train_epochs` runs the epochs of a run from where it stands
to its last, with its metrics, best epoch and checkpoints.

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
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .. import metrics_columns as col
from ..errors import BadData
from ..models.freezing import hold_frozen_batch_norms
from .checkpoints import save_checkpoint
from .data import RunData
from .device import autocast, autocasting
from .run import BestEpoch, EpochInterrupted, EpochPosition, Run
from .stopping import StopRequest, TrainingInterrupted
from .views import Views

log = logging.getLogger(__name__)


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
    """(first, last) positions of an epoch's batches from `start` to `n`, batch_size images each.

    A last batch of one image is merged into the batch before it (batch_size + 1), since BatchNorm cannot train on one.

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
    """Raises NonFiniteLoss for the first batch whose loss is not finite.

    It does not wait for the batch in progress.

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


def optimizer_step(model, optimizer, batch: torch.Tensor, target: torch.Tensor,
                   mixed_precision: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step on a batch of views (float N x 3 x crop x crop) and their class indices (long N).

    Forward under autocast (bf16 on CUDA when `mixed_precision`), cross-entropy in float32, then zero_grad,
    backward and step. Returns the logits (N x classes) and the batch's mean loss (0-d), both still on the device.
    """
    with autocast(batch.device, mixed_precision):
        logits = model(batch)
        loss = F.cross_entropy(logits.float(), target)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return logits, loss


def train_one_epoch(run: Run, epoch: int, position: EpochPosition | None = None, stop: StopRequest | None = None,
                    progress: bool = True) -> dict:
    """One pass over the run's training set in random order; returns loss, accuracy and images/s.

    Nothing in the loop waits for the device: loss and hits add up on it and
    are read once at the end (and, on a terminal, every PROGRESS_SECONDS).
    The run's schedule steps the learning rate after each batch and ends the
    epoch early when the run has taken its max_iterations steps.

    Args:
        run: the run; its `forward`, optimiser, data, views, training stream and schedule advance.
        epoch: the epoch's number (from 1).
        position: where a stopped epoch stood: it continues there, on the same order.
        stop: a request that, once set after a batch that is not the epoch's last, ends the epoch.
        progress: a per-batch progress bar (on a terminal only).

    Raises:
        EpochInterrupted: `stop` was requested; its `position` says where the epoch stands.
        NonFiniteLoss: a batch's loss was not finite.
    """
    protocol, data, device, schedule = run.protocol, run.data, run.device, run.schedule
    model, generator = run.forward, run.generators["train"]
    model.train()
    hold_frozen_batch_norms(model)
    rows = data.rows["train"]
    if position is None:
        position = EpochPosition(epoch, epoch_order(data.labels[rows], generator, protocol.oversample,
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
    for first, last in batches(position.next_image, n, protocol.batch_size):
        index = rows[order[first:last]]
        batch = run.views.train(data.images[index], generator)
        if device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        target = data.labels[index]
        logits, loss = optimizer_step(model, run.optimizer, batch, target, protocol.mixed_precision)
        check.after(loss, first // protocol.batch_size + 1)
        total_loss += loss.detach() * len(index)
        correct += (logits.argmax(1) == target).sum()
        bar.update(len(index))
        done = last
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
        col.TRAIN_LOSS: train_loss / n,
        col.TRAIN_ACCURACY: train_correct / n,
        col.TRAIN_SECONDS: seconds,
        col.IMAGES_PER_SECOND: n / seconds,
    }


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: RunData, subset: str, views: Views, generator: torch.Generator, device: torch.device,
             batch_size: int, mixed_precision: bool = False, test_side: int | None = None) -> dict:
    """Loss, accuracy, confusion matrix, probabilities and logits on a subset.

    The confusion matrix's rows are true classes, its columns predicted.

    Args:
        model: what computes the logits (a run's `forward`).
        data: the run's data.
        subset: which of its rows: train, validation or test.
        views: the run's views; `views.evaluate` makes the images.
        generator: the evaluation stream (the `paper` evaluation draws training views from it).
        device: where `data` and `model` are.
        batch_size: images per forward pass (training.eval_batch_size).
        mixed_precision: bf16 autocast on CUDA (training.mixed_precision).
        test_side: with training.scale_jitter, the side of the test view (default: scale_jitter's test_side).
    """
    model.eval()
    rows = data.rows[subset]
    labels = data.labels[rows]
    losses, probabilities, all_logits = [], [], []
    for first in range(0, len(rows), batch_size):
        index = rows[first : first + batch_size]
        batch = views.evaluate(data.images[index], generator, test_side)
        if device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        with autocast(device, mixed_precision):
            logits = model(batch).float()
        losses.append(F.cross_entropy(logits, data.labels[index], reduction="sum"))
        probabilities.append(logits.softmax(1))
        all_logits.append(logits)
    probs = torch.cat(probabilities)
    predicted = probs.argmax(1)
    k = probs.shape[1]
    confusion = torch.bincount(labels * k + predicted, minlength=k * k).reshape(k, k)
    return {
        "loss": torch.stack(losses).sum().item() / len(rows),
        "accuracy": (predicted == labels).float().mean().item(),
        "confusion": confusion.cpu().numpy(),
        "probabilities": probs.cpu().numpy(),
        "logits": torch.cat(all_logits).cpu().numpy(),
        "predicted": predicted.cpu().numpy(),
    }


def evaluate_run(run: Run, subset: str, test_side: int | None = None) -> dict:
    """`evaluate` of a run's network on one of its subsets, with its views and evaluation stream."""
    return evaluate(run.forward, run.data, subset, run.views, run.generators["evaluate"], run.device,
                    run.machine.eval_batch_size, run.protocol.mixed_precision, test_side)


def predictions_table(data: RunData, result: dict, class_names) -> pd.DataFrame:
    """The test rows' true and predicted classes and per-class probabilities, from `evaluate`'s result."""
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
    message = (f"{stop.name}: stopped {run.protocol.architecture} run {run.protocol.run} {where} "
               f"(checkpoint={checkpoint_path}, exit_code={128 + stop.signum}, retry=resumes from the checkpoint)")
    log.warning(message)
    return TrainingInterrupted(stop.signum, message)


DIVERGED_ADVICE = "lower training.optimizer.lr"
MIXED_PRECISION_ADVICE = " or set training.mixed_precision=false"  # bf16 can overflow where float32 does not


def _diverged(run: Run, model: str, epoch: int, batch, loss: float, seconds: float) -> None:
    """Stop a run whose loss is not finite.

    Its epochs so far stay, and a last row marks the epoch it diverged in.

    Its best epoch's predictions become NaN (no result), and the log says where and what to change.

    `model` is the run's folder under runs/ (the config's model name, with a label budget's or long run's suffix).
    """
    protocol = run.protocol
    run.diverged = {"epoch": epoch, "batch": batch, "loss": float(loss)}
    run.history.append({col.EPOCH: epoch, col.TRAIN_LOSS: float("nan"), col.TRAIN_ACCURACY: float("nan"),
                        col.ITERATIONS: run.schedule.iterations, col.LEARNING_RATE: run.optimizer.param_groups[0]["lr"],
                        col.TEST_LOSS: float("nan"), col.TEST_ACCURACY: float("nan"), col.SECONDS: seconds,
                        col.DIVERGED: True})
    rows = run.data.rows["test"]
    table = pd.DataFrame({"row": rows.cpu().numpy(), "true": run.data.labels[rows].cpu().numpy(), "predicted": -1})
    for name in run.class_names:
        table[f"probability_{name}"] = np.nan
    for name in run.class_names:
        table[f"logit_{name}"] = np.nan
    run.best = BestEpoch(float("nan"), run.best.epoch, run.best.state, table)
    where = f"batch {batch}" if isinstance(batch, int) else batch
    advice = DIVERGED_ADVICE + (MIXED_PRECISION_ADVICE if autocasting(run.device, protocol.mixed_precision) else "")
    log.warning("%s run %s: diverged and stopped (architecture=%s, weights=%s, epoch=%s, "
                "where=%s, loss=%s, epochs_kept=%d, fix=%s)", model, protocol.run, protocol.architecture, run.arm,
                epoch, where, loss, epoch - 1, advice)


def train_epochs(run: Run, checkpoint_path: os.PathLike, progress: bool = True, stop: StopRequest | None = None,
                 on_epoch=None) -> None:
    """Train from where the run stands to the last epoch; evaluate and checkpoint as set.

    When `stop` is requested, the batch in progress is finished, the exact
    state is written to `checkpoint_path` and TrainingInterrupted is raised.
    The first non-finite training loss (or non-finite test probabilities)
    stops the run: `run.diverged` says where, its history ends with a row
    marked diverged, and the caller writes its outputs as a diverged run's.
    `on_epoch(row)` (live.RunAccount.epoch) adds its columns to each finished epoch's row and writes it out.
    """
    protocol, every = run.protocol, run.machine.checkpoint_every
    if run.finished:
        return
    bar = tqdm(range(len(run.history) + 1, protocol.epochs + 1), desc="epochs", unit="epoch", disable=not progress,
               initial=len(run.history), total=protocol.epochs)
    for epoch in bar:
        if run.schedule.done:
            break  # resumed after the run's last step (max_iterations)
        start = time.perf_counter()
        position, run.position = run.position, None
        earlier = 0.0 if position is None else position.seconds  # the epoch's part trained before a resume
        try:
            trained = train_one_epoch(run, epoch, position, stop, progress)
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
        row = {col.EPOCH: epoch, **trained, col.ITERATIONS: run.schedule.iterations,
               col.LEARNING_RATE: run.optimizer.param_groups[0]["lr"]}
        evaluated = time.perf_counter()
        test, side_accuracies = evaluate_test(run)
        if not (np.isfinite(test["loss"]) and np.isfinite(test["probabilities"]).all()):
            _diverged(run, Path(checkpoint_path).parent.parent.name, epoch, "test evaluation", test["loss"], time.perf_counter() - start)
            break
        row.update({col.TEST_LOSS: test["loss"], col.TEST_ACCURACY: test["accuracy"],
                    col.TEST_CONFUSION: test["confusion"].tolist()})
        row.update(side_accuracies)
        if "validation" in run.data.rows:
            validation = evaluate_run(run, "validation")
            row.update({col.VALIDATION_LOSS: validation["loss"], col.VALIDATION_ACCURACY: validation["accuracy"]})
        row[col.EVAL_SECONDS] = time.perf_counter() - evaluated
        row[col.SECONDS] = time.perf_counter() - start + earlier
        row[col.DIVERGED] = False
        if on_epoch is not None:
            on_epoch(row)
        run.history.append(row)
        if test["accuracy"] > run.best.accuracy:
            # kept on the device: a copy to the host at every improvement would stall the GPU
            run.best = BestEpoch(test["accuracy"], epoch, {k: v.detach().clone() for k, v in run.model.state_dict().items()},
                                 predictions_table(run.data, test, run.class_names))
        bar.set_postfix(test_acc=f"{test['accuracy']:.3f}", best=f"{run.best.accuracy:.3f}@{run.best.epoch}",
                        img_s=f"{row[col.IMAGES_PER_SECOND]:.0f}")
        if epoch % every == 0 or epoch == protocol.epochs or run.schedule.done:
            save_checkpoint(run, checkpoint_path)
        if run.schedule.done:
            break  # max_iterations reached: this was the last epoch
        if stop is not None and stop.requested and epoch < protocol.epochs:
            if epoch % every:
                save_checkpoint(run, checkpoint_path)
            raise _interrupted(run, checkpoint_path, stop, f"after epoch {epoch}")
    bar.close()


def evaluate_test(run: Run) -> tuple[dict, dict[str, float]]:
    """One epoch's test evaluation and the accuracy at every test side.

    `evaluate` on the test set (at scale_jitter's test_side), then the accuracy at every other test side:
    {side_accuracy_column(side): accuracy} for each of evaluation_sides (the test_side's is the first
    evaluation's, not evaluated twice). In that order, so the evaluation stream draws the same.
    """
    test = evaluate_run(run, "test")
    sides = {col.side_accuracy_column(side): test["accuracy"] if side == run.scale_jitter["test_side"]
             else evaluate_run(run, "test", side)["accuracy"] for side in evaluation_sides(run.scale_jitter)}
    return test, sides


def evaluation_sides(scale_jitter: Mapping | None) -> list[int]:
    """Every test side that gets its own accuracy column.

    Those of scale_jitter.test_sides; none without scale_jitter.
    """
    return [] if scale_jitter is None else list(scale_jitter["test_sides"])


def confusion_matrices(metrics: pd.DataFrame) -> np.ndarray:
    """The per-epoch test confusion matrices of a metrics table as an E x K x K array."""
    return np.stack([np.stack(list(m)) for m in metrics[col.TEST_CONFUSION]]).astype(np.int64)
