"""CIFAR-sized CNNs from chapter 4 (VGG-11 with BatchNorm, ResNet-18) and their transforms.

Introduced in notebook 04-1 (book §4.1.3) and reused by 04-2 to 04-6 and chapter 10. ``width`` scales
every channel count (64 is the book's size) so that a CPU can train a narrow copy of the same architecture
in minutes.

Both models expose the same parts, which is what CAM/Grad-CAM and fine-tuning need:

* ``model.features``: every conv layer; its output is the last convolutional feature map
  (ResNet: C×4×4 for a 32×32 input, VGG: C×2×2);
* ``model.pool``: global average pooling (ResNet) or the last 2×2 max-pool (VGG), then ``model.flatten``;
* the final linear layer: ``model.fc`` (ResNet) or ``model.classifier`` (VGG), also readable as
  ``model.head`` for both. Replace it by assigning to ``fc``/``classifier``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from book_utils._validate import require_choice, require_int

ARCHS = ("vgg11", "resnet18")
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
VGG11_CFG: tuple[int | str, ...] = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


def _channels(c: int, width: int) -> int:
    """Scale a channel count given for width 64 (the book's models) to ``width``."""
    return max(1, c * width // 64)


class VGGCifar(nn.Module):
    """VGG with BatchNorm for 32×32 inputs (book §4.1.3): conv-BN-ReLU blocks, five 2×2 max-pools, one linear."""

    def __init__(
        self, cfg: tuple[int | str, ...] = VGG11_CFG, num_classes: int = 10, width: int = 64
    ) -> None:
        super().__init__()
        require_int("num_classes", num_classes, 1)
        require_int("width", width, 1)
        if not cfg or cfg[-1] != "M":
            raise ValueError("the VGG configuration must end with 'M' (the last pooling step)")
        layers: list[nn.Module] = []
        in_ch = 3
        for item in cfg[:-1]:  # the last "M" is kept apart as self.pool so that features ends at a conv map
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                out_ch = _channels(int(item), width)
                layers += [
                    nn.Conv2d(in_ch, out_ch, 3, padding=1),
                    nn.BatchNorm2d(out_ch),
                    nn.ReLU(inplace=True),
                ]
                in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(in_ch, num_classes)

    @property
    def head(self) -> nn.Module:
        """The final linear layer (``classifier``)."""
        return self.classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.flatten(self.pool(self.features(x))))


class BasicBlock(nn.Module):
    """ResNet basic block: two 3×3 conv-BN layers plus a shortcut (a 1×1 conv-BN when the shape changes)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNetCifar(nn.Module):
    """ResNet for 32×32 inputs (book §4.1.3): 3×3 stem without max-pool, four stages, global average pooling."""

    def __init__(
        self, num_blocks: tuple[int, ...] = (2, 2, 2, 2), num_classes: int = 10, width: int = 64
    ) -> None:
        super().__init__()
        require_int("num_classes", num_classes, 1)
        require_int("width", width, 1)
        if not num_blocks or any(require_int("blocks per stage", n, 1) < 1 for n in num_blocks):
            raise ValueError(f"num_blocks needs at least one stage, got {num_blocks!r}")
        stem_ch = _channels(64, width)
        parts: list[tuple[str, nn.Module]] = [
            (
                "stem",
                nn.Sequential(
                    nn.Conv2d(3, stem_ch, 3, padding=1, bias=False),
                    nn.BatchNorm2d(stem_ch),
                    nn.ReLU(inplace=True),
                ),
            )
        ]
        in_ch = stem_ch
        for i, n in enumerate(num_blocks):
            out_ch = _channels(64 * 2**i, width)
            blocks = [
                BasicBlock(in_ch if j == 0 else out_ch, out_ch, (1 if i == 0 else 2) if j == 0 else 1)
                for j in range(n)
            ]
            parts.append((f"layer{i + 1}", nn.Sequential(*blocks)))
            in_ch = out_ch
        self.features = nn.Sequential(OrderedDict(parts))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(in_ch, num_classes)

    @property
    def head(self) -> nn.Module:
        """The final linear layer (``fc``)."""
        return self.fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.pool(self.features(x))))


def vgg11_cifar(num_classes: int = 10, width: int = 64) -> VGGCifar:
    """VGG-11 with BatchNorm for 32×32 images; 9,231,114 parameters at ``width=64`` (book §4.1.3)."""
    return VGGCifar(VGG11_CFG, num_classes=num_classes, width=width)


def resnet18_cifar(num_classes: int = 10, width: int = 64) -> ResNetCifar:
    """ResNet-18 for 32×32 images (3×3 stem, no max-pool); 11,173,962 parameters at ``width=64``."""
    return ResNetCifar((2, 2, 2, 2), num_classes=num_classes, width=width)


def build_cifar_model(arch: str, num_classes: int = 10, width: int = 64) -> nn.Module:
    """``vgg11_cifar`` or ``resnet18_cifar`` by name (``arch`` is ``"vgg11"`` or ``"resnet18"``)."""
    check_arch(arch)
    return (vgg11_cifar if arch == "vgg11" else resnet18_cifar)(num_classes=num_classes, width=width)


def check_arch(arch: str) -> str:
    """``arch`` if it is one of :data:`ARCHS`, else a ``ValueError`` listing them."""
    return require_choice("arch", arch, ARCHS)


# ----------------------------------------------------------------------------------------------- transforms
def cifar_transforms(train: bool, augment: bool = True) -> Any:
    """A ``transforms.v2`` pipeline for CIFAR PIL images: (random crop 32 pad 4 + flip when training), to a
    float tensor in 0..1, normalized with :data:`CIFAR_MEAN`/:data:`CIFAR_STD`."""
    from torchvision.transforms import v2

    steps: list[Any] = [v2.ToImage()]
    if train and augment:
        steps += [v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()]
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(CIFAR_MEAN, CIFAR_STD)]
    return v2.Compose(steps)


def denormalize(tensor: torch.Tensor) -> torch.Tensor:
    """Undo the CIFAR normalization of a 3×H×W or N×3×H×W tensor, clamped to 0..1, for display."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"denormalize expects a torch.Tensor, got {type(tensor).__name__}")
    if tensor.ndim not in (3, 4) or tensor.shape[-3] != 3:
        raise ValueError(f"denormalize expects 3×H×W or N×3×H×W (RGB), got shape {tuple(tensor.shape)}")
    mean = torch.tensor(CIFAR_MEAN, dtype=tensor.dtype, device=tensor.device).view(3, 1, 1)
    std = torch.tensor(CIFAR_STD, dtype=tensor.dtype, device=tensor.device).view(3, 1, 1)
    return (tensor.detach() * std + mean).clamp(0, 1)
