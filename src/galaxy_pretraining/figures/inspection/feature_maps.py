"""What a trained network's layers see.

Its first layer's filters, and one galaxy's feature maps layer by layer.

Zhu et al. (2019, Figs. 10-13) show both for their network. Here, for each
model, from its best epoch (`best.pt`) of one run:

- `first_layer_filters`: the kernels of the first convolution the input goes
  through, each stretched to 0-1 on its own (as colour where it reads three
  channels);
- `feature_maps`: one test galaxy as the network sees it (its evaluation
  view), and at each chosen layer the maps of its most active channels (the
  largest mean absolute response for this galaxy), each stretched on its own
  (one-pixel maps, as at the end of a network, against each other).

The layers are found by running the galaxy through the network: `layers` is
either a number of convolutions spread evenly from the first to the last
one run (in the order they run), or a list of module paths (as in
`model.named_modules()`, e.g. `features.3`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...data.array_store import read_rows
from ...training.views import Views
from .gradcam import load_best_model

MAX_FILTERS = 64  # the first layer's filters drawn at most (AlexNet's 64 all fit; wider stems show their first 64)
FILTER_COLUMNS = 8


class FeatureMapError(ValueError):
    """A layer, class or run that cannot be drawn; the message says which."""


@dataclass
class LayerMaps:
    """One layer's output for the galaxy: its module path and maps (C x H x W).

    Kept in the order the layers ran.
    """

    name: str
    maps: np.ndarray


def outputs_in_order(model: nn.Module, batch: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
    """The output of each named module for `batch`, in the order the modules first ran.

    The output of each named module for `batch`, in the order the modules first ran (one that did not run is absent;
    a module run twice keeps its first output).
    """
    modules = dict(model.named_modules())
    outputs: dict[str, torch.Tensor] = {}

    def keep(name):
        def hook(module, inputs, output):
            outputs.setdefault(name, output.detach() if isinstance(output, torch.Tensor) else output)
        return hook

    hooks = [modules[name].register_forward_hook(keep(name)) for name in names]
    try:
        with torch.no_grad():
            model(batch)
    finally:
        for hook in hooks:
            hook.remove()
    return outputs


def convolutions_in_order(model: nn.Module, batch: torch.Tensor) -> list[str]:
    """The module paths of the convolutions `batch` runs through, in the order they run."""
    convolutions = [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    order = list(outputs_in_order(model, batch, convolutions))
    if not order:
        raise FeatureMapError(f"{type(model).__name__} runs no convolution: there are no filters or maps to draw")
    return order


def spread(names: Sequence[str], count: int) -> list[str]:
    """`count` of `names` evenly spaced from the first to the last (all of them when there are fewer)."""
    if count >= len(names):
        return list(names)
    if count == 1:
        return [names[0]]
    return [names[round(i * (len(names) - 1) / (count - 1))] for i in range(count)]


def chosen_layers(model: nn.Module, convolutions: Sequence[str], layers: int | Sequence[str]) -> list[str]:
    """The layers to draw: `layers` of the input's convolutions, spread, or the named modules.

    `layers` of the `convolutions` the input runs through (convolutions_in_order), spread, or the named modules.
    """
    if isinstance(layers, int):
        return spread(convolutions, layers)
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise FeatureMapError(
            f"feature_maps.layers: {type(model).__name__} has no module {', '.join(map(repr, unknown))}; its "
            f"convolutions are {', '.join(spread(convolutions, 6))} ({len(convolutions)} in all)")
    return list(layers)


def layer_outputs(model: nn.Module, batch: torch.Tensor, names: Sequence[str]) -> list[LayerMaps]:
    """The maps each named module gives a batch of one galaxy.

    An output that is not a stack of maps is an error.
    """
    outputs = outputs_in_order(model, batch, names)
    result = []
    for name in names:
        if name not in outputs:
            raise FeatureMapError(f"feature_maps.layers: module {name!r} does not run on the galaxy's way through")
        output = outputs[name]
        if not isinstance(output, torch.Tensor) or output.dim() != 4:
            shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise FeatureMapError(f"feature_maps.layers: module {name!r} gives {shape}, not maps (N x C x H x W)")
        result.append(LayerMaps(name, output[0].float().numpy()))
    return result


def strongest_channels(maps: np.ndarray, count: int) -> np.ndarray:
    """The `count` channels of C x H x W maps with the largest mean absolute response, strongest first."""
    strength = np.abs(maps).mean(axis=(1, 2))
    return np.argsort(-strength, kind="stable")[:count]


def stretch(values: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Each slice along the other axes stretched to 0-1 over `axes` (a constant one to 0)."""
    low = values.min(axis=axes, keepdims=True)
    span = values.max(axis=axes, keepdims=True) - low
    return np.where(span > 0, (values - low) / np.where(span > 0, span, 1), 0.0)


def map_pictures(maps: np.ndarray, count: int) -> np.ndarray:
    """The `count` strongest of C x H x W maps, each stretched to 0-1 on its own.

    One-pixel maps (the end of a network), which would all be flat so, are stretched against each other.
    """
    chosen = maps[strongest_channels(maps, count)]
    return stretch(chosen, (0, 1, 2) if chosen.shape[1] * chosen.shape[2] == 1 else (1, 2))


