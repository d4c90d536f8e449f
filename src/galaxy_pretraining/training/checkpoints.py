"""A run's resume checkpoint `last.pt`: saved, resumed, and replaced by a finished run's record.

The whole state is written atomically (`save_checkpoint`) and read back when
its protocol and the data it read match (`resume`), and, once the run has finished, replaced by the small record
of its results (`finish_checkpoint`).

`last.pt` sits beside the run's outputs and is not a Snakemake output, so a
job killed by a time limit and started again continues from it instead of
starting over; a finished run's record lets a job that runs again write its
outputs again without training, and a finished study keeps no optimiser states.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from ..errors import BadData
from ..io import atomic_path, link_or_copy, payload_bytes
from .data import data_change
from .run import BestEpoch, EpochPosition, Run

log = logging.getLogger(__name__)


def rng_states(generators: dict[str, torch.Generator]) -> dict:
    """The states of a run's generators and of torch's global CPU (and CUDA) random streams."""
    states = {name: g.get_state() for name, g in generators.items()}
    states["torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(generators: dict[str, torch.Generator], states: dict) -> None:
    """Restore what rng_states saved."""
    for name, g in generators.items():
        g.set_state(states[name])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def states_on_cpu(state: dict | None) -> dict | None:
    """A state dict with every tensor copied to the CPU (None stays None)."""
    return None if state is None else {k: v.to("cpu") for k, v in state.items()}


def save_checkpoint(run: Run, path: os.PathLike, position: EpochPosition | None = None) -> None:
    """The whole state of a run, written atomically.

    Model, optimiser, random streams, metrics and best epoch.

    With `position`, the state is that of the middle of an epoch (after the
    batch that ended at `position.next_image`), and resume continues there.
    """
    needed = payload_bytes(run.model.state_dict(), run.optimizer.state_dict(), run.best.state)
    with atomic_path(path, needed=needed, only_writer=True) as tmp:
        torch.save(
            {
                "fingerprint": run.protocol.fingerprint(),
                "settings": run.settings(),
                "data": run.identity,
                "epoch": len(run.history),
                "model": run.model.state_dict(),
                "optimizer": run.optimizer.state_dict(),
                "schedule": run.schedule.state_dict(),
                "rng": rng_states(run.generators),
                "metrics": run.history,
                "best": run.best.saved(states_on_cpu(run.best.state)),
                "position": None if position is None else vars(position.to("cpu")),
            },
            tmp,
        )


KEPT_WEIGHTS = "best-kept.pt"


def kept_weights_path(checkpoint_path: os.PathLike) -> Path:
    """Where a finished run keeps its best weights beside `last.pt`.

    A second name (hard link) of its `best.pt`.

    Snakemake's removal of `best.pt` before it runs the job again leaves that name in place.
    """
    return Path(checkpoint_path).with_name(KEPT_WEIGHTS)


def finish_checkpoint(run: Run, path: os.PathLike, best_model: os.PathLike | None) -> None:
    """Replace a finished run's `last.pt` by the small record of its results, written atomically.

    The record holds the protocol's fingerprint, the metrics of every epoch and
    the best epoch (accuracy, epoch, predictions), but not the model,
    optimiser, random streams or weights: about 0.73 GB less for AlexNet.
    `resume` reads it back as a finished run, so a job that trains it again
    (Snakemake deletes every output of a job before it runs) only writes its
    outputs again.

    `best_model`: the run's `best.pt`, already written, when its best weights
    are kept (config best_weights), else None. Kept, they stay on disk once:
    `best-kept.pt` beside `last.pt` becomes a hard link to `best.pt` (a copy,
    logged, where the file system has no hard links), and the record names it.
    Not kept (config best_weights changed since), a `best-kept.pt` left from
    before is removed, with every other name of that file beside it
    (`best.pt`, no longer an output, which Snakemake would leave), and this is
    logged.
    """
    path = Path(path)
    kept = kept_weights_path(path)
    if best_model is not None and not link_or_copy(best_model, kept):
        log.info("%s: best weights kept twice, the file system makes no hard links (files=%s, %s)", kept.parent,
                 Path(best_model).name, kept.name)
    with atomic_path(path, only_writer=True) as tmp:
        torch.save(
            {
                "fingerprint": run.protocol.fingerprint(),
                "settings": run.settings(),
                "data": run.identity,
                "epoch": len(run.history),
                "finished": True,
                "diverged": run.diverged,
                "metrics": run.history,
                "best": run.best.saved(None),
                "best_weights": kept.name if best_model is not None else None,
            },
            tmp,
        )
    if best_model is None and kept.exists():
        removed = [p for p in sorted(path.parent.iterdir()) if p != kept and p.is_file() and p.samefile(kept)] + [kept]
        size = kept.stat().st_size
        for p in removed:
            p.unlink()
        log.info("run %s: best weights no longer kept, config best_weights (removed=%s, size=%.2f GB)",
                 run.protocol.run, " and ".join(p.name for p in removed), size / 1e9)


def resume(run: Run, path: os.PathLike) -> bool:
    """Continue from a checkpoint of the same protocol and data.

    One of another protocol or data is ignored.

    True if resumed. The data (`run.identity`, data.data_identity: ids,
    labels and image digests of the run's rows, class names) must equal what
    the checkpoint recorded; when it does not, one line of the log says what
    changed and the run is trained from epoch 0.

    A finished run's record (`finish_checkpoint`) sets `run.finished`: its metrics and best epoch come back, and
    there is nothing to train.
    """
    path = Path(path)
    if not path.exists():
        return False
    # Onto the CPU: the random streams' states must be CPU tensors; load_state_dict moves the rest to the device.
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    if checkpoint["fingerprint"] != run.protocol.fingerprint():
        log.info("run %s: retrained from epoch 0 (reason=the checkpoint is of another protocol, checkpoint=%s)",
                 run.protocol.run, path)
        return False
    change = data_change(checkpoint.get("data"), run.identity) if run.identity is not None else None
    if change is not None:
        log.warning("run %s: retrained (reason=data changed: %s, checkpoint=%s)", run.protocol.run, change, path)
        return False
    if checkpoint.get("finished"):
        run.history, run.best, run.finished = checkpoint["metrics"], BestEpoch.from_saved(checkpoint["best"]), True
        run.diverged = checkpoint.get("diverged")
        if checkpoint.get("best_weights"):  # kept as a second name of best.pt (a record from before held them)
            kept = path.with_name(checkpoint["best_weights"])
            if kept.exists():
                weights = torch.load(kept, map_location="cpu", weights_only=False)
                if weights["epoch"] != run.best.epoch:
                    raise BadData(f"{kept}: the weights of epoch {weights['epoch']}, but {path} says the best "
                                  f"epoch was {run.best.epoch}; delete both to train the run again")
                run.best.state = weights["model"]
            else:
                log.warning("run %s: kept best weights gone (file=%s)", run.protocol.run, kept)
        log.info("run %s: resuming from %s after epoch %d: the run had finished", run.protocol.run, path,
                 len(run.history))
        return True
    run.model.load_state_dict(checkpoint["model"])
    run.optimizer.load_state_dict(checkpoint["optimizer"])
    run.schedule.load_state_dict(checkpoint["schedule"])
    set_rng_states(run.generators, checkpoint["rng"])
    run.history, run.best = checkpoint["metrics"], BestEpoch.from_saved(checkpoint["best"])
    position = checkpoint.get("position")
    run.position = None if position is None else EpochPosition(**position)
    if run.position is not None and run.position.epoch != len(run.history) + 1:
        raise BadData(f"{path}: stopped in epoch {run.position.epoch} but holds {len(run.history)} finished epochs")
    if run.position is None:
        log.info("run %s: resuming from %s after epoch %d", run.protocol.run, path, len(run.history))
    else:
        log.info("run %s: resuming from %s in epoch %d after %d of %d training images", run.protocol.run, path,
                 run.position.epoch, run.position.next_image, len(run.position.order))
    return True
