"""The notebook-04-1 recipe for training the CIFAR-10 CNNs, and the trained models later notebooks reuse.

:func:`train_cifar_model` is the recipe (one function, so the notebook and :func:`pretrained_cifar_model`
cannot drift apart); :func:`pretrained_cifar_model` loads its checkpoint or trains it once, process-safely,
when it is missing or was trained on other data (04-3, 04-4, chapter 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from book_utils.models.cifar import build_cifar_model, check_arch, cifar_transforms


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
    lite = a width-8 network on 3,000 images for 8 epochs with Adam, no augmentation; smoke = seconds (two
    one-epoch stages, so that the learning-rate drop runs in every mode)."""
    from book_utils.config import MODES

    check_arch(arch)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if mode == "full":
        return CifarRecipe(arch, 64, None, None, 64, ((30, 1e-3), (20, 1e-3), (10, 1e-4)), num_workers=2)
    if mode == "lite":
        return CifarRecipe(
            arch, 8, 3000, 2000, 64, ((6, 3e-3), (2, 3e-4)), weight_decay=0.0, augment=False, optimizer="adam"
        )
    return CifarRecipe(arch, 8, 256, 128, 64, ((1, 3e-3), (1, 3e-4)), weight_decay=0.0, optimizer="adam")


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

    from book_utils.datasets.cifar10 import load_cifar10

    augment = recipe.augment if augment is None else augment
    train_set = _subset(load_cifar10("train", transform=cifar_transforms(True, augment)), recipe.n_train, seed)
    test_set = _subset(load_cifar10("test", transform=cifar_transforms(False)), recipe.n_test, seed + 1)
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
        recipe = replace(recipe, arch=check_arch(arch))
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
    return model, history


def cifar_checkpoint_path(arch: str, mode: str) -> Path:
    """Where notebook 04-1 saves its trained model: ``<data_dir>/checkpoints/cifar10_<arch>_<mode>.pt``."""
    from book_utils.checkpoint import checkpoint_path

    return checkpoint_path(f"cifar10_{check_arch(arch)}", mode)


def cifar_model_tag(recipe: CifarRecipe) -> str:
    """What a cached model depends on: the data (real, or the stand-in's version) and the whole recipe, so
    that changing either retrains it (e.g. ``"standin-v4|recipe-1a2b3c4d"``)."""
    from book_utils.checkpoint import recipe_digest
    from book_utils.datasets.cifar10 import data_tag

    return f"{data_tag()}|recipe-{recipe_digest(recipe)}"


def save_cifar_model(model: nn.Module, recipe: CifarRecipe, mode: str, history: Any = None) -> Path:
    """Save a model trained by :func:`train_cifar_model` where :func:`pretrained_cifar_model` finds it."""
    from book_utils.checkpoint import save_checkpoint

    hist = history.to_dict() if history is not None else {}
    return save_checkpoint(cifar_checkpoint_path(recipe.arch, mode), model, arch=recipe.arch, width=recipe.width,
                           num_classes=10, tag=cifar_model_tag(recipe), history=hist)


def pretrained_cifar_model(cfg: Any, arch: str = "resnet18") -> nn.Module:
    """The notebook-04-1 model for ``cfg.mode``, in eval mode on ``cfg.device``, trained once and cached.

    Trained now (with the same recipe) when its checkpoint is missing or was trained on other data (real
    vs stand-in, or an older stand-in); see :func:`book_utils.checkpoint.train_once`.
    """
    from book_utils.checkpoint import train_once

    recipe = cifar_recipe(cfg.mode, arch)

    def train() -> tuple[nn.Module, dict[str, Any]]:
        model, history = train_cifar_model(cfg, arch, recipe, live=False)
        return model, {"arch": arch, "width": recipe.width, "num_classes": 10, "history": history.to_dict()}

    model, extra = train_once(cifar_checkpoint_path(arch, cfg.mode), cifar_model_tag(recipe),
                              lambda: build_cifar_model(arch, width=recipe.width), train, what=f"CIFAR-10 {arch}")
    acc = (extra.get("history") or {}).get("val_acc", [math.nan])[-1]
    data = str(extra.get("tag", "")).split("|")[0]
    print(f"Loaded {arch} (width {recipe.width}, {data} data); test accuracy {acc:.3f}.")
    return model.to(cfg.device).eval()