def filter_images(kernels: np.ndarray) -> np.ndarray:
    """Kernels (out x in x kh x kw) as pictures.

    Kh x kw x 3 colour where they read three channels, else the mean over their input channels in grey (kh x kw);
    each stretched on its own.
    """
    if kernels.shape[1] == 3:
        return stretch(kernels.transpose(0, 2, 3, 1), (1, 2, 3))
    return stretch(kernels.mean(axis=1), (1, 2))


def choose_galaxy(predictions: pd.DataFrame, class_names: Sequence[str], class_name: str | None) -> pd.Series:
    """The run's first test galaxy (by store row), of `class_name` when given."""
    galaxies = predictions.sort_values("row")
    if class_name is not None:
        if class_name not in class_names:
            raise FeatureMapError(f"feature_maps.class_name: {class_name!r} is not one of the classes {list(class_names)}")
        galaxies = galaxies[galaxies["true"] == list(class_names).index(class_name)]
    if galaxies.empty:
        raise FeatureMapError("the run's test set has no galaxy" + (f" of class {class_name}" if class_name else ""))
    return galaxies.iloc[0]


@dataclass
class NetworkView:
    """Everything the two figures draw."""

    galaxy: pd.Series  # row, true, predicted
    class_names: list[str]
    image: np.ndarray  # the network's input, H x W x 3 in 0-1
    first_layer: str
    kernels: np.ndarray  # the first layer's, out x in x kh x kw
    layers: list[LayerMaps]


def network_view(best_model: os.PathLike, store: os.PathLike, predictions: os.PathLike,
                 layers: int | Sequence[str], class_name: str | None = None) -> NetworkView:
    """A run's best model, its first layer's kernels and one test galaxy's maps at the chosen layers."""
    model, settings, class_names = load_best_model(best_model)
    galaxy = choose_galaxy(pd.read_parquet(predictions), class_names, class_name)
    image = torch.from_numpy(read_rows(store, np.array([int(galaxy["row"])])))
    views = Views.from_settings(settings)
    batch = views.center(image)
    convolutions = convolutions_in_order(model, batch)  # the one pass that finds them, in the order they run
    kernels = dict(model.named_modules())[convolutions[0]].weight.detach().float().numpy()
    maps = layer_outputs(model, batch, chosen_layers(model, convolutions, layers))
    return NetworkView(galaxy, class_names, views.displayable(batch)[0], convolutions[0],
                       kernels, maps)


def draw_filters(view: NetworkView, title: str):
    """The first layer's kernels in a grid, FILTER_COLUMNS to a row."""
    from .._plotting import blank, plt

    shown = filter_images(view.kernels[:MAX_FILTERS])
    rows = -(-len(shown) // FILTER_COLUMNS)
    figure, axes = plt.subplots(rows, FILTER_COLUMNS, squeeze=False, figsize=(FILTER_COLUMNS * 0.6, rows * 0.6 + 0.6))
    blank(axes)
    for ax, picture in zip(axes.flat, shown):
        ax.imshow(picture, cmap="gray", interpolation="nearest")
    out, channels, kh, kw = view.kernels.shape
    count = f"{len(shown)} of {out}" if len(shown) < out else f"{out}"
    figure.suptitle(f"{title}: {count} filters of {view.first_layer} ({channels} channels, {kh}x{kw})", fontsize=7)
    figure.tight_layout()
    return figure


def draw_maps(view: NetworkView, title: str, maps_per_layer: int):
    """The galaxy as the network sees it, then per layer (a row) its strongest maps."""
    from .._plotting import blank, plt

    columns = maps_per_layer + 1
    figure, axes = plt.subplots(len(view.layers), columns, squeeze=False,
                                figsize=(columns * 0.9, len(view.layers) * 0.95 + 0.6))
    blank(axes)
    axes[0][0].imshow(view.image)
    true, said = (view.class_names[int(view.galaxy[key])] for key in ("true", "predicted"))
    axes[0][0].set_title(f"{true}\nsaid: {said}", fontsize=5, color="black" if true == said else "red")
    for row, layer in enumerate(view.layers):
        channels, height, width = layer.maps.shape
        shown = map_pictures(layer.maps, maps_per_layer)
        single = height * width == 1
        axes[row][1].set_title(f"{layer.name}: {channels}x{height}x{width}" + (" (shaded against each other)"
                                                                               if single else ""),
                               fontsize=5, loc="left")
        for column, picture in enumerate(shown, start=1):
            axes[row][column].imshow(picture, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    figure.suptitle(f"{title}: the galaxy of store row {int(view.galaxy['row'])}, its {maps_per_layer} strongest "
                    "maps per layer", fontsize=7)
    figure.tight_layout()
    return figure


def render(best_model: os.PathLike, store: os.PathLike, predictions: os.PathLike, options: Mapping, title: str,
           filters_outputs: Sequence[os.PathLike], maps_outputs: Sequence[os.PathLike]) -> None:
    """Both figures of one model and run, each saved (atomically) to its outputs (PNG, PDF)."""
    from .._plotting import save

    view = network_view(best_model, store, predictions, options["layers"], options["class_name"])
    save(draw_filters(view, title), filters_outputs)
    save(draw_maps(view, title, options["maps_per_layer"]), maps_outputs)
