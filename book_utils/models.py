"""CIFAR-sized CNNs from chapter 4 (VGG-11 with BatchNorm, ResNet-18), their transforms and training recipe.

Introduced in notebook 04-1 and reused by 04-2 to 04-6 and later chapters. ``width`` scales every channel
count (64 is the book's size) so that a CPU can train a narrow copy of the same architecture in minutes.

Both models expose the same parts, which is what CAM/Grad-CAM and fine-tuning need:

* ``model.features``: every conv layer; its output is the last convolutional feature map
  (ResNet: C×4×4 for a 32×32 input, VGG: C×2×2);
* ``model.pool``: global average pooling (ResNet) or the last 2×2 max-pool (VGG), then ``model.flatten``;
* the final linear layer: ``model.fc`` (ResNet) or ``model.classifier`` (VGG), also readable as
  ``model.head`` for both. Replace it by assigning to ``fc``/``classifier``.

:func:`train_cifar_model` is the notebook-04-1 recipe (one function, so the notebook and
:func:`pretrained_cifar_model` cannot drift apart); :func:`pretrained_cifar_model` loads its checkpoint or
trains it once, process-safely, when it is missing or was trained on other data.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from book_utils.config import require_int

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
    _check_arch(arch)
    return (vgg11_cifar if arch == "vgg11" else resnet18_cifar)(num_classes=num_classes, width=width)


def _check_arch(arch: str) -> str:
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; use one of {', '.join(ARCHS)}")
    return arch


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


# --------------------------------------------------------------------------------------------- the recipe
@dataclass(frozen=True)
class CifarRecipe:
    """How notebook 04-1 trains a CIFAR-10 classifier in one mode (SGD with momentum, staged learning rates).

    ``stages`` are the book's ``(epochs, lr)`` pairs; ``n_train``/``n_test`` ``None`` means the whole split.
    ``optimizer``: ``"sgd"`` (the book: momentum and weight decay) or ``"adam"`` (lite: faster start).
    """

    arch: str
    width: int
    n_train: int | None
    n_test: int | None
    batch_size: int
    stages: tuple[tuple[int, float], ...]
    momentum: float = 0.9
    weight_decay: float = 5e-4
    augment: bool = True
    num_workers: int = 0
    optimizer: str = "sgd"

    @property
    def epochs(self) -> int:
        """Total number of epochs over all stages."""
        return sum(n for n, _ in self.stages)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of the 0-based ``epoch`` (the last stage's rate after the end)."""
        done = 0
        for n, lr in self.stages:
            done += n
            if epoch < done:
                return lr
        return self.stages[-1][1]


def cifar_recipe(mode: str, arch: str = "resnet18") -> CifarRecipe:
    """The 04-1 recipe for a mode: full = the book (width 64, 50k images, 60 epochs: 50 at 1e-3, 10 at 1e-4);
    lite = a width-8 network on 3,000 images for 8 epochs with Adam, no augmentation; smoke = seconds."""
    from book_utils.config import MODES

    _check_arch(arch)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if mode == "full":
        return CifarRecipe(arch, 64, None, None, 64, ((30, 1e-3), (20, 1e-3), (10, 1e-4)), num_workers=2)
    if mode == "lite":
        return CifarRecipe(
            arch, 8, 3000, 2000, 64, ((6, 3e-3), (2, 3e-4)), weight_decay=0.0, augment=False, optimizer="adam"
        )
    return CifarRecipe(arch, 8, 256, 128, 64, ((1, 3e-3),), weight_decay=0.0, optimizer="adam")


def _subset(dataset: Any, n: int | None, seed: int) -> Any:
    """The first ``n`` items of a seeded permutation (the whole dataset when ``n`` is None or too large)."""
    from torch.utils.data import Subset

    if n is None or n >= len(dataset):
        return dataset
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    return Subset(dataset, order[:n].tolist())


def cifar_loaders(recipe: CifarRecipe, seed: int = 0, augment: bool | None = None) -> tuple[Any, Any]:
    """``(train_loader, test_loader)`` for a recipe: seeded subsets of CIFAR-10 (real or stand-in)."""
    from torch.utils.data import DataLoader

    from book_utils.cifar import load_cifar10

    augment = recipe.augment if augment is None else augment
    train_set = _subset(
        load_cifar10(train=True, transform=cifar_transforms(True, augment)), recipe.n_train, seed
    )
    test_set = _subset(load_cifar10(train=False, transform=cifar_transforms(False)), recipe.n_test, seed + 1)
    workers = recipe.num_workers
    gen = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(
        train_set, batch_size=recipe.batch_size, shuffle=True, num_workers=workers, generator=gen,
        drop_last=len(train_set) > recipe.batch_size, persistent_workers=workers > 0,
    )  # fmt: skip
    test_loader = DataLoader(test_set, batch_size=256, shuffle=False, num_workers=workers)
    return train_loader, test_loader


def make_optimizer(model: nn.Module, recipe: CifarRecipe) -> tuple[torch.optim.Optimizer, Any]:
    """The recipe's optimizer (SGD with momentum, or Adam) and a per-epoch scheduler following its stages."""
    base = recipe.stages[0][1]
    if recipe.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(
            model.parameters(), lr=base, momentum=recipe.momentum, weight_decay=recipe.weight_decay
        )
    elif recipe.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=base, weight_decay=recipe.weight_decay)
    else:
        raise ValueError(f"recipe.optimizer must be 'sgd' or 'adam', got {recipe.optimizer!r}")
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: recipe.lr_at(epoch) / base)
    return optimizer, scheduler


