"""The book's sun scenes (chapters 5 and 6) in the book's own layout, read the way the book reads them.

Introduced in notebook 05-1. The book generates this dataset itself (``source == "generated"``): 1–3 suns
pasted on a 300×300 sky, labelled ``[(cx, cy, side), ...]`` in ``NNNN.txt`` beside ``NNNN.jpg``, with a 0/255
mask in ``segmentation/NNNN.png``; see :mod:`book_utils.standins.sun_scenes`. Put your own background photos
in ``<data_dir>/sun_scenes/user_backgrounds/`` to draw the scenes on them instead (the book used ~1,500 sky
photos). Targets follow torchvision's detection format: ``{"boxes": float32 (k, 4) xyxy, "labels": int64
(k,), "masks": uint8 (k, H, W)}`` with boxes and masks as ``tv_tensors.BoundingBoxes``/``Mask``, so a
``torchvision.transforms.v2`` pipeline passed as ``transforms`` moves them with the image; the split is the book's ``train_test_split(test_size=0.2,
random_state=20)`` over the sorted file names.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from book_utils._validate import require_int
from book_utils.datasets._base import (
    DatasetCacheError,
    announce,
    apply_transforms,
    check_source,
    check_split,
    detection_target,
    generated,
)

TITLE = "Sun scenes"
SPLITS = ("train", "test", "all")
CLASSES = ["background", "sun"]
_PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def read_label(path: Path) -> list[tuple[int, int, int]]:
    """The book's label file ``[(cx, cy, side), ...]`` read safely (``ast.literal_eval``, never ``eval``)."""
    try:
        value = ast.literal_eval(Path(path).read_text())
        boxes = [tuple(int(v) for v in box) for box in value]
    except (OSError, ValueError, SyntaxError, TypeError) as exc:
        raise ValueError(f"{path} is not a list of (cx, cy, side) tuples: {exc}") from exc
    if any(len(b) != 3 for b in boxes):
        raise ValueError(f"{path}: every box must be (cx, cy, side), got {boxes}")
    return boxes  # type: ignore[return-value]


class SunScenes(Dataset):
    """One split of the scenes: ``(PIL RGB image, target dict)`` pairs.

    ``names`` are the file stems, ``targets`` the xyxy box arrays, ``annotations`` the book's raw
    ``(cx, cy, side)`` labels; masks are read from the union mask, one per box (the suns never overlap).
    """

    def __init__(self, folder: Path, split: str, names: list[str], transform: Callable | None = None,
                 target_transform: Callable | None = None, transforms: Callable | None = None) -> None:
        from book_utils.standins.sun_scenes import pasted_square

        self.root, self.split, self.source, self.classes = Path(folder), split, "generated", list(CLASSES)
        self.names = names
        self.transform, self.target_transform, self.transforms = transform, target_transform, transforms
        self.annotations = [read_label(self.root / "object_detection" / f"{n}.txt") for n in names]
        self.targets = [np.array([pasted_square(*b) for b in boxes], dtype=np.float32).reshape(-1, 4)
                        for boxes in self.annotations]

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        name = self.names[index]
        with Image.open(self.root / "object_detection" / f"{name}.jpg") as im:
            img: Any = im.convert("RGB")
        with Image.open(self.root / "segmentation" / f"{name}.png") as im:
            union = np.asarray(im.convert("L")) > 127
        boxes = self.targets[index]
        masks = np.zeros((len(boxes), *union.shape), dtype=np.uint8)
        for k, (x0, y0, x1, y1) in enumerate(boxes.astype(int)):
            masks[k, y0:y1, x0:x1] = union[y0:y1, x0:x1]
        return apply_transforms(img, detection_target(boxes, np.ones(len(boxes), np.int64), masks, img.size[::-1]),
                                self.transform, self.target_transform, self.transforms)


def user_backgrounds() -> list[Path]:
    """Your own background photos, if any: ``<data_dir>/sun_scenes/user_backgrounds/*`` (sorted)."""
    from book_utils.config import data_dir

    folder = data_dir() / "sun_scenes" / "user_backgrounds"
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in _PHOTO_SUFFIXES) if folder.is_dir() else []


def background_tag(photos: list[Path]) -> str:
    """``"bundled"``, or a short hash of your background photos' names and sizes (part of the folder name)."""
    if not photos:
        return "bundled"
    return hashlib.sha256("".join(f"{p.name}:{p.stat().st_size}" for p in photos).encode()).hexdigest()[:8]


def scenes_folder(n: int, seed: int = 0) -> Path:
    """The generated folder with ``n`` scenes (both layouts; built once, then cached)."""
    from PIL import Image

    from book_utils.standins import sun_scenes as gen

    photos = user_backgrounds()
    tag = background_tag(photos)

    def build(tmp: Path) -> dict:
        arrays = [np.asarray(Image.open(p).convert("RGB")) for p in photos]
        return gen.write_sun_scenes(tmp, n, seed, arrays)

    return generated("sun_scenes", gen.VERSION, build, {"n": n, "seed": seed, "bg": tag})


def load_sun_scenes(
    split: str = "train",
    *,
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    source: str = "auto",
    root: Path | str | None = None,
    verbose: bool = True,
    n: int = 1489,
    seed: int = 0,
    transforms: Callable | None = None,
) -> SunScenes:
    """``n`` sun scenes (the book made 1,489), split ``"train"`` (80%), ``"test"`` (20%) or ``"all"``.

    Scene ``i`` is the same for every ``n``, so a smaller ``n`` is a prefix of a larger one. ``transform``
    gets the PIL image, ``target_transform`` the target dict, ``transforms`` both at once (a joint
    ``transforms.v2`` pipeline that resizes or flips the boxes and masks with the image).
    """
    from book_utils.standins.sun_scenes import book_split

    check_split(split, SPLITS)
    check_source(source, generated=True)
    if root is not None:
        raise ValueError("the sun scenes are generated; there are no real files, so root must be None "
                         "(put your own background photos in <data_dir>/sun_scenes/user_backgrounds/)")
    n, seed = require_int("n", n, 10), require_int("seed", seed, 0)
    folder = scenes_folder(n, seed)
    names = sorted(p.stem for p in (folder / "object_detection").glob("*.jpg"))
    if len(names) != n:
        raise DatasetCacheError(folder, f"{len(names)} images instead of {n}")
    train, test = book_split(names)
    chosen = {"train": train, "test": test, "all": names}[split]
    detail = "the book's synthetic dataset, drawn here; see data/README.md"
    announce(TITLE, "generated", folder, detail, verbose)
    return SunScenes(folder, split, sorted(chosen), transform, target_transform, transforms)
