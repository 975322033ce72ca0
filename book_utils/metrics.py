"""Metrics that more than one notebook uses; each works as a ``metric`` for :func:`book_utils.train.fit`
(a function ``(outputs, targets) -> float``, averaged over batches weighted by batch size).

* :func:`accuracy`: top-1 accuracy (notebook 03-3 on; ``fit``'s default metric).
* :func:`topk_accuracy`: top-k accuracy, as in torchvision's model tables (03-6).
* :func:`per_char_accuracy` and :func:`whole_accuracy`: fixed-length multi-label captchas (04-5).
"""

from __future__ import annotations

import torch

CAPTCHA_CLASSES = 36  # 0-9 and a-z


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Top-1 accuracy of logits ``N×C`` against class indices ``N`` (or one-hot/soft targets ``N×C``).

    A single logit per sample (``N`` or ``N×1``) is read as binary: positive means class 1.
    """
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        predicted = outputs.argmax(dim=1)
        if targets.ndim == 2 and targets.shape == outputs.shape:
            targets = targets.argmax(dim=1)
    elif outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1):
        predicted = (outputs.reshape(-1) > 0).long()
    else:
        raise ValueError(f"accuracy expects logits of shape N×C or N, got {tuple(outputs.shape)}")
    targets = targets.reshape(-1)
    if targets.shape[0] != predicted.shape[0]:
        raise ValueError(
            f"accuracy: {predicted.shape[0]} predictions but {targets.shape[0]} targets; for multi-label or "
            "regression targets pass metric=None or your own metric function."
        )
    return (predicted == targets.long()).float().mean().item()


def topk_accuracy(outputs: torch.Tensor, targets: torch.Tensor, k: int = 5) -> float:
    """Fraction of samples whose true class is among the ``k`` highest logits (``N×C`` logits, ``N`` labels)."""
    if outputs.ndim != 2 or not 1 <= k <= outputs.shape[1]:
        raise ValueError(f"topk_accuracy needs N×C logits with 1 <= k <= C, got {tuple(outputs.shape)} and k={k}")
    if targets.shape != outputs.shape[:1]:
        raise ValueError(f"targets must be N class indices, got shape {tuple(targets.shape)}")
    top = outputs.topk(k, dim=1).indices
    return (top == targets.long().unsqueeze(1)).any(dim=1).float().mean().item()


def _positions(outputs: torch.Tensor, targets: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    n_out = length * CAPTCHA_CLASSES
    if outputs.ndim != 2 or outputs.shape[1] != n_out or outputs.shape != targets.shape:
        raise ValueError(
            f"outputs and targets must both have shape (N, {n_out}); got {tuple(outputs.shape)} and "
            f"{tuple(targets.shape)}"
        )
    return (outputs.reshape(-1, length, CAPTCHA_CLASSES).argmax(-1),
            targets.reshape(-1, length, CAPTCHA_CLASSES).argmax(-1))


def per_char_accuracy(outputs: torch.Tensor, targets: torch.Tensor, length: int = 4) -> float:
    """Fraction of captcha characters whose argmax class matches the one-hot target's (``N×(length·36)``)."""
    pred, true = _positions(outputs, targets, length)
    return (pred == true).float().mean().item()


def whole_accuracy(outputs: torch.Tensor, targets: torch.Tensor, length: int = 4) -> float:
    """Fraction of captchas with every character right."""
    pred, true = _positions(outputs, targets, length)
    return (pred == true).all(dim=1).float().mean().item()
