"""Chapter 8's autoencoder and feature discriminator, the training recipe, and the cached trained autoencoder.

Introduced in notebook 08-1 and reused by 08-3 (the AE-GAN's generator) and 08-4 (inpainting). The book's
``AutoEncoder`` (§8.1.2) is its ResNet18Unet with the skip connections cut: a grayscale ResNet-18 encoder whose
last stage is the "compressed image" (512×4×4 at 128 px), and five ``DecoderBlock`` stages back to the input
size, with no output activation. ``width`` scales it for a CPU; ``bottleneck`` adds a 1×1 convolution to
``bottleneck`` channels after the encoder (and back before the decoder), the change that makes the latent
smaller than the image. :class:`FeatureDiscriminator` is the AE-GAN's ResNet-18 critic with its five taps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from book_utils.checkpoint import recipe_digest
from book_utils.models.resnet import resnet18
from book_utils.models.unet import DecoderBlock


class AutoEncoder(nn.Module):
    """The book's autoencoder (module names as in §8.1.2); ``encode``/``decode`` expose the latent.

    Input sides must be divisible by 32. The output is unbounded (as the book's); clamp it to the data range
    to display or score it.
    """

    def __init__(self, width: int = 64, in_channels: int = 1, bottleneck: int | None = None,
                 dropout: float = 0.1) -> None:
        super().__init__()
        base = resnet18(width=width, in_channels=in_channels)
        c = [base.layer1[-1].conv2.out_channels, base.layer2[-1].conv2.out_channels,
             base.layer3[-1].conv2.out_channels, base.layer4[-1].conv2.out_channels]
        self.firstconv, self.firstbn, self.firstrelu, self.firstmaxpool = base.conv1, base.bn1, base.relu, base.maxpool
        self.encoder1, self.encoder2, self.encoder3, self.encoder4 = base.layer1, base.layer2, base.layer3, base.layer4
        self.squeeze: nn.Module = nn.Identity()
        self.unsqueeze: nn.Module = nn.Identity()
        if bottleneck is not None:
            self.squeeze = nn.Conv2d(c[3], bottleneck, 1)
            self.unsqueeze = nn.Sequential(nn.Conv2d(bottleneck, c[3], 1), nn.ReLU(True))
        self.center = DecoderBlock(c[3], c[3])
        self.decoder4 = DecoderBlock(c[3], c[2])
        self.decoder3 = DecoderBlock(c[2], c[1])
        self.decoder2 = DecoderBlock(c[1], c[0])
        self.decoder1 = DecoderBlock(c[0], c[0])
        half = max(1, c[0] // 2)
        self.finalconv = nn.Sequential(
            nn.Conv2d(c[0], half, 3, padding=1, bias=False), nn.BatchNorm2d(half), nn.ReLU(True),
            nn.Dropout2d(dropout), nn.Conv2d(half, in_channels, 1),
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The latent ("compressed image"): ``(N, C, H/32, W/32)``."""
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f"AutoEncoder needs sides divisible by 32, got {tuple(x.shape[-2:])}")
        x = self.firstmaxpool(self.firstrelu(self.firstbn(self.firstconv(x))))
        return self.squeeze(self.encoder4(self.encoder3(self.encoder2(self.encoder1(x)))))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The image rebuilt from a latent."""
        x = self.center(self.unsqueeze(z))
        return self.finalconv(self.decoder1(self.decoder2(self.decoder3(self.decoder4(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class FeatureDiscriminator(nn.Module):
    """The AE-GAN's critic (§8.2.4): a grayscale ResNet-18 with one logit; ``features`` returns the five taps
    (stem after max-pooling, layer1 to layer4) that the feature-map loss compares."""

    def __init__(self, width: int = 64, in_channels: int = 1) -> None:
        super().__init__()
        self.net = resnet18(num_classes=1, width=width, in_channels=in_channels)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        n = self.net
        taps = [n.maxpool(n.relu(n.bn1(n.conv1(x))))]
        for layer in (n.layer1, n.layer2, n.layer3, n.layer4):
            taps.append(layer(taps[-1]))
        return taps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per image (``(N,)``)."""
        return self.net(x).squeeze(1)


