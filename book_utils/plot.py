"""Small plotting helpers shared by the notebooks: image grids, boxes and masks on images, training curves,
confusion matrices and decision boundaries. Each function returns the matplotlib object it drew on and never
calls ``plt.show()``.

Images are drawn with fixed value ranges so that panels can be compared by eye: uint8 (and other integer
types) 0..255, uint16 0..65535, bool and floats 0..1. Pass ``vmin``/``vmax`` for another fixed range, or
``normalize=True`` to stretch each panel to its own min..max (kernels, feature maps, heatmaps).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import is_color_like, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from book_utils.standins.voc_format import voc_colormap

BOX_FORMATS = ("xyxy", "xywh", "cxcywh")
VOID_LABEL = 255  # "ignore" value of Pascal VOC-style label maps


def _to_numpy(x: Any) -> np.ndarray:
    """Convert a numpy array, a (possibly CUDA, grad-tracking) torch tensor, a PIL image or a list to numpy."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor, without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _as_image(img: Any, index: int, tensor: bool = False) -> np.ndarray:
    """Return one image as HxW or HxWxC (C in 3, 4); dtype and values untouched.

    When both ends could be channels (e.g. a 3x3x3 kernel), tensors are read as CxHxW, arrays as HxWxC.
    """
    tensor = tensor or hasattr(img, "detach")
    a = _to_numpy(img)
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and (tensor or a.shape[-1] not in (1, 3, 4)):
        a = np.moveaxis(a, 0, -1)  # CxHxW -> HxWxC
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise ValueError(f"image {index} has shape {a.shape}; expected HxW, HxWxC or CxHxW, C in (1, 3, 4)")
    return a


def _check_range(vmin: float | None, vmax: float | None, normalize: bool) -> None:
    if normalize and (vmin is not None or vmax is not None):
        raise ValueError("pass either normalize=True or vmin/vmax, not both")
    if vmin is not None and vmax is not None and not vmin < vmax:
        raise ValueError(f"vmin must be smaller than vmax, got vmin={vmin}, vmax={vmax}")


def _prepare(img: Any, index: int, vmin: float | None = None, vmax: float | None = None,
             normalize: bool = False, tensor: bool = False) -> tuple[np.ndarray, float, float]:
    """One image ready for ``imshow`` and the (vmin, vmax) it is shown with.

    Grayscale keeps its values (the range goes to ``imshow``); RGB(A) is mapped to 0..1 here, because
    ``imshow`` ignores vmin/vmax for colour images (uint8 RGB in 0..255 is passed through unchanged).
    """
    a = _as_image(img, index, tensor)
    if a.dtype == bool:
        a, default = a.astype(np.uint8), (0.0, 1.0)
    elif a.dtype == np.uint16:
        default = (0.0, 65535.0)
    elif np.issubdtype(a.dtype, np.integer):
        default = (0.0, 255.0)
    else:
        a, default = a.astype(np.float32), (0.0, 1.0)
    if normalize:
        finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else default
    else:
        lo = default[0] if vmin is None else float(vmin)
        hi = default[1] if vmax is None else float(vmax)
    if a.ndim == 3 and not (a.dtype == np.uint8 and (lo, hi) == (0.0, 255.0)):
        a = np.clip((a.astype(np.float32) - lo) / ((hi - lo) or 1.0), 0.0, 1.0)
    return a, lo, hi


def _imshow(ax: Axes, img: np.ndarray, lo: float, hi: float, cmap: str | None = None) -> None:
    if img.ndim == 2:
        ax.imshow(img, cmap=cmap or "gray", vmin=lo, vmax=hi)
    else:
        ax.imshow(img)


