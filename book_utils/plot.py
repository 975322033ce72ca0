"""Small plotting helpers shared by the notebooks: image grids, training curves, confusion matrices and
decision boundaries. Each function returns the matplotlib object it drew on and never calls ``plt.show()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def _to_numpy(x: Any) -> np.ndarray:
    """Convert a numpy array, a (possibly CUDA, grad-tracking) torch tensor, a PIL image or a list to numpy."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor, without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _as_image(img: Any, index: int) -> np.ndarray:
    """Return one image as HxW or HxWxC (C in 1, 3, 4) ready for ``imshow``."""
    a = _to_numpy(img)
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[-1] not in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)  # CxHxW -> HxWxC
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise ValueError(f"image {index} has shape {a.shape}; expected HxW, HxWxC or CxHxW, C in (1, 3, 4)")
    if a.dtype == bool:
        a = a.astype(np.uint8)
    elif a.dtype != np.uint8 and a.ndim == 3:
        a = np.clip(a.astype(np.float32), 0.0, 1.0)  # float RGB must lie in 0..1
    return a


def show_images(
    images: Any, titles: Sequence[str] | None = None, ncols: int = 8, scale: float = 1.6, cmap: str | None = None
) -> Figure:
    """Draw images in a grid (a list, or an NxHxW / NxHxWxC / NxCxHxW array or tensor); returns the figure."""
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}")
    if isinstance(images, (list, tuple)):
        items = list(images)
    else:
        arr = _to_numpy(images)
        if arr.ndim not in (3, 4):
            raise ValueError(f"a batch of images must have 3 or 4 dimensions, got shape {arr.shape}")
        items = list(arr)
    if not items:
        raise ValueError("show_images needs at least one image")
    if titles is not None and len(titles) != len(items):
        raise ValueError(f"got {len(titles)} titles for {len(items)} images")
    pics = [_as_image(im, i) for i, im in enumerate(items)]
    ncols = min(ncols, len(pics))
    nrows = math.ceil(len(pics) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * scale), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(pics):
            continue
        ax.imshow(pics[i], cmap=cmap if cmap is not None else ("gray" if pics[i].ndim == 2 else None))
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    fig.tight_layout()
    return fig


def plot_history(
    history: Mapping[str, Sequence[float]], metrics: Sequence[str] | None = None, ax: Axes | None = None
) -> Figure:
    """Plot per-epoch curves: losses on one axes, other metrics on another; train/val pairs share a colour.

    ``metrics`` selects keys (default: every key except ``lr`` and ``epoch_time``). With ``ax`` given,
    everything is drawn on that one axes.
    """
    history = getattr(history, "history", history)  # accept a book_utils.train.History as well
    if not isinstance(history, Mapping) or not history:
        raise ValueError("history must be a non-empty mapping of name -> list of per-epoch values")
    keys = list(metrics) if metrics is not None else [k for k in history if k not in ("lr", "epoch_time")]
    missing = [k for k in keys if k not in history]
    if missing:
        raise KeyError(f"metrics {missing} not in history; available: {sorted(history)}")
    keys = [k for k in keys if len(history[k]) > 0]  # e.g. val_* stays empty without a val_loader
    if not keys:
        raise ValueError("history holds no values to plot")
    groups = [[k for k in keys if "loss" in k], [k for k in keys if "loss" not in k]]
    groups = [g for g in groups if g]
    if ax is not None:
        fig, axes = ax.figure, [ax] * len(groups)
    else:
        fig, axs = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 3.5), squeeze=False)
        axes = list(axs.flat)
    colours: dict[str, Any] = {}
    for group, a in zip(groups, axes):
        for k in group:
            base = k.removeprefix("train_").removeprefix("val_")
            colour = colours.setdefault(base, f"C{len(colours) % 10}")
            values = [float(v) for v in history[k]]
            a.plot(range(1, len(values) + 1), values, color=colour,
                   linestyle="--" if k.startswith("val_") else "-", marker="o" if len(values) < 30 else None,
                   label=k)
        a.set_xlabel("epoch")
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.set_ylabel("loss" if "loss" in group[0] else "metric")
        a.grid(alpha=0.3)
        a.legend()
    if ax is None:
        fig.tight_layout()
    return fig


def plot_confusion_matrix(
    cm: Any, labels: Sequence[str], ax: Axes | None = None, normalize: bool = False
) -> Axes:
    """Draw a confusion matrix (rows: true labels, columns: predicted) with the count in every cell."""
    m = _to_numpy(cm).astype(float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"confusion matrix must be square 2-D, got shape {m.shape}")
    if len(labels) != m.shape[0]:
        raise ValueError(f"got {len(labels)} labels for a {m.shape[0]}x{m.shape[1]} confusion matrix")
    if normalize:
        rows = m.sum(axis=1, keepdims=True)
        m = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    if ax is None:
        size = max(3.5, 0.6 * len(labels) + 1.5)
        _, ax = plt.subplots(figsize=(size, size))
    ax.imshow(m, cmap="Blues", vmin=0)
    threshold = m.max() / 2 if m.size else 0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            text = f"{m[i, j]:.2f}" if normalize else f"{int(round(m[i, j]))}"
            ax.text(j, i, text, ha="center", va="center", color="white" if m[i, j] > threshold else "black")
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, [str(label) for label in labels], rotation=45, ha="right")
    ax.set_yticks(ticks, [str(label) for label in labels])
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    return ax


def plot_decision_boundary(
    predict: Callable[[np.ndarray], Any], X: Any, y: Any, ax: Axes | None = None, resolution: int = 200
) -> Axes:
    """Colour the plane by ``predict`` (a callable on an (N, 2) float array) and scatter the points ``X``, ``y``."""
    X = _to_numpy(X).astype(float)
    y = _to_numpy(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got {X.shape}")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must be 1-D with one label per row of X: X has {len(X)} rows, y has shape {y.shape}")
    if not callable(predict):
        raise TypeError("predict must be a callable such as model.predict")
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    pad = 0.05 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    zz = _to_numpy(predict(np.c_[xx.ravel(), yy.ravel()]))
    if zz.size != xx.size:
        raise ValueError(f"predict returned {zz.size} labels for {xx.size} grid points")
    classes = np.unique(np.concatenate([np.unique(y), np.unique(zz)]))
    codes = np.searchsorted(classes, zz.reshape(xx.shape))
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    levels = np.arange(len(classes) + 1) - 0.5
    ax.contourf(xx, yy, codes, levels=levels, cmap="tab10", vmin=0, vmax=9, alpha=0.3)
    ax.scatter(X[:, 0], X[:, 1], c=np.searchsorted(classes, y), cmap="tab10", vmin=0, vmax=9,
               edgecolors="k", linewidths=0.4, s=20)
    return ax
