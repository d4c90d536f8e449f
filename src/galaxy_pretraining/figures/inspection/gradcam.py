"""Grad-CAM maps of a trained model's test galaxies, with the `grad-cam` package (pytorch_grad_cam).

For each class, the first k galaxies (in catalog order) of a run's test set;
for each, the network's input (its deterministic evaluation view), the Grad-CAM
heatmap of the galaxy's true class at the layer the architecture registry
declares (`gradcam_layer`), and the heatmap laid over the image. The model is
the run's best epoch (`best.pt`). Fu shows such maps for every frozen share.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...data.array_store import read_rows
from ...models.build import build_model, gradcam_layer_path, module_at
from ...training.views import Views


class GradCamError(ValueError):
    """A model, run or class that cannot be explained; the message says which."""


@dataclass
class GradCamMaps:
    """One figure's worth: the galaxies shown and, per galaxy, its image and heatmap.

    The image is H x W x 3 and the heatmap H x W, both in 0-1.
    """

    galaxies: pd.DataFrame  # row (of the store), true, predicted, class_name
    images: np.ndarray
    heatmaps: np.ndarray


def target_layer(model: nn.Module, architecture_name: str) -> nn.Module:
    """The module whose output Grad-CAM explains, as the architecture registry declares it."""
    layer = gradcam_layer_path(model, architecture_name)
    if layer is None:
        raise GradCamError(f"{architecture_name} declares no Grad-CAM layer (models/registry.py: gradcam_layer)")
    return module_at(model, layer)


def load_best_model(path: os.PathLike) -> tuple[nn.Module, dict, list[str]]:
    """A run's best model (best.pt), its settings and class names; in eval mode on the CPU."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    settings = saved["settings"]
    model = build_model(settings["architecture"], settings["n_classes"])
    model.load_state_dict(saved["model"])
    return model.eval(), settings, list(saved["class_names"])


def choose_galaxies(predictions: pd.DataFrame, class_names: Sequence[str], per_class: int) -> pd.DataFrame:
    """The first `per_class` test galaxies of every class (by store row).

    A class the test set lacks (a rare class in a small sample) has none; an empty test set is an error.
    """
    if predictions.empty:
        raise GradCamError("the run's test set is empty: there is no galaxy to explain")
    ordered = predictions.sort_values("row")
    chosen = [ordered[ordered["true"] == index].head(per_class).assign(class_name=name)
              for index, name in enumerate(class_names)]
    return pd.concat(chosen, ignore_index=True)[["row", "true", "predicted", "class_name"]]


def missing_classes(galaxies: pd.DataFrame, class_names: Sequence[str]) -> list[str]:
    return [name for name in class_names if name not in set(galaxies["class_name"])]


def check_map_size(model: nn.Module, layer: nn.Module, batch: torch.Tensor, architecture_name: str) -> None:
    """Refuse a layer whose map is a single pixel at this input size: its Grad-CAM would be constant."""
    shapes = []
    hook = layer.register_forward_hook(lambda module, inputs, output: shapes.append(tuple(output.shape[-2:])))
    try:
        with torch.no_grad():
            model(batch)
    finally:
        hook.remove()
    if shapes and shapes[0][0] * shapes[0][1] < 2:
        raise GradCamError(
            f"{architecture_name}'s Grad-CAM layer maps a {batch.shape[-1]} px crop to {shapes[0][0]}x{shapes[0][1]} "
            "pixel: the heatmap could only be constant. Use a larger training.crop_size (or set gradcam: null)")


def heatmaps(model: nn.Module, layer: nn.Module, batch: torch.Tensor, targets: Sequence[int]) -> np.ndarray:
    """Grad-CAM of each image's target class at `layer`: N x H x W in 0-1 (pytorch_grad_cam's GradCAM)."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    with GradCAM(model=model, target_layers=[layer]) as cam:
        return cam(input_tensor=batch, targets=[ClassifierOutputTarget(int(t)) for t in targets])


def gradcam_maps(best_model: os.PathLike, store: os.PathLike, predictions: os.PathLike,
                 per_class: int) -> tuple[GradCamMaps, list[str]]:
    """The Grad-CAM maps of a run's best model for `per_class` test galaxies of each class.

    Also returns the model's class names.
    """
    model, settings, class_names = load_best_model(best_model)
    galaxies = choose_galaxies(pd.read_parquet(predictions), class_names, per_class)
    images = torch.from_numpy(read_rows(store, galaxies["row"].to_numpy()))
    views = Views.from_settings(settings)
    batch = views.center(images)  # what the network sees at evaluation, without the draws of `paper`
    layer = target_layer(model, settings["architecture"])
    check_map_size(model, layer, batch[:1], settings["architecture"])
    maps = heatmaps(model, layer, batch, galaxies["true"].tolist())
    return GradCamMaps(galaxies, views.displayable(batch), maps), class_names


def draw(maps: GradCamMaps, class_names: Sequence[str], title: str):
    """Grad-CAM of the chosen galaxies: one column per class, three rows per galaxy.

    Per galaxy three rows: the image (titled with what the network said), its Grad-CAM heatmap and the two laid over
    each other. A class with no test galaxy keeps an empty column.
    """
    from pytorch_grad_cam.utils.image import show_cam_on_image

    from .._plotting import blank, plt

    per_class = int(maps.galaxies.groupby("class_name").size().max())
    figure, axes = plt.subplots(3 * per_class, len(class_names), squeeze=False,
                                figsize=(1.05 * len(class_names) + 0.5, 3.3 * per_class + 0.6))
    blank(axes)
    for column, name in enumerate(class_names):
        axes[0][column].set_title(name.replace("_", " "), fontsize=6, pad=12)
        shown = maps.galaxies.index[maps.galaxies["class_name"] == name]
        if len(shown) == 0:
            axes[0][column].text(0.5, 0.5, "no test\ngalaxy", ha="center", va="center", fontsize=6,
                                 transform=axes[0][column].transAxes)
        for k, i in enumerate(shown):
            galaxy = maps.galaxies.loc[i]
            overlay = show_cam_on_image(maps.images[i].astype(np.float32), maps.heatmaps[i], use_rgb=True)
            image_ax, heat_ax, overlay_ax = axes[3 * k][column], axes[3 * k + 1][column], axes[3 * k + 2][column]
            image_ax.imshow(maps.images[i])
            heat_ax.imshow(maps.heatmaps[i], cmap="jet", vmin=0, vmax=1)
            overlay_ax.imshow(overlay)
            said = class_names[int(galaxy["predicted"])].replace("_", " ")
            image_ax.text(0.5, 1.02, f"said: {said}", fontsize=4.5, ha="center", va="bottom",
                          transform=image_ax.transAxes, color="black" if said == name.replace("_", " ") else "red")
    for k in range(per_class):
        for offset, label in enumerate(("galaxy", "Grad-CAM", "overlay")):
            axes[3 * k + offset][0].set_ylabel(label, fontsize=6)
    missing = missing_classes(maps.galaxies, class_names)
    figure.suptitle(title + (f" (no test galaxy of {', '.join(missing)})" if missing else ""), fontsize=8)
    figure.tight_layout()
    return figure


def render(best_model: os.PathLike, store: os.PathLike, predictions: os.PathLike, per_class: int, title: str,
           outputs: Sequence[os.PathLike]) -> None:
    """The Grad-CAM figure of one model and run, saved (atomically) to every output (PNG, PDF)."""
    from .._plotting import save

    maps, class_names = gradcam_maps(best_model, store, predictions, per_class)
    save(draw(maps, class_names, title), outputs)