def show_images(
    images: Any, titles: Sequence[str] | None = None, ncols: int = 8, scale: float = 1.6,
    cmap: str | None = None, *, vmin: float | None = None, vmax: float | None = None, normalize: bool = False,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw images in a grid (introduced in 01-1); returns the figure.

    ``images``: a list, or an NxHxW / NxHxWxC / NxCxHxW array or tensor (where ambiguous, as for 3x3x3
    kernels, tensors are read as CxHxW and arrays as HxWxC). Fixed value ranges (uint8 0..255,
    bool and float 0..1) unless ``vmin``/``vmax`` (a fixed range for every panel; one of them alone keeps
    the dtype's default for the other) or ``normalize=True``: each panel stretched to its own min..max, what
    conv kernels, feature maps and heatmaps need. ``scale`` is the height of a cell in inches; its width
    follows the images' (median) aspect ratio. ``figsize`` overrides the computed size.
    """
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}")
    _check_range(vmin, vmax, normalize)
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
    tensor = hasattr(images, "detach")  # a batch tensor is NxCxHxW
    pics = [_prepare(im, i, vmin, vmax, normalize, tensor) for i, im in enumerate(items)]
    ncols = min(ncols, len(pics))
    nrows = math.ceil(len(pics) / ncols)
    if figsize is None:
        aspect = float(np.clip(np.median([p.shape[1] / p.shape[0] for p, _, _ in pics]), 0.25, 4.0))
        figsize = (ncols * scale * aspect, nrows * scale)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(pics):
            continue
        _imshow(ax, *pics[i], cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    fig.tight_layout()
    return fig


def _image_axes(
    image: Any, ax: Axes | None, figsize: tuple[float, float] | None
) -> tuple[Axes, tuple[int, int] | None]:
    """Draw ``image`` on ``ax`` or a new axes (None: nothing, needs ``ax``); return the axes and image HxW."""
    if image is None and ax is None:
        raise ValueError("image may only be None when drawing on an existing ax")
    pic = None if image is None else _prepare(image, 0)
    if ax is None:
        h, w = pic[0].shape[:2]
        _, ax = plt.subplots(figsize=figsize or (min(4.0 * w / h, 12.0), 4.0))
    if pic is None:
        return ax, None
    _imshow(ax, *pic)
    ax.axis("off")
    return ax, pic[0].shape[:2]


def _box_colours(colors: Any, n: int) -> list[Any]:
    if colors is None:
        return [f"C{i % 10}" for i in range(n)]
    if is_color_like(colors):
        return [colors] * n
    colors = list(colors)
    if not colors:
        raise ValueError("colors must not be empty")
    return [colors[i % len(colors)] for i in range(n)]


def show_boxes(
    image: Any, boxes: Any, labels: Sequence[str] | None = None, scores: Sequence[float] | None = None,
    *, ax: Axes | None = None, colors: Any = None, box_format: str = "xyxy", linewidth: float = 2.0,
    figsize: tuple[float, float] | None = None,
) -> Axes:
    """Draw an image and one rectangle per box (introduced in 05-1, object detection); returns the axes.

    ``boxes``: (N, 4) array, tensor or list in float pixel coordinates, ``box_format`` "xyxy" (x_min, y_min,
    x_max, y_max; torchvision's convention: [0, 0, W, H] is the whole image), "xywh" or "cxcywh".
    ``labels`` and ``scores`` (N each) are written at each box's top-left corner. ``colors``: one colour or
    a list (cycled; default one per box). With ``ax`` given, ``image`` may be None to add boxes only.
    The image uses show_images' fixed value ranges.
    """
    if box_format not in BOX_FORMATS:
        raise ValueError(f"unknown box_format {box_format!r}; expected one of {BOX_FORMATS}")
    fmt = getattr(getattr(boxes, "format", None), "name", None)  # torchvision tv_tensors.BoundingBoxes
    if isinstance(fmt, str) and fmt.lower() != box_format:
        raise ValueError(f"boxes are BoundingBoxes in format {fmt}, but box_format={box_format!r}")
    b = _to_numpy(boxes).astype(np.float64)
    if b.size == 0:
        b = b.reshape(0, 4)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4), got {b.shape}")
    n = len(b)
    if labels is not None and len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} boxes")
    if scores is not None and len(scores) != n:
        raise ValueError(f"got {len(scores)} scores for {n} boxes")
    if box_format == "xywh":
        b = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
    elif box_format == "cxcywh":
        b = np.concatenate([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], axis=1)
    if (b[:, 2:] < b[:, :2]).any():
        raise ValueError(f"boxes with x_max < x_min or y_max < y_min: are they really {box_format!r}?")
    ax, _ = _image_axes(image, ax, figsize)
    for i, ((x0, y0, x1, y1), colour) in enumerate(zip(b, _box_colours(colors, n))):
        # imshow centres pixel j on j, so pixel j spans j-0.5..j+0.5 and box coordinate x lies at x-0.5
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=colour,
                               linewidth=linewidth))
        parts = [str(labels[i])] if labels is not None else []
        parts += [f"{float(scores[i]):.2f}"] if scores is not None else []
        if parts:
            text_colour = "black" if np.dot(to_rgb(colour), (0.299, 0.587, 0.114)) > 0.5 else "white"
            ax.text(x0 - 0.5, y0 - 0.5, " ".join(parts), color=text_colour, fontsize=8, va="bottom",
                    ha="left", bbox={"facecolor": colour, "edgecolor": "none", "alpha": 0.8, "pad": 1.5})
    return ax


def show_masks(
    image: Any, masks: Any, labels: Sequence[str] | None = None, *, ax: Axes | None = None,
    alpha: float = 0.5, colors: Any = None, figsize: tuple[float, float] | None = None,
) -> Axes:
    """Overlay masks on an image (introduced in 06-1, segmentation); returns the axes.

    ``masks``: one HxW bool (or 0..1 float) mask; an NxHxW (or Nx1xHxW) stack of bool/0-1 masks, one colour
    each (instance masks; ``colors`` default tab10); or an HxW integer label map: 0 is background
    (transparent), 255 and negative values are void/ignore (light grey), other values are classes coloured
    with the Pascal VOC palette (``colors[k]`` overrides class k). ``labels`` adds a legend: one name per
    mask, or per class value for a label map (``labels[k]`` names class k). With ``ax`` given, ``image`` may
    be None to add the overlay only.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    m = _to_numpy(masks)
    if m.ndim == 4 and m.shape[1] == 1:
        m = m[:, 0]  # Nx1xHxW, as Mask R-CNN returns them
    label_map = m.ndim == 2 and np.issubdtype(m.dtype, np.integer)
    if m.ndim == 2 and not label_map:
        m = m[None]
    elif m.ndim != 3 and not label_map:
        raise ValueError(f"masks must be HxW, NxHxW or Nx1xHxW, got shape {m.shape}")
    ax, hw = _image_axes(image, ax, figsize)
    if hw is not None and tuple(m.shape[-2:]) != tuple(hw):
        raise ValueError(f"masks are {m.shape[-2]}x{m.shape[-1]} but the image is {hw[0]}x{hw[1]} (HxW)")
    overlay = np.zeros((*m.shape[-2:], 4), dtype=np.float32)
    legend: list[Patch] = []
    if label_map:
        if m.max(initial=0) > VOID_LABEL:
            raise ValueError(f"label map values must be at most {VOID_LABEL} (void), got {m.max()}")
        void = (m == VOID_LABEL) | (m < 0)
        classes = [int(k) for k in np.unique(m[~void]) if k != 0]
        names = {k: labels[k] if labels is not None and k < len(labels) else None for k in classes}
        if labels is not None and any(v is None for v in names.values()):
            raise ValueError(f"label map has classes {classes} but only {len(labels)} labels")
        for k in classes:
            colour = to_rgb(colors[k]) if colors is not None else voc_colormap()[k] / 255.0
            overlay[m == k] = (*colour, alpha)
            legend.append(Patch(color=colour, label=names[k]))
        if void.any():
            overlay[void] = (*(voc_colormap()[VOID_LABEL] / 255.0), alpha)
            legend.append(Patch(color=voc_colormap()[VOID_LABEL] / 255.0, label="void"))
    else:
        if m.dtype != bool:
            if m.size and (np.nanmin(m) < 0 or np.nanmax(m) > 1):
                raise ValueError("masks must hold bool or 0..1 values (an integer HxW is a label map)")
            m = m > 0.5
        if labels is not None and len(labels) != len(m):
            raise ValueError(f"got {len(labels)} labels for {len(m)} masks")
        cols = [f"C{i % 10}" for i in range(len(m))] if colors is None else _box_colours(colors, len(m))
        for i, mask in enumerate(m):  # later masks are drawn over earlier ones
            overlay[mask] = (*to_rgb(cols[i]), alpha)
            legend.append(Patch(color=to_rgb(cols[i]), label=None if labels is None else str(labels[i])))
    ax.imshow(overlay, interpolation="nearest")
    if labels is not None and legend:
        ax.legend(handles=legend, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax


def plot_history(
    history: Mapping[str, Sequence[float]], metrics: Sequence[str] | None = None, ax: Axes | None = None
) -> Figure:
    """Plot per-epoch curves (introduced in 03-3): losses on one axes, other metrics on another; train/val
    pairs share a colour. Returns the figure.

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
        epochs = max(len(history[k]) for k in group)
        a.set_xlabel("epoch")
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        if epochs == 1:  # one point (a smoke run): one tick, and say so instead of a fractional axis
            a.set_xlim(0.5, 1.5)
            a.set_xticks([1])
            a.set_title("one epoch: a point, not a curve", fontsize=9)
        a.set_ylabel("loss" if "loss" in group[0] else "metric")
        a.grid(alpha=0.3)
        a.legend()
    if ax is None:
        fig.tight_layout()
    return fig


def plot_confusion_matrix(
    cm: Any, labels: Sequence[str], ax: Axes | None = None, normalize: bool = False
) -> Axes:
    """Draw a confusion matrix (introduced in 01-1; rows: true labels, columns: predicted) with the count,
    or with ``normalize`` the row fraction, in every cell; returns the axes."""
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
    """Colour the plane by ``predict`` (a callable on an (N, 2) float array) and scatter the points ``X``,
    ``y`` (introduced in 01-2); returns the axes."""
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
