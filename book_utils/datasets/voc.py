"""Pascal VOC 2012 (detection, semantic and instance segmentation): the real set when on disk or reachable,
else the generated scenes written in VOC's layout (chapters 5 and 6).

Introduced in notebook 05-4 (Faster R-CNN on the VOC copy) and used by chapter 6. The real VOC2012
(2 GB, 20 classes) is looked for in ``<data_dir>/voc/VOCdevkit/VOC2012`` and downloaded there by
torchvision's md5-checked ``VOCDetection(download=True)`` when online; offline the stand-in is a generated
set in the same layout, read by the same code below (and by ``torchvision.datasets.VOCDetection``):
``flavour="suns"``, the one-class sun scenes of :mod:`book_utils.standins.sun_scenes` (chapter 5), or
``flavour="sky"``, the four-class sky scenes of :mod:`book_utils.standins.sky_scenes` (chapter 6). Targets: detection ``{"boxes": float32 (k, 4) xyxy pixel edges,
"labels": int64}``; segmentation a uint8 ``H×W`` class map (255 = void, as in VOC); instances adds
``"masks"`` uint8 ``(k, H, W)`` from ``SegmentationObject``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from book_utils._validate import require_choice, require_int
from book_utils.datasets._base import (
    RealFiles,
    announce,
    apply_transforms,
    check_split,
    choose_source,
    detection_target,
)

TITLE = "Pascal VOC 2012"
SPLITS = ("train", "val", "trainval")
TASKS = ("detection", "segmentation", "instances")
FLAVOURS = ("suns", "sky")
VOC_CLASSES = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor"]
VOID = 255


def parse_annotation(path: Path, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (float32 (k, 4), xyxy pixel edges: VOC's 1-based inclusive ``xmin`` becomes ``xmin - 1``) and
    label indices into ``classes`` from one VOC XML file; objects marked ``difficult`` are kept."""
    root = ET.parse(path).getroot()
    boxes, labels = [], []
    for obj in root.iter("object"):
        box = obj.find("bndbox")
        name = obj.findtext("name", "").strip()
        if box is None or name not in classes:
            raise ValueError(f"{path}: object {name!r} without a box or not one of {classes[1:]}")
        x0, y0, x1, y1 = (float(box.findtext(k, "nan")) for k in ("xmin", "ymin", "xmax", "ymax"))
        boxes.append((x0 - 1, y0 - 1, x1, y1))
        labels.append(classes.index(name))
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4), np.asarray(labels, dtype=np.int64)


class VOC(Dataset):
    """One split of a VOC-layout folder for one task; ``ids`` are the image names of the split's list."""

    def __init__(self, root: Path, split: str, task: str, classes: list[str], source: str,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 transforms: Callable | None = None) -> None:
        self.root, self.split, self.task, self.classes, self.source = Path(root), split, task, classes, source
        self.transform, self.target_transform, self.transforms = transform, target_transform, transforms
        listing = "Main" if task == "detection" else "Segmentation"
        self.ids = (self.root / "ImageSets" / listing / f"{split}.txt").read_text().split()
        self.targets = [parse_annotation(self.root / "Annotations" / f"{i}.xml", classes)[1] for i in self.ids] \
            if task != "segmentation" else [i for i in self.ids]

    def __len__(self) -> int:
        return len(self.ids)

    def _png(self, folder: str, image_id: str) -> np.ndarray:
        from PIL import Image

        with Image.open(self.root / folder / f"{image_id}.png") as im:
            return np.asarray(im)  # palette indices, not colours

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        image_id = self.ids[index]
        with Image.open(self.root / "JPEGImages" / f"{image_id}.jpg") as im:
            img: Any = im.convert("RGB")
        target: Any
        if self.task == "segmentation":
            from torchvision import tv_tensors

            target = tv_tensors.Mask(torch.from_numpy(self._png("SegmentationClass", image_id).astype(np.uint8)))
        else:
            boxes, labels = parse_annotation(self.root / "Annotations" / f"{image_id}.xml", self.classes)
            masks = None
            if self.task == "instances":
                objects = self._png("SegmentationObject", image_id)
                masks = np.stack([objects == k + 1 for k in range(len(boxes))]).astype(np.uint8)
                masks = masks.reshape(len(boxes), *objects.shape)
            target = detection_target(boxes, labels, masks, img.size[::-1])
        return apply_transforms(img, target, self.transform, self.target_transform, self.transforms)