def train_cifar_model(
    cfg: Any,
    arch: str = "resnet18",
    recipe: CifarRecipe | None = None,
    *,
    resume: str | Path | None = None,
    live: bool | None = None,
    tensorboard_dir: str | Path | None = None,
) -> tuple[nn.Module, Any]:
    """Train a CIFAR-10 classifier with the 04-1 recipe for ``cfg.mode``; returns ``(model, history)``.

    Seeded with ``cfg.seed`` without disturbing the caller's random state. ``resume``: a per-epoch checkpoint
    file for long runs (passed to :func:`book_utils.train.fit`).
    """
    from book_utils.train import fit

    recipe = recipe or cifar_recipe(cfg.mode, arch)
    if recipe.arch != arch:
        recipe = replace(recipe, arch=_check_arch(arch))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = build_cifar_model(arch, width=recipe.width)
        train_loader, test_loader = cifar_loaders(recipe, seed=cfg.seed)
        optimizer, scheduler = make_optimizer(model, recipe)
        history = fit(
            model, train_loader, epochs=recipe.epochs, optimizer=optimizer, val_loader=test_loader,
            scheduler=scheduler, device=cfg.device, checkpoint=resume, live=live, desc=f"{arch} w{recipe.width}",
            tensorboard_dir=tensorboard_dir,
        )  # fmt: skip
    data = train_loader.dataset
    source = getattr(getattr(data, "dataset", data), "source", "unknown")
    model.trained_on = cifar_data_tag() if source in ("real", "standin") else source  # saved with the model
    return model, history


# ----------------------------------------------------------------------------------------------- checkpoints
def cifar_checkpoint_path(arch: str, mode: str) -> Path:
    """Where notebook 04-1 saves its trained model: ``<data_dir>/checkpoints/cifar10_<arch>_<mode>.pt``."""
    from book_utils.config import MODES, data_dir

    _check_arch(arch)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    return data_dir() / "checkpoints" / f"cifar10_{arch}_{mode}.pt"


def save_cifar_model(path: str | Path, model: nn.Module, recipe: CifarRecipe, history: Any = None) -> Path:
    """Save a model trained by :func:`train_cifar_model` with what is needed to rebuild it."""
    from book_utils.train import save_checkpoint

    hist = history.to_dict() if history is not None else {}
    source = str(getattr(model, "trained_on", "unknown"))
    return save_checkpoint(
        path, model, arch=recipe.arch, width=recipe.width, num_classes=10, source=source, history=hist
    )


def _real_cifar_on_disk() -> bool:
    from book_utils import cifar

    try:
        return cifar._real_available(cifar.real_root())
    except Exception:  # a damaged real folder is load_cifar10's business, not ours
        return False


def cifar_data_tag() -> str:
    """Which CIFAR-10 a model trained now would see: ``"real"``, or ``"standin-v<N>"`` (generator version)."""
    from book_utils.cifar import STANDIN_VERSION

    return "real" if _real_cifar_on_disk() else f"standin-v{STANDIN_VERSION}"


def _stored_tag(path: Path) -> str | None:
    """The data tag saved in a checkpoint, ``"unknown"`` if it has none, ``None`` if it is unreadable."""
    try:
        extra = torch.load(path, map_location="cpu", weights_only=True).get("extra") or {}
    except Exception:  # corrupted: load_checkpoint reports it with a clear message
        return None
    return str(extra.get("source", "unknown"))


def pretrained_cifar_model(cfg: Any, arch: str = "resnet18") -> nn.Module:
    """The notebook-04-1 model for ``cfg.mode``, in eval mode on ``cfg.device``.

    Loads its checkpoint. When it is missing, or was trained on other data (real vs stand-in, or an older
    stand-in), trains it now with the same recipe and saves it; an inter-process lock makes this happen
    once even when two notebooks ask at the same time, and the file is replaced atomically.
    """
    from book_utils.cache import file_lock
    from book_utils.train import load_checkpoint

    recipe = cifar_recipe(cfg.mode, arch)
    path = cifar_checkpoint_path(arch, cfg.mode)
    tag = cifar_data_tag()

    def stale() -> str | None:
        if not path.exists():
            return "missing"
        stored = _stored_tag(path)
        return None if stored in (tag, None) else f"trained on {stored} data, now {tag}"

    if stale() is not None:
        with file_lock(path.with_name(path.name + ".lock")):
            why = stale()  # another process may have trained it while we waited
            if why is not None:
                print(
                    f"Notebook-04-1 checkpoint {path.name} is {why}: training {arch} now with its {cfg.mode} recipe."
                )
                model, history = train_cifar_model(cfg, arch, recipe, live=False)
                save_cifar_model(path, model, recipe, history)  # written to a temp file, then renamed
    with torch.random.fork_rng(devices=[]):  # the random init is overwritten: keep the caller's stream
        model = build_cifar_model(arch, width=recipe.width)
    extra = load_checkpoint(path, model)
    acc = (extra.get("history") or {}).get("val_acc", [math.nan])[-1]
    print(
        f"Loaded {arch} (width {recipe.width}, {extra.get('source')} data) from {path.name}; test accuracy {acc:.3f}."
    )
    return model.to(cfg.device).eval()
