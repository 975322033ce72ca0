"""ResNet-18 in torchvision's exact layout, with every channel count scaled by ``width`` (chapters 5 and 6).

Introduced in notebook 05-3 (the book's grid detector) and reused by 05-4 (a narrow Faster R-CNN backbone)
and chapter 6 (the U-Net encoder). At ``width=64`` it *is* torchvision's ``resnet18``: the same modules
(``conv1, bn1, relu, maxpool, layer1..layer4, avgpool, fc``), the same parameter names and count
(11,689,512 with 1,000 classes), so ImageNet weights load into it; a narrower width trains on a CPU in
minutes. ``in_channels`` replaces the first convolution's 3 input channels (e.g. 1 for grayscale).
"""

from __future__ import annotations

from typing import Any

from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

from book_utils._validate import require_int

STAGE_CHANNELS = (64, 128, 256, 512)  # torchvision's resnet18 at width 64


class ResNet18(ResNet):
    """torchvision's ResNet-18 with channel counts ``c * width // 64`` (``width=64``: the original)."""

    def __init__(self, num_classes: int = 1000, width: int = 64, in_channels: int = 3) -> None:
        super().__init__(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)
        width = require_int("width", width, 1)
        require_int("in_channels", in_channels, 1)
        self.width = width
        if width == 64 and in_channels == 3:
            return
        chans = [max(1, c * width // 64) for c in STAGE_CHANNELS]
        self.inplanes = chans[0]  # what torchvision's _make_layer reads as the input width
        self.conv1 = nn.Conv2d(in_channels, chans[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(chans[0])
        self.layer1 = self._make_layer(BasicBlock, chans[0], 2)
        self.layer2 = self._make_layer(BasicBlock, chans[1], 2, stride=2)
        self.layer3 = self._make_layer(BasicBlock, chans[2], 2, stride=2)
        self.layer4 = self._make_layer(BasicBlock, chans[3], 2, stride=2)
        self.fc = nn.Linear(chans[3], num_classes)
        for m in self.modules():  # torchvision's initialisation, for the rebuilt layers
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    @property
    def out_channels(self) -> int:
        """Channels of the last stage (512 at width 64): the input size of ``fc``."""
        return self.fc.in_features


def resnet18(num_classes: int = 1000, width: int = 64, in_channels: int = 3, weights: Any = None) -> ResNet18:
    """A :class:`ResNet18`; ``weights`` (a torchvision ``ResNet18_Weights`` or ``"DEFAULT"``) loads ImageNet
    weights, which needs width 64, 3 input channels and a download (or torchvision's cache)."""
    model = ResNet18(1000 if weights is not None else num_classes, width, in_channels)
    if weights is None:
        return model
    if width != 64 or in_channels != 3:
        raise ValueError("ImageNet weights exist only for width=64 and in_channels=3")
    from torchvision.models import ResNet18_Weights

    chosen = ResNet18_Weights.verify(weights)
    model.load_state_dict(chosen.get_state_dict(progress=True))
    if num_classes != 1000:
        model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model
