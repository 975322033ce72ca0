"""Metrics that more than one notebook uses; each works as a ``metric`` for :func:`book_utils.train.fit`
(a function ``(outputs, targets) -> float``, averaged over batches weighted by batch size).

* :func:`accuracy`: top-1 accuracy (notebook 03-3 on; ``fit``'s default metric).
* :func:`log_likelihood` and :func:`negative_mse`: higher-is-better scores for :func:`~book_utils.learning.
  learning_check` where accuracy is too coarse (two classes with one strong cue) or there are no classes.
* :func:`topk_accuracy`: top-k accuracy, as in torchvision's model tables (03-6).
* :func:`per_char_accuracy` and :func:`whole_accuracy`: fixed-length multi-label captchas (04-5).
* :func:`binary_iou_dice`, :func:`confusion_matrix`, :func:`segmentation_scores`: segmentation (06-1, 06-2).
* :func:`psnr`, :func:`ssim`: image quality (06-4, chapter 8).
"""

from __future__ import annotations

from typing import Any

import numpy as np
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


def log_likelihood(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean log-probability of the true class (minus the cross-entropy): 0 when every prediction is certain
    and right. Introduced in 03-3."""
    return -torch.nn.functional.cross_entropy(outputs.float(), targets.long()).item()


def negative_mse(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Minus the mean squared error, so that higher is better (a regression's score for ``learning_check``)."""
    return -torch.nn.functional.mse_loss(outputs.float(), targets.float()).item()


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


# ------------------------------------------------------------------------------------------- segmentation
def binary_iou_dice(pred: torch.Tensor, target: torch.Tensor) -> tuple[float, float]:
    """IoU and Dice of two boolean masks of one shape (introduced in 06-1); both are 1.0 when both are empty."""
    pred, target = torch.as_tensor(pred).bool(), torch.as_tensor(target).bool()
    if pred.shape != target.shape:
        raise ValueError(f"masks of shapes {tuple(pred.shape)} and {tuple(target.shape)} cannot be compared")
    inter = (pred & target).sum().item()
    union = (pred | target).sum().item()
    total = pred.sum().item() + target.sum().item()
    return (inter / union if union else 1.0), (2 * inter / total if total else 1.0)


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int,
                     ignore_index: int | None = 255) -> torch.Tensor:
    """Pixel confusion matrix (rows: true class, columns: predicted), skipping ``ignore_index`` pixels (VOC's
    255 "void" band); int64 ``num_classes × num_classes``. Introduced in 06-2."""
    pred, target = torch.as_tensor(pred).long().reshape(-1), torch.as_tensor(target).long().reshape(-1)
    if pred.shape != target.shape:
        raise ValueError("prediction and target must have the same number of pixels")
    keep = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
    pred, target = pred[keep], target[keep]
    if len(target) and (target.min() < 0 or target.max() >= num_classes or pred.min() < 0 or pred.max() >= num_classes):
        raise ValueError(f"class indices must lie in 0..{num_classes - 1} (or be ignore_index={ignore_index})")
    return torch.bincount(target * num_classes + pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def segmentation_scores(cm: torch.Tensor) -> dict[str, Any]:
    """Pixel accuracy, per-class IoU (NaN for a class absent from both) and their mean (ignoring NaN)."""
    cm = torch.as_tensor(cm, dtype=torch.float64)
    tp = cm.diag()
    union = cm.sum(0) + cm.sum(1) - tp
    iou = torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))
    return {"pixel_accuracy": (tp.sum() / cm.sum().clamp(min=1)).item(), "iou": iou.tolist(),
            "miou": float(np.nanmean(iou.numpy())) if (union > 0).any() else float("nan")}


# ----------------------------------------------------------------------------------------- image quality
def psnr(image: Any, reference: Any, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB (``skimage.metrics.peak_signal_noise_ratio``); introduced in 06-4."""
    from skimage.metrics import peak_signal_noise_ratio

    a, b = _images(image, reference)
    return float(peak_signal_noise_ratio(b, a, data_range=data_range))


def ssim(image: Any, reference: Any, data_range: float = 1.0) -> float:
    """Structural similarity (``skimage.metrics.structural_similarity``; colour images channel-wise)."""
    from skimage.metrics import structural_similarity

    a, b = _images(image, reference)
    channel = -1 if a.ndim == 3 else None
    return float(structural_similarity(b, a, data_range=data_range, channel_axis=channel))


def _images(image: Any, reference: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two images as float64 numpy arrays of one shape (H×W or H×W×C; C×H×W tensors are moved)."""
    out = []
    for x in (image, reference):
        a = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
        if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
            a = np.moveaxis(a, 0, -1)
        out.append(np.squeeze(a.astype(np.float64)))
    if out[0].shape != out[1].shape:
        raise ValueError(f"images of shapes {out[0].shape} and {out[1].shape} cannot be compared")
    return out[0], out[1]
