"""Partial fine-tuning (models.<name>.frozen_share).

The layers below a network's head, counted from the input, and keeping the first share of them at their pretrained
weights.
"""

from __future__ import annotations

from torch import nn

from .build import head_path


def layers(model: nn.Module, architecture_name: str) -> list[tuple[str, nn.Module]]:
    """The network's layers below its head, from the input side: what `frozen_share` counts.

    A layer is a module that holds parameters of its own: a convolution, a
    batch norm, a linear layer (and, in a vision transformer, the encoder with
    its position embedding and the network itself with its class token). They
    come in the order the modules are registered, which for every registry
    architecture is the order of the forward pass (a ResNet's shortcut
    projection counts after its block's main path; a vision transformer's
    class token, held by the network itself, counts first). The head is not
    counted.
    Parameter-free modules (activations, pooling, dropout) are not layers.
    """
    head = head_path(model, architecture_name)
    found = []
    for name, module in model.named_modules():
        if name == head or name.startswith(head + "."):
            continue
        if any(True for _ in module.parameters(recurse=False)):
            found.append((name, module))
    return found


def frozen_layer_count(n_layers: int, frozen_share: float) -> int:
    """How many of n layers a share freezes: the nearest whole number, halves rounded up."""
    if not 0.0 <= frozen_share <= 1.0:
        raise ValueError(f"frozen_share must lie in [0, 1], not {frozen_share}")
    return min(n_layers, int(frozen_share * n_layers + 0.5))


def freeze_layers(model: nn.Module, architecture_name: str, frozen_share: float) -> list[str]:
    """Keep the first `frozen_share` of the layers (see `layers`) at their weights; returns their names.

    Their parameters stop needing gradients, so the optimiser is given only the
    others. A frozen batch norm also keeps its running statistics: training
    puts it in eval mode (`hold_frozen_batch_norms`), as Keras does with a
    batch norm that is not trainable; so 1.0 trains the new head on the
    ImageNet features exactly as they are.
    """
    found = layers(model, architecture_name)
    frozen = found[: frozen_layer_count(len(found), frozen_share)]
    for _, module in frozen:
        for parameter in module.parameters(recurse=False):
            parameter.requires_grad_(False)
    return [name for name, _ in frozen]


def hold_frozen_batch_norms(model: nn.Module) -> None:
    """Put every batch norm whose parameters are all frozen in eval mode (call after model.train())."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            own = list(module.parameters(recurse=False))
            if own and not any(p.requires_grad for p in own):
                module.eval()


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters that still need gradients: those `freeze_layers` left trainable.

    The optimiser gets these.
    """
    return [p for p in model.parameters() if p.requires_grad]
