"""Metrics that more than one notebook uses; each works as a ``metric`` for :func:`book_utils.train.fit`
(a function ``(outputs, targets) -> float``, averaged over batches weighted by batch size).

* :func:`accuracy`: top-1 accuracy (notebook 03-3 on; ``fit``'s default metric).
* :func:`log_likelihood` and :func:`negative_mse`: higher-is-better scores for :func:`~book_utils.learning.
  learning_check` where accuracy is too coarse (two classes with one strong cue) or there are no classes.
* :func:`topk_accuracy`: top-k accuracy, as in torchvision's model tables (03-6).
* :func:`per_char_accuracy` and :func:`whole_accuracy`: fixed-length multi-label captchas (04-5).
* :func:`ctc_greedy_decode`, :func:`sequence_accuracy`, :func:`char_error_rate` (and :func:`edit_distance`):
  variable-length sequences read with CTC (09-4); targets are ``(targets, lengths)`` pairs.
* :func:`binary_iou_dice`, :func:`confusion_matrix`, :func:`segmentation_scores`: segmentation (06-1, 06-2).
* :func:`psnr`, :func:`ssim`: image quality (06-4, chapter 8); :func:`laplacian_sharpness`: fine detail (08-1).
* :func:`frechet_distance`, :func:`kernel_distance`: how far apart two feature distributions are (08-2, 08-3).
"""

from __future__ import annotations

from collections.abc import Sequence
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


# ------------------------------------------------------------------------------- CTC sequences (09-4)
def ctc_greedy_decode(log_probs: torch.Tensor, blank: int = 0) -> list[list[int]]:
    """Greedy (best-path) CTC decoding of ``(T, N, C)`` scores: the argmax class at each step, adjacent
    repeats merged, then blanks dropped; one list of class indices per sample. Introduced in 09-4."""
    if not isinstance(log_probs, torch.Tensor) or log_probs.ndim != 3:
        raise ValueError(f"ctc_greedy_decode expects a (T, N, C) tensor, got {getattr(log_probs, 'shape', log_probs)}")
    best = log_probs.argmax(dim=2).T.tolist()  # N lists of T classes
    decoded = []
    for path in best:
        kept, previous = [], None
        for k in path:
            if k != previous and k != blank:
                kept.append(k)
            previous = k
        decoded.append(kept)
    return decoded


def _sequences(x: Any, name: str) -> list[list[int]]:
    """Sequences of class indices from ``(T, N, C)`` scores (greedy-decoded), a ``(targets, lengths)`` pair
    (concatenated targets, as :func:`book_utils.datasets.captcha_lines.ctc_collate` makes), or a list of
    sequences."""
    if isinstance(x, torch.Tensor):
        return ctc_greedy_decode(x)
    if isinstance(x, tuple) and len(x) == 2 and all(isinstance(v, torch.Tensor) for v in x) and x[1].ndim == 1:
        flat, lengths = x[0].reshape(-1).tolist(), x[1].tolist()
        if sum(lengths) != len(flat):
            raise ValueError(f"{name}: lengths sum to {sum(lengths)} but there are {len(flat)} concatenated targets")
        out, start = [], 0
        for n in lengths:
            out.append(flat[start:start + n])
            start += n
        return out
    if isinstance(x, (list, tuple)):
        return [torch.as_tensor(s).reshape(-1).tolist() if not isinstance(s, list) else list(s) for s in x]
    raise TypeError(f"{name}: expected (T, N, C) scores, a (targets, lengths) pair or a list of sequences")


def _pairs(outputs: Any, targets: Any) -> tuple[list[list[int]], list[list[int]]]:
    pred, true = _sequences(outputs, "outputs"), _sequences(targets, "targets")
    if len(pred) != len(true):
        raise ValueError(f"{len(pred)} predicted sequences but {len(true)} targets")
    return pred, true


def edit_distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions that turn ``a`` into ``b``."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        diag, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diag + (x != y))
    return row[-1]


def sequence_accuracy(outputs: Any, targets: Any) -> float:
    """Fraction of samples whose decoded sequence equals the target exactly (a ``fit`` metric; 09-4).

    ``outputs``: ``(T, N, C)`` scores (greedy-decoded with blank 0) or decoded sequences; ``targets``: the
    ``(targets, lengths)`` pair of a CTC batch or a list of sequences.
    """
    pred, true = _pairs(outputs, targets)
    return sum(p == t for p, t in zip(pred, true)) / len(true) if true else 0.0


def char_error_rate(outputs: Any, targets: Any) -> float:
    """Character error rate: summed edit distances over summed target lengths (0 is perfect; insertions
    can push it above 1). Arguments as in :func:`sequence_accuracy`; lower is better, so a higher-is-better
    metric for ``fit`` is ``1 - char_error_rate``. With only empty targets, the number of inserted symbols."""
    pred, true = _pairs(outputs, targets)
    edits = sum(edit_distance(p, t) for p, t in zip(pred, true))
    return edits / max(sum(len(t) for t in true), 1)


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


def laplacian_sharpness(images: Any) -> float:
    """Mean variance of the Laplacian over a batch of images (N×H×W, N×1×H×W or one H×W): how much fine
    detail they hold. Blurry reconstructions score far below their targets; compare a model's output with its
    target as a ratio (08-1, 08-3)."""
    from scipy.ndimage import laplace

    a = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    a = a.astype(np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 4:
        a = a.mean(axis=1)  # channels averaged: sharpness of the luminance
    return float(np.mean([laplace(x).var() for x in a]))


# ------------------------------------------------------------------------------ distribution distances
def frechet_distance(features_a: Any, features_b: Any) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows = samples), the idea of FID.

    ``‖μa − μb‖² + tr(Σa + Σb − 2 (Σa Σb)^½)``. It is biased for small samples (it shrinks as the sample
    grows), so compare only values computed at the same sample size (chapter 8 uses a fixed one).
    """
    from scipy import linalg

    a, b = (np.asarray(f.detach().cpu() if hasattr(f, "detach") else f, dtype=np.float64) for f in (features_a, features_b))
    mu = a.mean(0) - b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(ca @ cb)
    if not np.isfinite(root).all():  # a singular product: nudge both covariances
        eps = np.eye(len(ca)) * 1e-6
        root = linalg.sqrtm((ca + eps) @ (cb + eps))
    return float(mu @ mu + np.trace(ca + cb - 2 * np.real(root)))


def kernel_distance(features_a: Any, features_b: Any) -> float:
    """Unbiased squared maximum mean discrepancy with the cubic polynomial kernel ``(x·y / d + 1)³`` (the
    kernel inception distance's estimator): near 0 for two samples of one distribution at any sample size,
    so it suits the small samples a CPU can afford better than the Fréchet distance."""
    a, b = (np.asarray(f.detach().cpu() if hasattr(f, "detach") else f, dtype=np.float64) for f in (features_a, features_b))
    d = a.shape[1]
    m, n = len(a), len(b)
    if m < 2 or n < 2:
        raise ValueError("the kernel distance needs at least two samples on each side")
    kaa, kbb, kab = ((x @ y.T / d + 1) ** 3 for x, y in ((a, a), (b, b), (a, b)))
    return float((kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
                 - 2 * kab.mean())
