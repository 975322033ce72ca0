"""Chapter 10's shared models, each trained once per mode and cached: the base VGG-11, its 90%-sparse
fine-tuned copy (book §10.1.3) and the channel-pruned, retrained network (§10.1.4).

Introduced in notebook 10-1, which runs the same steps in the open; 10-2, 10-3, 10-5 and 10-6 load the
cached models. The recipes follow the book in full mode and shrink the data, the width and the epochs in
lite and smoke mode (:func:`prune_recipe`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from book_utils.checkpoint import recipe_digest
from book_utils.models.cifar import VGGCifar, vgg11_cifar
from book_utils.models.cifar_training import CifarRecipe, cifar_loaders, cifar_model_tag, make_optimizer

Stages = tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class PruneRecipe:
    """How chapter 10 trains, sparsifies and retrains its VGG-11 in one mode.

    ``base``: the base model's recipe (04-1's :class:`CifarRecipe`); ``levels``: sparsity percentages in
    order; ``finetune``: one ``(epochs, lr)`` schedule per level (SGD with momentum 0.9 and weight decay
    1e-4, as the book); ``retrain``: the schedule for the pruned network.
    """

    base: CifarRecipe
    levels: tuple[float, ...]
    finetune: tuple[Stages, ...]
    retrain: Stages
    momentum: float = 0.9
    weight_decay: float = 1e-4

    def __post_init__(self) -> None:
        if len(self.levels) != len(self.finetune):
            raise ValueError("a PruneRecipe needs one fine-tune schedule per sparsity level")


def prune_recipe(mode: str) -> PruneRecipe:
    """The chapter-10 recipe: full = the book (width 64, all of CIFAR-10, 50 base epochs, fine-tuning
    9/18/27/36/60 epochs at 50..90 % sparsity, 50 retraining epochs); lite = a width-16 VGG on 5,000 images;
    smoke = seconds."""
    from book_utils.config import MODES

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    levels = (50.0, 60.0, 70.0, 80.0, 90.0)
    if mode == "full":
        book = ((10, 0.01), (20, 0.001), (20, 0.0001))
        base = CifarRecipe("vgg11", 64, None, None, 128, book, weight_decay=1e-4, num_workers=2)
        tune = tuple(((n, 0.01), (n, 0.001), (n, 0.0001)) for n in (3, 6, 9, 12, 20))
        return PruneRecipe(base, levels, tune, book)
    if mode == "lite":
        base = CifarRecipe("vgg11", 16, 5000, 2000, 64, ((6, 3e-3), (2, 3e-4)), weight_decay=0.0,
                           augment=False, optimizer="adam")  # fmt: skip
        tune = tuple(((1, 0.01), (1, 0.001)) for _ in levels[:-1]) + (((2, 0.01), (1, 0.001)),)
        return PruneRecipe(base, levels, tune, ((4, 0.01), (2, 0.001)))
    base = CifarRecipe("vgg11", 8, 256, 128, 64, ((1, 3e-3), (1, 3e-4)), weight_decay=0.0, optimizer="adam")
    return PruneRecipe(base, levels, tuple(((1, 0.01),) for _ in levels), ((1, 0.01),))


# Bump when what a cached model's extras or architecture mean changes (v2: dead = γ = 0 and β ≤ 0).
RULES = "v2"


def _tag(recipe: PruneRecipe, part: str) -> str:
    digest = recipe_digest(recipe)
    return f"{cifar_model_tag(recipe.base)}|{part}-{digest}" + ("" if part == "base" else f"-{RULES}")


def sgd_stages(model: nn.Module, stages: Stages, recipe: PruneRecipe) -> tuple[torch.optim.Optimizer, Any, int]:
    """SGD (the book's momentum and weight decay) and a per-epoch scheduler following ``stages``; also
    returns the number of epochs."""
    base_lr = stages[0][1]
    optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=recipe.momentum,
                                weight_decay=recipe.weight_decay)  # fmt: skip
    edges = [sum(n for n, _ in stages[: i + 1]) for i in range(len(stages))]

    def factor(epoch: int) -> float:
        return next((lr for edge, (_, lr) in zip(edges, stages) if epoch < edge), stages[-1][1]) / base_lr

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor), edges[-1]


def train_base(cfg: Any, recipe: PruneRecipe) -> tuple[VGGCifar, Any]:
    """Train the base VGG-11 with ``recipe.base`` (seeded with ``cfg.seed``); returns ``(model, history)``."""
    from book_utils.train import fit

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = vgg11_cifar(width=recipe.base.width)
        train_loader, test_loader = cifar_loaders(recipe.base, seed=cfg.seed)
        optimizer, scheduler = make_optimizer(model, recipe.base)
        history = fit(model, train_loader, epochs=recipe.base.epochs, optimizer=optimizer, val_loader=test_loader,
                      scheduler=scheduler, device=cfg.device, live=False, desc="base VGG-11")  # fmt: skip
    return model, history


def sparsify_train(
    model: VGGCifar, recipe: PruneRecipe, loaders: tuple[Any, Any], device: Any = "cpu", seed: int = 0
) -> list[dict[str, float]]:
    """The book's ``sparsify_train`` (§10.1.3), in place: for each level, zero the smallest weights and
    biases of every tensor, then fine-tune with SGD. Returns one row per level: test accuracy right after
    zeroing and after fine-tuning, the fraction of zeros at both moments, and the dead channels."""
    from book_utils.compression import dead_channels, sparsify_, sparsity
    from book_utils.train import evaluate, fit

    train_loader, test_loader = loaders
    rows = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for level, stages in zip(recipe.levels, recipe.finetune):
            sparsify_(model, level)
            zeroed = {"level": level, "acc_zeroed": evaluate(model, test_loader, device=device)["acc"],
                      "sparsity_zeroed": sparsity(model)}  # fmt: skip
            optimizer, scheduler, epochs = sgd_stages(model, stages, recipe)
            fit(model, train_loader, epochs=epochs, optimizer=optimizer, scheduler=scheduler, device=device,
                live=False, desc=f"fine-tune {level:.0f}%")  # fmt: skip
            rows.append({**zeroed, "acc_tuned": evaluate(model, test_loader, device=device)["acc"],
                         "sparsity_tuned": sparsity(model),
                         "dead": float(sum(int(d.sum()) for d in dead_channels(model)))})  # fmt: skip
    return rows


def retrain(model: nn.Module, recipe: PruneRecipe, loaders: tuple[Any, Any], device: Any = "cpu", seed: int = 0) -> Any:
    """Retrain a pruned network with ``recipe.retrain`` (SGD, §10.1.4 ``retrain.py``); returns its history."""
    from book_utils.train import fit

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        optimizer, scheduler, epochs = sgd_stages(model, recipe.retrain, recipe)
        return fit(model, loaders[0], epochs=epochs, optimizer=optimizer, val_loader=loaders[1],
                   scheduler=scheduler, device=device, live=False, desc="retrain pruned")  # fmt: skip


def _report(name: str, model: nn.Module, extra: dict[str, Any], cfg: Any) -> nn.Module:
    from book_utils.models import count_parameters

    print(f"Loaded the {name} VGG-11 ({count_parameters(model):,} parameters); test accuracy {extra['acc']:.3f}.")
    return model.to(cfg.device).eval()


def base_vgg(cfg: Any) -> VGGCifar:
    """Chapter 10's base VGG-11 for ``cfg.mode``, in eval mode on ``cfg.device``, trained once and cached."""
    from book_utils.checkpoint import checkpoint_path, train_once

    recipe = prune_recipe(cfg.mode)

    def train() -> tuple[nn.Module, dict[str, Any]]:
        model, history = train_base(cfg, recipe)
        return model, {"acc": history["val_acc"][-1], "history": history.to_dict()}

    model, extra = train_once(checkpoint_path("ch10_vgg11_base", cfg.mode), _tag(recipe, "base"),
                              lambda: vgg11_cifar(width=recipe.base.width), train, what="base VGG-11")
    return _report("base", model, extra, cfg)


def sparse_vgg(cfg: Any) -> tuple[VGGCifar, list[dict[str, float]]]:
    """The base VGG-11 after the book's sparsify/fine-tune ladder up to 90 %, cached; returns the model (eval
    mode, on ``cfg.device``) and the per-level table of :func:`sparsify_train`."""
    from book_utils.checkpoint import checkpoint_path, train_once
    from book_utils.train import evaluate

    recipe = prune_recipe(cfg.mode)

    def train() -> tuple[nn.Module, dict[str, Any]]:
        model = base_vgg(cfg).train()
        loaders = cifar_loaders(recipe.base, seed=cfg.seed)
        rows = sparsify_train(model, recipe, loaders, cfg.device, cfg.seed)
        acc = evaluate(model, loaders[1], device=cfg.device)["acc"]
        return model, {"acc": acc, "table": {k: [r[k] for r in rows] for k in rows[0]}}

    model, extra = train_once(checkpoint_path("ch10_vgg11_sparse", cfg.mode), _tag(recipe, "sparse"),
                              lambda: vgg11_cifar(width=recipe.base.width), train, what="sparse VGG-11")
    table = extra["table"]
    rows = [dict(zip(table, values)) for values in zip(*table.values())]
    return _report("90%-sparse", model, extra, cfg), rows


def pruned_vgg(cfg: Any) -> VGGCifar:
    """The 90%-sparse VGG-11 with its dead channels removed (:func:`compress_vgg`) and retrained, cached:
    the small model that 10-3 quantizes and 10-6 serves. Eval mode, on ``cfg.device``."""
    from book_utils.checkpoint import checkpoint_path, train_once
    from book_utils.compression import compress_vgg

    recipe = prune_recipe(cfg.mode)

    def build() -> nn.Module:
        return compress_vgg(sparse_vgg(cfg)[0].cpu())

    def train() -> tuple[nn.Module, dict[str, Any]]:
        model = build().to(cfg.device)
        history = retrain(model, recipe, cifar_loaders(recipe.base, seed=cfg.seed), cfg.device, cfg.seed)
        return model, {"acc": history["val_acc"][-1], "history": history.to_dict()}

    model, extra = train_once(checkpoint_path("ch10_vgg11_pruned", cfg.mode), _tag(recipe, "pruned"), build,
                              train, what="pruned VGG-11")  # fmt: skip
    return _report("pruned, retrained", model, extra, cfg)