def _find_real(base: Path) -> RealFiles:
    folder = base / "VOCdevkit" / "VOC2012"
    if not folder.is_dir():
        return RealFiles(folder)
    missing = [p for p in ("JPEGImages", "Annotations", "ImageSets/Main/train.txt") if not (folder / p).exists()]
    if missing:
        return RealFiles(folder, problem=f"{', '.join(missing)} missing (an interrupted download or unpacking?)")
    return RealFiles(folder, path=folder)


def _download(base: Path) -> bool:
    from torchvision.datasets import VOCDetection

    try:
        VOCDetection(str(base), year="2012", image_set="train", download=True)  # md5-checked by torchvision
        return True
    except Exception as exc:  # network errors and failed checks: report and use the stand-in
        print(f"{TITLE}: download failed ({type(exc).__name__}: {str(exc)[:200]}).")
        return False


def real_status(root: Path | str | None = None) -> RealFiles:
    """What :func:`load_voc` would find of the real files (for notebook 00-1's report)."""
    return _find_real(Path(root) if root is not None else _default_root())


def load_voc(
    split: str = "train",
    *,
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    source: str = "auto",
    root: Path | str | None = None,
    verbose: bool = True,
    task: str = "detection",
    n: int = 1489,
    seed: int = 0,
    flavour: str = "suns",
    transforms: Callable | None = None,
) -> VOC:
    """One split (``"train"``, ``"val"``, ``"trainval"``) of VOC 2012 for ``task`` (``"detection"``,
    ``"segmentation"``, ``"instances"``). ``n``, ``seed`` and ``flavour`` (``"suns"`` or ``"sky"``) choose
    the stand-in's scenes; ``root`` is where the real ``VOCdevkit`` is looked for (default ``<data_dir>/voc``);
    ``transforms`` is a joint (image, target) transform such as a ``transforms.v2`` pipeline."""
    check_split(split, SPLITS)
    require_choice("task", task, TASKS)
    require_choice("flavour", flavour, FLAVOURS)
    n, seed = require_int("n", n, 10), require_int("seed", seed, 0)
    base = Path(root) if root is not None else _default_root()
    how = (f"Download VOCtrainval_11-May-2012.tar (2 GB) from the PASCAL VOC site and unpack it into {base} "
           f"(giving {base}/VOCdevkit/VOC2012), or unset BOOK_OFFLINE to let torchvision download it.")
    used, real = choose_source(TITLE, source, lambda: _find_real(base), how, download=lambda: _download(base))
    if real is not None:
        announce(TITLE, "real", real, verbose=verbose)
        return VOC(real, split, task, VOC_CLASSES, "real", transform, target_transform, transforms)
    if flavour == "suns":
        from book_utils.datasets.sun_scenes import scenes_folder
        from book_utils.standins.sun_scenes import CLASSES

        folder = scenes_folder(n, seed) / "VOCdevkit" / "VOC2012"
    else:
        from book_utils.standins.sky_scenes import CLASSES

        folder = sky_folder(n, seed) / "VOCdevkit" / "VOC2012"
    announce(TITLE, "standin", folder, f"the {flavour} scenes in VOC's layout; see data/README.md", verbose)
    return VOC(folder, split, task, list(CLASSES), "standin", transform, target_transform, transforms)


def sky_folder(n: int, seed: int = 0) -> Path:
    """The generated folder with ``n`` sky scenes in VOC's layout (built once, then cached)."""
    from book_utils.datasets._base import generated
    from book_utils.datasets.sun_scenes import background_tag, user_backgrounds
    from book_utils.standins import sky_scenes as gen

    photos = user_backgrounds()

    def build(tmp: Path) -> dict:
        from PIL import Image

        return gen.write_sky_scenes(tmp, n, seed, [np.asarray(Image.open(p).convert("RGB")) for p in photos])

    return generated("sky_scenes", gen.VERSION, build, {"n": n, "seed": seed, "bg": background_tag(photos)})


def _default_root() -> Path:
    from book_utils.config import data_dir

    return data_dir() / "voc"
