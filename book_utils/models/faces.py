"""The Chapter 7 face-embedding network, its training recipe and the cached trained model (07-2, Chapter 8).

The book's design (§7.4): a ResNet-18 whose ``fc`` becomes ``Linear(512, 512)``, so the network outputs a
512-number face embedding, and a separate ``Linear(512, people)`` classifier after it. Only the embedding is
used to search; the classifier exists to train it (and can be swapped for a margin head, 07-3). Here the
backbone is :func:`book_utils.models.resnet.resnet18`, whose ``width`` makes it CPU-sized (lite: width 8).
:func:`pretrained_face_model` trains the 07-2 recipe once and caches it, for 07-3 to 07-5 and Chapter 8
(its Fréchet distance uses these embeddings).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from book_utils.checkpoint import recipe_digest
from book_utils.models.resnet import resnet18

FACE_MEAN, FACE_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)


def face_embedder(width: int = 64, embedding: int = 512, in_channels: int = 3) -> nn.Module:
    """ResNet-18 (``width`` 64 = torchvision's) with ``fc = Linear(channels, embedding)``: images to embeddings."""
    net = resnet18(width=width, in_channels=in_channels)
    net.fc = nn.Linear(net.fc.in_features, embedding)
    return net


class FaceClassifier(nn.Module):
    """``head(net(x))``: the embedding network followed by a classifier; :meth:`embed` skips the head."""

    def __init__(self, net: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.net, self.head = net, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding (the classifier's input), for search."""
        return self.net(x)


def face_classifier(num_classes: int, width: int = 64, embedding: int = 512) -> FaceClassifier:
    """The book's plain classifier: embedder plus ``Linear(embedding, num_classes)``."""
    return FaceClassifier(face_embedder(width, embedding), nn.Linear(embedding, num_classes))


def face_transforms(size: int, train: bool) -> Any:
    """PIL face crop to a normalised tensor of ``size`` px; training adds flips, small crops and colour jitter
    (the photos differ in light and colour cast, which should not change who it is)."""
    from torchvision.transforms import v2

    steps: list[Any] = [v2.ToImage()]
    if train:
        steps += [v2.RandomResizedCrop(size, scale=(0.75, 1.0), ratio=(0.85, 1.15), antialias=True),
                  v2.RandomHorizontalFlip(), v2.ColorJitter(0.3, 0.3, 0.3, 0.03)]
    else:
        steps += [v2.Resize((size, size), antialias=True)]
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(FACE_MEAN, FACE_STD)]
    return v2.Compose(steps)


@dataclass(frozen=True)
class FaceRecipe:
    """How notebook 07-2 trains the embedding in one mode (Adam, one-cycle learning rate)."""

    width: int
    size: int
    per_person: int
    epochs: int
    lr: float
    batch_size: int = 64
    embedding: int = 512
    weight_decay: float = 5e-4


def face_recipe(mode: str) -> FaceRecipe:
    """full: the book (width 64, 128 px, 60 epochs); lite: width 8 at 64 px, 20 epochs; smoke: seconds.

    Lite trains 20 epochs in batches of 32 (was 12 epochs of 64): on the stand-in the open-set mAP of the dev
    people rose from about 0.60 to 0.73-0.75 and recall@1 from 0.79 to 0.87-0.89 (seeds 0-2, notebook 07-2),
    for about two minutes of training on one idle core (estimated; 7-9 minutes under a load average of 10)."""
    from book_utils.config import MODES

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if mode == "full":
        return FaceRecipe(width=64, size=128, per_person=40, epochs=60, lr=1e-3, batch_size=32)
    if mode == "lite":
        return FaceRecipe(width=8, size=64, per_person=14, epochs=20, lr=3e-3, batch_size=32)
    return FaceRecipe(width=8, size=32, per_person=3, epochs=2, lr=3e-3)


def face_loaders(recipe: FaceRecipe, seed: int = 0, augment: bool = True) -> tuple[Any, Any]:
    """``(train_loader, val_loader)``: the eval people's photos, 85% to train and 15% for closed-set validation."""
    from torch.utils.data import DataLoader

    from book_utils.datasets.pubfig import load_pubfig

    kw = {"size": recipe.size, "per_person": recipe.per_person}
    train = load_pubfig("train", transform=face_transforms(recipe.size, augment), **kw)
    val = load_pubfig("val", transform=face_transforms(recipe.size, False), verbose=False, **kw)
    gen = torch.Generator().manual_seed(seed)
    return (DataLoader(train, batch_size=recipe.batch_size, shuffle=True, generator=gen, drop_last=True),
            DataLoader(val, batch_size=256))


def train_face_model(cfg: Any, recipe: FaceRecipe | None = None, *, live: bool | None = None) -> tuple[FaceClassifier, Any]:
    """Train the plain face classifier with the recipe for ``cfg.mode``; returns ``(model, history)``.

    Unlike the book, the classifier is in the optimizer (the book's stayed at its random start) and the
    learning rate follows the recipe (the book's config was ignored). Seeded with ``cfg.seed``.
    """
    from book_utils.train import fit

    recipe = recipe or face_recipe(cfg.mode)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        train_loader, val_loader = face_loaders(recipe, cfg.seed)
        model = face_classifier(len(train_loader.dataset.classes), recipe.width, recipe.embedding)
        optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.lr, epochs=recipe.epochs,
                                                        steps_per_epoch=len(train_loader))
        history = fit(model, train_loader, epochs=recipe.epochs, optimizer=optimizer, val_loader=val_loader,
                      scheduler=scheduler, scheduler_step="batch", device=cfg.device, live=live,
                      desc=f"faces w{recipe.width}")
    return model, history


def face_checkpoint_path(mode: str) -> Path:
    """``<data_dir>/checkpoints/faces_resnet18_<mode>.pt``."""
    from book_utils.checkpoint import checkpoint_path

    return checkpoint_path("faces_resnet18", mode)


def face_model_tag(recipe: FaceRecipe) -> str:
    """What the cached model depends on: the data (real or the stand-in's version) and the recipe."""
    from book_utils.datasets.pubfig import data_tag

    return f"pubfig-{data_tag()}|recipe-{recipe_digest(recipe)}"


def save_face_model(model: nn.Module, recipe: FaceRecipe, mode: str, history: Any = None) -> Path:
    """Save a model trained by :func:`train_face_model` (07-2) where :func:`pretrained_face_model` finds it."""
    from book_utils.checkpoint import save_checkpoint

    hist = history.to_dict() if history is not None else {}
    return save_checkpoint(face_checkpoint_path(mode), model, recipe=repr(recipe), history=hist,
                           tag=face_model_tag(recipe))


def pretrained_face_model(cfg: Any) -> FaceClassifier:
    """The 07-2 face classifier for ``cfg.mode`` in eval mode on ``cfg.device``, trained once and cached."""
    from book_utils.checkpoint import train_once
    from book_utils.datasets.pubfig import load_pubfig

    recipe = face_recipe(cfg.mode)
    n_people = len(load_pubfig("train", size=recipe.size, per_person=recipe.per_person, verbose=False).classes)

    def train() -> tuple[nn.Module, dict[str, Any]]:
        model, history = train_face_model(cfg, recipe, live=False)
        return model, {"recipe": repr(recipe), "history": history.to_dict()}

    model, extra = train_once(face_checkpoint_path(cfg.mode), face_model_tag(recipe),
                              lambda: face_classifier(n_people, recipe.width, recipe.embedding), train,
                              what="face model")
    acc = (extra.get("history") or {}).get("val_acc", [math.nan])[-1]
    print(f"Loaded the face model (width {recipe.width}, {recipe.size} px); closed-set validation accuracy {acc:.3f}.")
    return model.to(cfg.device).eval()
