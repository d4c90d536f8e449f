"""Networks of published galaxy studies that no model library holds, built from their papers' descriptions.

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


class PreActBottleneck(nn.Module):
    """A full pre-activation bottleneck unit (He et al. 2016): BN-ReLU-conv 1x1, BN-ReLU-conv 3x3 (with the
    unit's stride), dropout, BN-ReLU-conv 1x1, added to the shortcut. The shortcut is the input itself, or a
    1x1 convolution of the pre-activated input where the unit changes the width or the resolution."""

    def __init__(self, inputs: int, middle: int, outputs: int, stride: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = nn.BatchNorm2d(inputs), nn.Conv2d(inputs, middle, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(middle)
        self.conv2 = nn.Conv2d(middle, middle, 3, stride=stride, padding=1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.norm3, self.conv3 = nn.BatchNorm2d(middle), nn.Conv2d(middle, outputs, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = (nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False)
                         if stride != 1 or inputs != outputs else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = self.relu(self.norm1(x))
        shortcut = x if self.shortcut is None else self.shortcut(activated)
        out = self.conv1(activated)
        out = self.dropout(self.conv2(self.relu(self.norm2(out))))
        out = self.conv3(self.relu(self.norm3(out)))
        return out + shortcut


class WidePreActResNet(nn.Module):
    """Zhu et al.'s wide pre-activation ResNet: a 6x6 convolution of 64 filters (stride 1), 2x2 max pooling,
    four groups (conv2 ... conv5) of `units` bottleneck units of widths 64k/64k/256k, 128k/128k/512k,
    256k/256k/1024k and 512k/512k/2048k, the last unit of conv2, conv3 and conv4 with stride 2; then BN-ReLU,
    global average pooling and the classifier `fc`. 26 layers with weights at units = 2 (1 + 4 x 2 x 3 + 1).
    He initialisation."""

    GROUP_WIDTHS = (64, 128, 256, 512)

    def __init__(self, num_classes: int = 1000, k: int = 2, units: int = 2, dropout: float = 0.2):
        super().__init__()
        # "same" padding of an even kernel, as TensorFlow pads it: 2 pixels before, 3 after
        self.stem = nn.Sequential(nn.ZeroPad2d((2, 3, 2, 3)), nn.Conv2d(3, 64, 6, bias=False))
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
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stem(x))
        x = self.final(self.conv5(self.conv4(self.conv3(self.conv2(x)))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Maxout(nn.Module):
    """A dense maxout layer: a linear map to pieces x outputs values, the maximum of each group of `pieces`."""

    def __init__(self, inputs: int, outputs: int, pieces: int = 2):
        super().__init__()
        self.linear, self.pieces = nn.Linear(inputs, outputs * pieces), pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).unflatten(1, (-1, self.pieces)).amax(2)


class Dieleman2015(nn.Module):
    """Dieleman, Willett & Dambre (2015)'s network on one view: convolutions of 32 (6x6), 64 (5x5), 128 (3x3)
    and 128 (3x3) filters with ReLU, 2x2 max pooling after the first, second and fourth; two dense maxout
    layers of 2,048 units (two pieces each) with dropout 0.5; the classifier `head`. Seven layers with weights.
    Their rotated and flipped viewpoints are not extracted: Zhu et al. feed it their 64 x 64 views like every
    other network. No padding, as in theirs: a 64-pixel input leaves 8 x 8 x 128 features before the last
    pooling, 4 x 4 after it. That pooling is adaptive (to 4 x 4), so that other input sizes work too; at 64
    pixels it is their 2x2 max pooling."""

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
        return self.head(self.dense(self.features(x)))


NETWORKS = {"wide_preact_resnet26": WidePreActResNet, "dieleman2015": Dieleman2015}


def build_network(name: str) -> nn.Module:
    """One of NETWORKS with a 1,000-class head (models.build_model puts the study's head in its place)."""
    return NETWORKS[name]()
