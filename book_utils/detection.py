"""Detection helpers that chapters 5 and 6 share: batching images with box lists, and average precision.

Introduced in notebook 05-1 (collate functions) and 05-3 (average precision). Boxes are torchvision's xyxy
float pixel coordinates. IoU, anchors, box coding and NMS are taught in notebook 05-2 and stay there; the AP
here uses ``torchvision.ops.box_iou``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from book_utils._validate import require_choice


def stack_images(batch: Sequence[tuple[Any, Any]]) -> tuple[torch.Tensor, list[Any]]:
    """Collate for equal-size images with a varying number of boxes: stacked images, targets as a list.

    The default collate cannot stack 1 box with 3 boxes; this is the book's ``collate_fn``.
    """
    images, targets = zip(*batch)
    return torch.stack(list(images)), list(targets)


def as_lists(batch: Sequence[tuple[Any, Any]]) -> tuple[list[Any], list[Any]]:
    """Collate for torchvision's detection models, which take lists of images (of any sizes) and targets."""
    images, targets = zip(*batch)
    return list(images), list(targets)


def _as_boxes(x: Any) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x, dtype=np.float32) if not isinstance(x, torch.Tensor) else x).float()
    t = t.reshape(-1, 4)
    return t


def _precision_envelope(precision: np.ndarray) -> np.ndarray:
    """Make precision non-increasing in recall (each point takes the best precision at any higher recall)."""
    return np.maximum.accumulate(precision[::-1])[::-1]


def average_precision(
    detections: Sequence[tuple[Any, Any]],
    ground_truth: Sequence[Any],
    iou_threshold: float = 0.5,
    method: str = "voc",
) -> float:
    """AP of one class over a set of images.

    ``detections[i]`` is ``(boxes (k, 4), scores (k,))`` for image ``i``, ``ground_truth[i]`` its true
    boxes ``(m, 4)``. Detections are matched greedily by descending score: a detection is a true positive if
    its IoU with a not-yet-matched true box of the same image is at least ``iou_threshold``. ``method``:
    ``"voc"`` integrates the precision envelope at every recall step (VOC 2010+ "all points"), ``"coco"``
    averages it at the 101 recalls 0, 0.01, ..., 1.
    """
    from torchvision.ops import box_iou

    require_choice("method", method, ("voc", "coco"))
    if len(detections) != len(ground_truth):
        raise ValueError(f"{len(detections)} images of detections but {len(ground_truth)} of ground truth")
    records: list[tuple[float, int, int]] = []  # (score, image, detection index)
    gts = [_as_boxes(g) for g in ground_truth]
    dets = []
    for i, (boxes, scores) in enumerate(detections):
        b, s = _as_boxes(boxes), torch.as_tensor(scores, dtype=torch.float32).reshape(-1)
        if len(b) != len(s):
            raise ValueError(f"image {i}: {len(b)} boxes but {len(s)} scores")
        dets.append(b)
        records += [(float(score), i, j) for j, score in enumerate(s.tolist())]
    n_true = sum(len(g) for g in gts)
    if n_true == 0:
        raise ValueError("no ground-truth boxes: AP is undefined")
    records.sort(key=lambda r: -r[0])
    matched = [np.zeros(len(g), dtype=bool) for g in gts]
    ious = [box_iou(d, g).numpy() if len(d) and len(g) else np.zeros((len(d), len(g))) for d, g in zip(dets, gts)]
    tp = np.zeros(len(records))
    for k, (_, i, j) in enumerate(records):
        if ious[i].shape[1] == 0:
            continue
        row = np.where(matched[i], -1.0, ious[i][j])
        best = int(row.argmax())
        if row[best] >= iou_threshold:
            matched[i][best] = True
            tp[k] = 1
    if not len(records):
        return 0.0
    cum_tp = np.cumsum(tp)
    recall = cum_tp / n_true
    precision = cum_tp / np.arange(1, len(records) + 1)
    if method == "voc":
        r = np.concatenate([[0.0], recall, [1.0]])
        p = _precision_envelope(np.concatenate([[0.0], precision, [0.0]]))
        steps = np.flatnonzero(r[1:] != r[:-1])
        return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))
    envelope = _precision_envelope(precision)
    points = np.linspace(0, 1, 101)
    idx = np.searchsorted(recall, points, side="left")
    return float(np.mean([envelope[i] if i < len(envelope) else 0.0 for i in idx]))


def coco_map(detections: Sequence[tuple[Any, Any]], ground_truth: Sequence[Any]) -> float:
    """COCO's mAP for one class: the 101-point AP averaged over IoU thresholds 0.50, 0.55, ..., 0.95."""
    return float(np.mean([average_precision(detections, ground_truth, t, "coco")
                          for t in np.linspace(0.5, 0.95, 10)]))


def _to(device: Any, images: Sequence[Any], targets: Sequence[dict[str, Any]]) -> tuple[list, list]:
    images = [img.to(device) for img in images]
    targets = [{k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in t.items()} for t in targets]
    return images, targets


def fit_detection(model: torch.nn.Module, loader: Any, *, epochs: int, optimizer: torch.optim.Optimizer,
                  scheduler: Any = None, device: Any = None, desc: str = "detector",
                  grad_clip: float | None = 10.0) -> Any:
    """Train a torchvision detection model (introduced in 05-4), which takes lists of images and target dicts
    and returns a dict of losses in train mode; the :class:`~book_utils.train.History` records each loss term
    (``train_loss_classifier``, ``train_loss_box_reg``, ...) and their sum (``train_loss``) per epoch.
    ``scheduler`` steps once per epoch. ``loader`` yields ``(images, targets)`` lists (:func:`as_lists`)."""
    import math

    from book_utils._validate import require_int
    from book_utils.config import select_device
    from book_utils.interactive import progress
    from book_utils.train import History

    epochs = require_int("epochs", epochs, 1)
    device = torch.device(device) if device is not None else select_device()
    model.to(device)
    history = History()
    for epoch in progress(range(epochs), desc=desc, unit="epoch"):
        model.train()
        sums: dict[str, float] = {}
        seen = 0
        for images, targets in progress(loader, desc=f"epoch {epoch + 1}", leave=False, unit="batch"):
            images, targets = _to(device, images, targets)
            losses = model(images, targets)
            loss = sum(losses.values())
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"the loss became {loss.item()} at epoch {epoch + 1}: lower the learning "
                                         "rate or check the boxes (x1 > x0, y1 > y0, inside the image).")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            n = len(images)
            seen += n
            for key, value in {"loss": loss, **losses}.items():
                sums[key] = sums.get(key, 0.0) + value.item() * n
        if scheduler is not None:
            scheduler.step()
        history.append(**{f"train_{k}": v / max(seen, 1) for k, v in sums.items()})
    return history


def collect_detections(model: torch.nn.Module, loader: Any, device: Any = None) -> tuple[list[dict], list[Any]]:
    """Run a torchvision detector over ``loader`` (lists of images and targets, :func:`as_lists`) in eval mode
    without gradients: its detection dicts (on the CPU) and the targets, in loader order (05-4, 06-3)."""
    device = device or next(model.parameters()).device
    outputs: list[dict] = []
    truths: list[Any] = []
    model.eval()
    with torch.inference_mode():
        for images, targets in loader:
            images, _ = _to(device, images, [])
            outputs += [{k: v.cpu() for k, v in out.items()} for out in model(images)]
            truths += list(targets)
    return outputs, truths