class Reconstruction(Dataset):
    """``(x, x)`` pairs from a dataset of ``(x, label)``: an autoencoder's input is its own target."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        x, _ = self.dataset[index]
        return x, x


def gray_faces(split: str, size: int, per_person: int, augment: bool = False, verbose: bool = True) -> Reconstruction:
    """Chapter 7's face crops in grayscale, in [0, 1], as ``(x, x)`` pairs (the book's ``Data``, §8.1.3).

    ``augment`` flips horizontally (the only augmentation that leaves input and target identical here)."""
    from torchvision.transforms import v2

    from book_utils.datasets.pubfig import load_pubfig

    steps: list[Any] = [v2.ToImage(), v2.Grayscale()]
    if augment:
        steps.append(v2.RandomHorizontalFlip())
    steps.append(v2.ToDtype(torch.float32, scale=True))
    return Reconstruction(load_pubfig(split, transform=v2.Compose(steps), size=size, per_person=per_person,
                                      verbose=verbose))


@dataclass(frozen=True)
class AERecipe:
    """How notebook 08-1 trains the autoencoder in one mode (Adam with the book's staged learning rates)."""

    width: int
    size: int
    per_person: int
    stages: tuple[tuple[int, float], ...]
    batch_size: int = 32
    bottleneck: int | None = None
    loss: str = "l1"

    @property
    def epochs(self) -> int:
        return sum(n for n, _ in self.stages)


def ae_recipe(mode: str) -> AERecipe:
    """full: the book (width 64, 128 px, 110 epochs: 30 at 1e-2... as its config says, here 1e-3, 1e-3, 1e-4);
    lite: width 16 at 64 px, 6 epochs; smoke: seconds."""
    from book_utils.config import MODES

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if mode == "full":
        return AERecipe(width=64, size=128, per_person=40, stages=((30, 1e-3), (30, 1e-3), (50, 1e-4)), batch_size=16)
    if mode == "lite":
        return AERecipe(width=16, size=64, per_person=14, stages=((4, 2e-3), (2, 5e-4)))
    return AERecipe(width=8, size=32, per_person=3, stages=((1, 2e-3), (1, 5e-4)), batch_size=16)


def train_autoencoder(cfg: Any, recipe: AERecipe | None = None, *, live: bool | None = None) -> tuple[AutoEncoder, Any]:
    """Train the autoencoder with the recipe for ``cfg.mode`` (L1 or MSE); returns ``(model, history)``."""
    from torch.utils.data import DataLoader

    from book_utils.train import fit

    recipe = recipe or ae_recipe(cfg.mode)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        train = gray_faces("train", recipe.size, recipe.per_person, augment=True)
        val = gray_faces("val", recipe.size, recipe.per_person, verbose=False)
        gen = torch.Generator().manual_seed(cfg.seed)
        train_loader = DataLoader(train, batch_size=recipe.batch_size, shuffle=True, generator=gen, drop_last=True)
        val_loader = DataLoader(val, batch_size=64)
        model = AutoEncoder(recipe.width, bottleneck=recipe.bottleneck)
        base = recipe.stages[0][1]
        optimizer = torch.optim.Adam(model.parameters(), lr=base)
        bounds = [sum(n for n, _ in recipe.stages[: i + 1]) for i in range(len(recipe.stages))]

        def lr_at(epoch: int) -> float:
            return next((lr for b, (_, lr) in zip(bounds, recipe.stages) if epoch < b), recipe.stages[-1][1]) / base

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
        loss_fn = nn.L1Loss() if recipe.loss == "l1" else nn.MSELoss()
        history = fit(model, train_loader, epochs=recipe.epochs, optimizer=optimizer, loss_fn=loss_fn,
                      val_loader=val_loader, scheduler=scheduler, metric=None, device=cfg.device, live=live,
                      desc=f"autoencoder w{recipe.width}")
    return model, history


def ae_checkpoint_path(mode: str) -> Path:
    """``<data_dir>/checkpoints/autoencoder_<mode>.pt``."""
    from book_utils.checkpoint import checkpoint_path

    return checkpoint_path("autoencoder", mode)


def ae_model_tag(recipe: AERecipe) -> str:
    """The data (real or the face stand-in's version) and a hash of the recipe."""
    from book_utils.datasets.pubfig import data_tag

    return f"pubfig-{data_tag()}|recipe-{recipe_digest(recipe)}"


def save_autoencoder(model: nn.Module, recipe: AERecipe, mode: str, history: Any = None) -> Path:
    """Save a model trained by :func:`train_autoencoder` (08-1) where :func:`pretrained_autoencoder` finds it."""
    from book_utils.checkpoint import save_checkpoint

    hist = history.to_dict() if history is not None else {}
    return save_checkpoint(ae_checkpoint_path(mode), model, recipe=repr(recipe), history=hist, tag=ae_model_tag(recipe))


def pretrained_autoencoder(cfg: Any) -> AutoEncoder:
    """The 08-1 autoencoder for ``cfg.mode`` in eval mode on ``cfg.device``, trained once and cached."""
    from book_utils.checkpoint import train_once

    recipe = ae_recipe(cfg.mode)

    def train() -> tuple[nn.Module, dict[str, Any]]:
        model, history = train_autoencoder(cfg, recipe, live=False)
        return model, {"recipe": repr(recipe), "history": history.to_dict()}

    model, extra = train_once(ae_checkpoint_path(cfg.mode), ae_model_tag(recipe),
                              lambda: AutoEncoder(recipe.width, bottleneck=recipe.bottleneck), train,
                              what="autoencoder")
    loss = (extra.get("history") or {}).get("val_loss", [math.nan])[-1]
    print(f"Loaded the autoencoder (width {recipe.width}, {recipe.size} px); validation {recipe.loss.upper()} {loss:.4f}.")
    return model.to(cfg.device).eval()
