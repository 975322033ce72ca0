"""The book's ``ResNet18Unet`` (§6.2): a ResNet-18 encoder, "conv + transposed conv + conv" decoder blocks and
skip connections by concatenation; segmentation (06-1) and super-resolution (06-4) share it.

Introduced in notebook 06-1. ``width`` scales every channel count (64: the book's network, 15,348,610
parameters with 2 classes), ``in_channels`` the input (1 for the Y channel in super-resolution), and
``weights`` loads torchvision's ImageNet ResNet-18 into the encoder (width 64, 3 channels, needs a download).
Inputs must have sides divisible by 32; the output has the input's size and ``num_classes`` channels.
``DecoderBlock``'s 3×3 stride-2 transposed convolution is the book's; chapter 6.2 shows its checkerboard.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from book_utils._validate import require_int
from book_utils.models.resnet import resnet18


class DecoderBlock(nn.Module):
    """Conv-BN-ReLU to ``in/4`` channels, a 3×3 stride-2 transposed conv (×2 up-sampling), conv to ``out``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        mid = max(1, in_channels // 4)
        pad = kernel_size // 2
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, mid, kernel_size, padding=pad, bias=False), nn.BatchNorm2d(mid), nn.ReLU(True),
            nn.ConvTranspose2d(mid, mid, 3, stride=2, padding=1, output_padding=1, bias=False), nn.BatchNorm2d(mid),
            nn.ReLU(True),
            nn.Conv2d(mid, out_channels, kernel_size, padding=pad, bias=False), nn.BatchNorm2d(out_channels),
            nn.ReLU(True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class ResNet18Unet(nn.Module):
    """The book's U-Net on a (width-scaled) ResNet-18, with its module names (``firstconv`` ... ``finalconv``).

    ``dropout``: the book's ``Dropout2d(0.1)`` before the last 1×1 convolution (06-4 turns it off).
    """

    def __init__(self, num_classes: int = 2, width: int = 64, in_channels: int = 3, weights: Any = None,
                 dropout: float = 0.1) -> None:
        super().__init__()
        require_int("num_classes", num_classes, 1)
        base = resnet18(width=width, weights=weights)  # not kept as an attribute (as the book): saved once
        if in_channels != 3:
            base.conv1 = nn.Conv2d(in_channels, base.conv1.out_channels, 7, stride=2, padding=3, bias=False)
        c = [base.layer1[-1].conv2.out_channels, base.layer2[-1].conv2.out_channels,
             base.layer3[-1].conv2.out_channels, base.layer4[-1].conv2.out_channels]
        stem = base.conv1.out_channels
        self.firstconv, self.firstbn, self.firstrelu, self.firstmaxpool = base.conv1, base.bn1, base.relu, base.maxpool
        self.encoder1, self.encoder2, self.encoder3, self.encoder4 = base.layer1, base.layer2, base.layer3, base.layer4
        self.center = DecoderBlock(c[3], c[3])
        self.decoder4 = DecoderBlock(c[3] + c[2], c[2])
        self.decoder3 = DecoderBlock(c[2] + c[1], c[1])
        self.decoder2 = DecoderBlock(c[1] + c[0], c[0])
        self.decoder1 = DecoderBlock(c[0] + stem, c[0])
        half = max(1, c[0] // 2)
        self.finalconv = nn.Sequential(
            nn.Conv2d(c[0], half, 3, padding=1, bias=False), nn.BatchNorm2d(half), nn.ReLU(True),
            nn.Dropout2d(dropout, False), nn.Conv2d(half, num_classes, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f"ResNet18Unet needs sides divisible by 32, got {tuple(x.shape[-2:])}")
        x = self.firstrelu(self.firstbn(self.firstconv(x)))
        e1 = self.encoder1(self.firstmaxpool(x))
        e2 = self.encoder2(e1)
        e3 = self.encoder3(e2)
        e4 = self.encoder4(e3)
        d4 = self.decoder4(torch.cat([self.center(e4), e3], 1))
        d3 = self.decoder3(torch.cat([d4, e2], 1))
        d2 = self.decoder2(torch.cat([d3, e1], 1))
        d1 = self.decoder1(torch.cat([d2, x], 1))
        return self.finalconv(d1)
