"""A prediction set classified by the best weights of an arm's runs (torch).

Logits over runs x views, their summary per galaxy and the penultimate-layer features.

Each run's network is rebuilt from its best.pt (architecture, dropout, weights)
and sees the galaxies as it saw its test set: the run's own evaluation view
(training.views.Views from the settings best.pt holds, the normalisation the
run resolved included), then, for views > 1, that view under the quarter turns
and mirror images of predict.sets.VIEWS. With training.evaluation `paper` (a
random training view) the deterministic centre view is used instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.special import log_softmax, logsumexp

from ..errors import BadData
from ..models.build import build_model, head_path, module_at
from ..training.device import autocast
from ..training.views import Views
from .sets import VIEWS

log = logging.getLogger(__name__)


@dataclass
class Member:
    """One run's best network, ready to classify: model (eval mode, on its device), views, settings, run."""

    run: int
    model: torch.nn.Module
    views: Views
    settings: dict
    path: str


def load_member(path: os.PathLike, class_names: Sequence[str], device: torch.device) -> Member:
    """The network of a run's best.pt; BadData naming the file when its classes are not the study's."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    settings = saved["settings"]
    if list(saved["class_names"]) != list(class_names):
        raise BadData(f"{path}: trained on the classes {list(saved['class_names'])}, but the study's are "
                      f"{list(class_names)}; train the runs again")
    if saved.get("diverged"):
        raise BadData(f"{path}: run {settings['run']} diverged (its loss became {saved['diverged'].get('loss')}); "
                      "leave it out of the set's runs")
    model = build_model(settings["architecture"], settings["n_classes"], None, settings.get("dropout"))
    model.load_state_dict(saved["model"])
    views = Views.from_settings({**settings, "evaluation": "center"})
    if settings["evaluation"] != "center":
        log.info("predict: evaluation view (run=%s, training.evaluation=%s, used=center)", settings["run"],
                 settings["evaluation"])
    return Member(int(settings["run"]), model.to(device).eval(), views, settings, str(path))


def view_of(batch: torch.Tensor, view: int) -> torch.Tensor:
    """Test-time view `view` (index into VIEWS) of a batch of evaluation views (N x 3 x H x W).

    View 0 is the batch itself; then quarter turns, and the same of the mirror image.
    """
    turns, mirrored = VIEWS[view]
    if mirrored:
        batch = batch.flip(-1)
    return torch.rot90(batch, turns, dims=(-2, -1)) if turns else batch


@torch.no_grad()
def member_outputs(member: Member, images: np.ndarray, views: int, batch_size: int, embeddings: bool,
                   device: torch.device) -> tuple[np.ndarray, np.ndarray | None]:
    """One run's logits (views x N x K, float32) of uint8 images (N x 3 x S x S), and summed features.

    With `embeddings`, the sum over views of the penultimate-layer features (N x D, float64); else None.
    """
    features: list[torch.Tensor] = []
    hook = None
    if embeddings:
        head = module_at(member.model, head_path(member.model, member.settings["architecture"]))
        hook = head.register_forward_pre_hook(lambda module, inputs: features.append(inputs[0].flatten(1).float()))
    logits = np.empty((views, len(images), member.settings["n_classes"]), dtype=np.float32)
    summed = None
    try:
        for first in range(0, len(images), batch_size):
            batch = torch.from_numpy(np.array(images[first:first + batch_size])).to(device)  # a copy: the store is read-only
            seen = member.views.center(batch)
            for view in range(views):
                features.clear()
                shown = view_of(seen, view)
                if device.type == "cuda":
                    shown = shown.contiguous(memory_format=torch.channels_last)
                with autocast(device, member.settings["mixed_precision"]):
                    out = member.model(shown).float()
                logits[view, first:first + len(batch)] = out.cpu().numpy()
                if embeddings:
                    part = features[0].double().cpu().numpy()
                    if summed is None:
                        summed = np.zeros((len(images), part.shape[1]), dtype=np.float64)
                    summed[first:first + len(batch)] += part
    finally:
        if hook is not None:
            hook.remove()
    return logits, summed


def ensemble_outputs(best_models: Sequence[os.PathLike], images: np.ndarray, class_names: Sequence[str], views: int,
                     batch_size: int, embeddings: bool, device: torch.device
                     ) -> tuple[list[int], np.ndarray, np.ndarray | None]:
    """Runs, logits and features of the images under every run's best weights.

    The logits are runs x views x N x K, float32.

    The features, with `embeddings`: the mean penultimate-layer features over runs and views (N x D, float32).
    """
    runs, logits, summed = [], [], None
    for path in best_models:
        member = load_member(path, class_names, device)
        part, features = member_outputs(member, images, views, batch_size, embeddings, device)
        runs.append(member.run)
        logits.append(part)
        if features is not None:
            summed = features if summed is None else summed + features
        log.info("predict: run classified (run=%s, galaxies=%d, views=%d, weights=%s)", member.run, len(images),
                 views, path)
    mean_features = None if summed is None else (summed / (len(runs) * views)).astype(np.float32)
    return runs, np.stack(logits), mean_features


def summary_table(ids: Sequence[str], logits: np.ndarray, class_names: Sequence[str], runs: Sequence[int],
                  true: np.ndarray | None = None) -> pd.DataFrame:
    """Per galaxy: id, per-class probability, predicted class, entropy, runs and views.

    Each probability has its mean, sd and log-odds.

    Per class the mean probability over runs x views (float64), its sd (population sd over the runs x views; 0
    for one run and one view), and its log-odds log(p / (1 - p)) computed from the logits (never saturated, for
    AUCs and rankings); the predicted class, the predictive entropy (nats) of the mean probabilities, the runs
    and views used, and, for a labelled set, the true class.

    `logits`: runs x views x N x K. Probabilities are softmaxes in float64 of the float32 logits.
    """
    members = logits.reshape(-1, *logits.shape[2:]).astype(np.float64)  # (runs x views) x N x K
    log_p = log_softmax(members, axis=-1)
    p = np.exp(log_p)
    mean, sd = p.mean(axis=0), p.std(axis=0)
    table = pd.DataFrame({"id": list(ids)})
    k = len(class_names)
    for c, name in enumerate(class_names):
        table[f"probability_{name}"] = mean[:, c]
    for c, name in enumerate(class_names):
        table[f"probability_sd_{name}"] = sd[:, c]
    for c, name in enumerate(class_names):
        others = log_p[..., [j for j in range(k) if j != c]]
        table[f"log_odds_{name}"] = logsumexp(log_p[..., c], axis=0) - logsumexp(others, axis=(0, 2))
    predicted = mean.argmax(axis=1)
    table["predicted"] = [class_names[c] for c in predicted]
    table["predicted_index"] = predicted.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["entropy"] = -np.where(mean > 0, mean * np.log(mean), 0.0).sum(axis=1)
    table["runs"] = ",".join(str(r) for r in runs)
    table["views"] = int(logits.shape[1])
    if true is not None:
        table["true"] = np.asarray(true, dtype=np.int64)
        table["true_class"] = [class_names[c] for c in table["true"]]
    return table


def predict_set(name: str, params: Mapping, catalog_path: os.PathLike, store_path: os.PathLike,
                best_models: Sequence[os.PathLike], outputs: Mapping[str, os.PathLike], batch_size: int, device: str,
                threads: int | None = None) -> pd.DataFrame:
    """Classify a set's stored galaxies and write its predictions (and embeddings), each atomically.

    Args:
        name: the set (config key predict.<name>), named in messages.
        params: the prediction rule's params (study.Study.prediction_params): classes, views, embeddings.
        catalog_path: the set's catalog; row i is store row i.
        store_path: the set's array store.
        best_models: the best.pt of every run the set uses.
        outputs: `predictions` and, with embeddings, `embeddings`: where they are written.
        batch_size: galaxies per forward pass (predict.<name>.batch_size).
        device: training.device (auto, cpu, cuda, ...).
        threads: CPU threads torch may use; None: torch's default.

    Returns:
        The predictions table written (summary_table).

    Raises:
        BadData: the store and the catalog differ in rows, or a best.pt is of other classes or diverged.
    """
    from ..data.array_store import open_array_store
    from ..io import atomic_path, write_table
    from ..training.device import choose_device

    if threads:
        torch.set_num_threads(threads)
    chosen = choose_device(device)
    catalog = pd.read_parquet(catalog_path)
    images = open_array_store(store_path)
    if len(images) != len(catalog):
        raise BadData(f"predict.{name}: {store_path} holds {len(images)} images, {catalog_path} {len(catalog)} rows")
    runs, logits, features = ensemble_outputs(best_models, images, params["classes"], params["views"], batch_size,
                                              params["embeddings"], chosen)
    labelled = bool(len(catalog)) and (catalog["class_index"] >= 0).all()
    table = summary_table(catalog["id"].astype(str).tolist(), logits, params["classes"], runs,
                          catalog["class_index"].to_numpy() if labelled else None)
    write_table(table, outputs["predictions"])
    if outputs.get("embeddings") is not None:
        with atomic_path(outputs["embeddings"]) as tmp:
            with open(tmp, "wb") as stream:
                np.savez(stream, ids=np.asarray(table["id"], dtype=str), embeddings=features.astype(np.float16))
    log.info("predict %s: written (galaxies=%d, runs=%s, views=%d, device=%s%s)", name, len(table), runs,
             params["views"], chosen,
             f", accuracy={float((table['predicted_index'] == table['true']).mean()):.4f}" if labelled else "")
    return table
