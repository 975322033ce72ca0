"""A learning check cheap enough for smoke mode: does this model, data and loss really learn?

Smoke runs are too short to reach a meaningful accuracy, so a broken pipeline could pass them unnoticed:
an optimizer that never steps, labels misaligned with their images, a wrong loss. :func:`learning_check`
(introduced in notebook 03-3 and used by every notebook that trains a model) trains two fresh copies of a
model for a few seconds on a few hundred examples with :func:`book_utils.train.fit`:

* one on the real pairs ``(x_i, y_i)``: its training loss must fall by a clear factor;
* one, the control, on the same inputs with the targets permuted, ``(x_i, y_π(i))``: it can only memorise.

Both are scored on held-out examples. Real learning generalises, memorising does not, so the real copy
must beat the control by a margin. An optimizer that never steps fails the first check; misaligned labels
make the "real" copy a second control and fail the second. Both checks go through ``cfg.check`` with the
same thresholds in every mode.

Two cautions, learned on the book's data. With two classes and one strong cue (the banknotes' colour), a
random permutation of the targets still agrees with the truth about half the time, so the control learns
the cue or its opposite and its held-out *accuracy* is 1 or 0 by chance: score such tasks with
:func:`book_utils.metrics.log_likelihood` instead (regressions with :func:`~book_utils.metrics.negative_mse`).
And to see the check fail on purpose, misalign labels by a random re-pairing: on data sorted by class (an
``ImageFolder`` tree), giving each image its neighbour's label changes almost nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from book_utils._validate import require_int
from book_utils.train import Metric, evaluate, fit


class PermutedTargets(Dataset):
    """``(x_i, y_π(i))``: the inputs of ``dataset`` with the targets of a seeded permutation of it."""

    def __init__(self, dataset: Dataset, seed: int = 0) -> None:
        self.dataset = dataset
        n = len(dataset)  # type: ignore[arg-type]
        self.order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return self.dataset[index][0], self.dataset[self.order[index]][1]


class LearningScores(dict):
    """The measured values of :func:`learning_check` (a dict), shown as one rounded line when a notebook
    cell ends with the call, instead of a dict of long floats."""

    def __repr__(self) -> str:
        return "learning check: " + ", ".join(f"{k}={v:.3g}" for k, v in self.items())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def fitting_loss(model: nn.Module, loader: Any, loss_fn: Callable | None = None, device: Any = None) -> float:
    """Mean loss of ``model`` over ``loader`` as training sees it: BatchNorm normalises with each batch's own
    statistics (not the running averages), dropout is off, no gradients; ``model`` itself is not changed.

    The learning check compares this before and after training. Measured in plain eval mode instead, an
    untrained network's loss depends on BatchNorm running statistics that training updates even when the
    optimizer never steps, so a frozen optimizer could still show a falling loss.
    """
    probe = copy.deepcopy(model)
    for module in probe.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.track_running_stats = False  # with no running statistics, BatchNorm uses the batch's own
            module.running_mean = module.running_var = None
    return evaluate(probe, loader, loss_fn, device, metric=None)["loss"]


def _head(dataset: Dataset, n: int, seed: int) -> Dataset:
    """``n`` items of a seeded permutation of ``dataset`` (all of it when it is smaller)."""
    size = len(dataset)  # type: ignore[arg-type]
    if n >= size:
        return dataset
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed))[:n].tolist()
    return Subset(dataset, order)


def learning_check(
    cfg: Any,
    model: nn.Module,
    train_set: Dataset,
    val_set: Dataset,
    *,
    loss_fn: Callable | None = None,
    metric: str | Metric = "accuracy",
    optimizer: Callable[[Any], torch.optim.Optimizer] | None = None,
    n_train: int = 256,
    n_val: int = 256,
    epochs: int = 6,
    batch_size: int = 32,
    collate_fn: Callable | None = None,
    max_loss_ratio: float = 0.7,
    min_gain: float | None = 0.2,
    name: str = "learning check",
    amp: bool | torch.dtype | None = None,
) -> LearningScores:
    """Train copies of ``model`` (left untouched) on real and on permuted targets and assert that it learns.

    ``metric`` is higher-is-better, as in :func:`book_utils.train.evaluate` (use e.g. ``-MSE`` for a
    regression). Asserts, through ``cfg.check``: final/initial training loss <= ``max_loss_ratio``, and
    held-out metric of the real copy minus the control's >= ``min_gain``. ``min_gain=None`` only records the
    gain, for models that need far more steps than a smoke budget to generalise at all (the CRNN of 09-4 sits
    on CTC's all-blank plateau for hundreds of steps): the notebook must then say which other check catches
    misaligned targets. ``optimizer`` maps parameters to an optimizer (default Adam, lr 1e-3). ``amp`` is
    passed to ``fit`` and ``evaluate`` (e.g. ``torch.bfloat16`` checks the mixed-precision path of 10-4).
    Returns the measured values.
    """
    n_train, n_val = require_int("n_train", n_train, 8), require_int("n_val", n_val, 8)
    epochs, batch_size = require_int("epochs", epochs, 1), require_int("batch_size", batch_size, 1)
    make_opt = optimizer or (lambda params: torch.optim.Adam(params, lr=1e-3))
    train = _head(train_set, n_train, cfg.seed)
    val = DataLoader(_head(val_set, n_val, cfg.seed + 1), batch_size=64, collate_fn=collate_fn)
    scores = LearningScores()
    for arm, data in (("real", train), ("control", PermutedTargets(train, cfg.seed))):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            net = copy.deepcopy(model).to(cfg.device)
            loader = DataLoader(data, batch_size=batch_size, shuffle=True, collate_fn=collate_fn,
                                generator=torch.Generator().manual_seed(cfg.seed))
            before = fitting_loss(net, loader, loss_fn, cfg.device)
            history = fit(net, loader, epochs=epochs, optimizer=make_opt(net.parameters()), loss_fn=loss_fn,
                          device=cfg.device, metric=None, live=False, desc=f"{name} ({arm})", amp=amp)
            after = fitting_loss(net, loader, loss_fn, cfg.device)
            scores[f"{arm}_loss_ratio"] = after / before if before > 0 else float("inf")
            scores[f"{arm}_val"] = evaluate(net, val, loss_fn, cfg.device, metric=metric, amp=amp)["acc"]
            scores[f"{arm}_train_loss"] = history["train_loss"][-1]
    scores["gain"] = scores["real_val"] - scores["control_val"]
    print(f"{name}: training loss x{scores['real_loss_ratio']:.3f}; held-out metric {scores['real_val']:.3f} "
          f"vs {scores['control_val']:.3f} with permuted targets")
    limits = {"full": max_loss_ratio, "lite": max_loss_ratio, "smoke": max_loss_ratio}
    cfg.check(f"{name}: loss ratio after training", scores["real_loss_ratio"], higher_is_better=False, **limits)
    if min_gain is None:
        cfg.record(f"{name}: held-out gain over permuted targets", scores["gain"])
    else:
        gains = {"full": min_gain, "lite": min_gain, "smoke": min_gain}
        cfg.check(f"{name}: held-out gain over permuted targets", scores["gain"], **gains)
    return scores
