"""Networks of published galaxy studies that no model library holds.

Each is built from its paper's description.

`wide_preact_resnet26`: Zhu et al. (2019, Ap&SS 364:55), Table 3, and their
public code (github.com/Adaydl/GalaxyClassification, GalaxyNet/resnet_v2.py).
`dieleman2015`: the convolutional network of Dieleman, Willett & Dambre (2015)
as Zhu et al. compare it, on one 64 x 64 view. Neither has pretrained weights.
The architecture registry (registry.py, source `galaxy_pretraining`)
names them; build.py builds them by name.
"""

from __future__ import annotations

import torch
from torch import nn


def _he_fan_in(weight: torch.Tensor) -> None:
    """He initialisation with the variance of TF-slim's variance_scaling_initializer() (factor 2, fan in).

    A normal of sd sqrt(2 / fan_in). TF-slim draws sd sqrt(1.3 x 2 / fan_in) truncated at 2 sd, whose variance is
    the same 2 / fan_in; the truncation is not reproduced (it costs ten times the build time on a CPU).
    """
    nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")


class PreActBottleneck(nn.Module):
    """A full pre-activation bottleneck unit, as Zhu et al.'s code builds it (TF-slim's resnet_v2).

    A full pre-activation bottleneck unit, as Zhu et al.'s code builds it (TF-slim's resnet_v2 `bottleneck`,
    GalaxyNet/resnet_v2.py): BN-ReLU of the input ("preact"); the residual conv 1x1 -> BN-ReLU -> conv 3x3 (with the
    unit's stride) -> BN-ReLU -> dropout -> conv 1x1 (with a bias, no BN); added to the shortcut. The shortcut is a
    1x1 convolution (with a bias, the unit's stride) of the pre-activated input where the unit changes the width,
    else the input itself subsampled by the stride (their `subsample`: a 1x1 max pool).
    """

    def __init__(self, inputs: int, middle: int, outputs: int, stride: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = nn.BatchNorm2d(inputs), nn.Conv2d(inputs, middle, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(middle)
        self.conv2 = nn.Conv2d(middle, middle, 3, stride=stride, padding=1, bias=False)
        self.norm3, self.conv3 = nn.BatchNorm2d(middle), nn.Conv2d(middle, outputs, 1, bias=True)
        self.dropout = nn.Dropout(dropout)
        self.relu = nn.ReLU(inplace=True)
        self.stride = stride
        self.shortcut = nn.Conv2d(inputs, outputs, 1, stride=stride, bias=True) if inputs != outputs else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (or features) of the batch `x`."""
        activated = self.relu(self.norm1(x))
        shortcut = x[:, :, ::self.stride, ::self.stride] if self.shortcut is None else self.shortcut(activated)
        out = self.conv1(activated)
        out = self.relu(self.norm3(self.conv2(self.relu(self.norm2(out)))))
        return self.conv3(self.dropout(out)) + shortcut


class WidePreActResNet(nn.Module):
    """Zhu et al.'s wide pre-activation ResNet (`resnet_v2_26_2`), as their code builds it.

    Zhu et al.'s wide pre-activation ResNet, as their code builds it (`resnet_v2_26_2` in GalaxyNet/resnet_v2.py of
    github.com/Adaydl/GalaxyClassification; the paper's Table 3): a 6x6 convolution of 64 filters (stride 1,
    TensorFlow's "same" padding, a bias, no BN or activation), 2x2 max pooling; four groups (conv2 ... conv5) of
    `units` bottleneck units (PreActBottleneck) of widths (middle, output) 64k/256k, 128k/512k, 256k/1024k and
    512k/2048k, the last unit of conv2, conv3 and conv4 with stride 2; then BN-ReLU, the global mean and the
    classifier `fc` (their logits: a 1x1 convolution with a bias, i.e. a dense layer). 26 layers with weights at
    units = 2 (1 + 4 x 2 x 3 + 1), besides the four 1x1 shortcut projections. Weights with the variance of TF-slim's
    variance_scaling_initializer (_he_fan_in), biases 0, BN scale 1 and offset 0 (their resnet_arg_scope: BN with
    scale, epsilon 1e-5).

    `dropout`: the probability of dropping a unit after each 3x3 (the paper prints "0.8"; their code keeps
    every unit). Input: N x 3 x H x W floats; output: N x num_classes logits.
    """

    GROUP_WIDTHS = (64, 128, 256, 512)

    def __init__(self, num_classes: int = 1000, k: int = 2, units: int = 2, dropout: float = 0.0):
        super().__init__()
        # "same" padding of an even kernel, as TensorFlow pads it: 2 pixels before, 3 after
        self.stem = nn.Sequential(nn.ZeroPad2d((2, 3, 2, 3)), nn.Conv2d(3, 64, 6, bias=True))
        self.pool = nn.MaxPool2d(2)
        inputs, groups = 64, []
        for g, width in enumerate(self.GROUP_WIDTHS):
            blocks = []
            for u in range(units):
                stride = 2 if u == units - 1 and g < len(self.GROUP_WIDTHS) - 1 else 1
                blocks.append(PreActBottleneck(inputs, width * k, 4 * width * k, stride, dropout))
                inputs = 4 * width * k
            groups.append(nn.Sequential(*blocks))
        self.conv2, self.conv3, self.conv4, self.conv5 = groups
        self.final = nn.Sequential(nn.BatchNorm2d(inputs), nn.ReLU(inplace=True))
        self.fc = nn.Linear(inputs, num_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                _he_fan_in(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (or features) of the batch `x`."""
        x = self.pool(self.stem(x))
        x = self.final(self.conv5(self.conv4(self.conv3(self.conv2(x)))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Maxout(nn.Module):
    """A dense maxout layer.

    A linear map to pieces x outputs values, then the maximum of each group of `pieces`.
    """

    def __init__(self, inputs: int, outputs: int, pieces: int = 2):
        super().__init__()
        self.linear, self.pieces = nn.Linear(inputs, outputs * pieces), pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (or features) of the batch `x`."""
        return self.linear(x).unflatten(1, (-1, self.pieces)).amax(2)


class Dieleman2015(nn.Module):
    """Dieleman, Willett & Dambre (2015)'s network on one view.

    Convolutions of 32 (6x6), 64 (5x5), 128 (3x3) and 128 (3x3) filters with ReLU, 2x2 max pooling after the first,
    second and fourth; two dense maxout layers of 2,048 units (two pieces each) with dropout 0.5; the classifier
    `head`. Seven layers with weights. Their rotated and flipped viewpoints are not extracted: Zhu et al. feed it
    their 64 x 64 views like every other network. No padding, as in theirs: a 64-pixel input leaves 8 x 8 x 128
    features before the last pooling, 4 x 4 after it. That pooling is adaptive (to 4 x 4), so that other input sizes
    work too; at 64 pixels it is their 2x2 max pooling.
    """

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        relu = nn.ReLU
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 6), relu(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5), relu(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3), relu(),
            nn.Conv2d(128, 128, 3), relu(), nn.AdaptiveMaxPool2d(4),
        )
        self.dense = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), Maxout(128 * 4 * 4, 2048), nn.Dropout(0.5),
                                   Maxout(2048, 2048), nn.Dropout(0.5))
        self.head = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (or features) of the batch `x`."""
        return self.head(self.dense(self.features(x)))


NETWORKS = {"wide_preact_resnet26": WidePreActResNet, "dieleman2015": Dieleman2015}


def build_network(name: str, dropout: float | None = None) -> nn.Module:
    """One of NETWORKS with a 1,000-class head (models.build_model puts the study's head in its place).

    `dropout` (models.<name>.dropout; wide_preact_resnet26 only): the probability of dropping a unit after each
    3x3; None: none. Raises ValueError for a dropout on a network without that option.
    """
    if dropout is None:
        return NETWORKS[name]()
    if name != "wide_preact_resnet26":
        raise ValueError(f"{name} has no dropout option (only wide_preact_resnet26 has)")
    return NETWORKS[name](dropout=dropout)
