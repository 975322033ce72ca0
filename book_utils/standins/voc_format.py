"""Writing generated scenes in the Pascal VOC 2012 layout, so real VOC parsers read them (chapters 5 and 6).

``VOCdevkit/VOC2012/`` holds ``JPEGImages/<id>.jpg``, ``Annotations/<id>.xml`` (1-based, inclusive pixel
``bndbox``), ``SegmentationClass/<id>.png`` and ``SegmentationObject/<id>.png`` (palette PNGs: class or
instance indices, 255 along object edges as VOC's "void" band) and ``ImageSets/{Main,Segmentation}`` lists.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

VOID = 255


@functools.cache
def voc_colormap() -> np.ndarray:
    """Pascal VOC's 256-colour palette (uint8 256×3, read-only): index 1 is (128, 0, 0), 255 is (224, 224, 192)."""
    cmap = np.zeros((256, 3), dtype=np.uint8)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap[i] = (r, g, b)
    cmap.flags.writeable = False
    return cmap


def void_band(labels: np.ndarray, width: int = 1) -> np.ndarray:
    """Pixels within ``width`` of an edge between two different labels (VOC marks them 255, "void")."""
    import cv2

    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    hi = cv2.dilate(labels, kernel)
    lo = cv2.erode(labels, kernel)
    return hi != lo


def save_palette_png(path: Path, labels: np.ndarray) -> None:
    """Save a uint8 label map as a palette PNG with VOC's colormap (reading it back gives the indices)."""
    from PIL import Image

    img = Image.fromarray(labels.astype(np.uint8), mode="P")
    img.putpalette(voc_colormap().reshape(-1).tolist())
    img.save(path, optimize=False)


def annotation_xml(image_id: str, size: tuple[int, int], objects: Sequence[tuple[str, Sequence[float]]],
                   database: str) -> str:
    """VOC XML for one image: ``objects`` are ``(class name, (x0, y0, x1, y1))`` in pixel edges (xyxy floats);
    the XML stores them 1-based and inclusive, as VOC does (x0 + 1 ... x1)."""
    h, w = size
    parts = [f"<annotation><folder>VOC2012</folder><filename>{image_id}.jpg</filename>",
             f"<source><database>{escape(database)}</database></source>",
             f"<size><width>{w}</width><height>{h}</height><depth>3</depth></size><segmented>1</segmented>"]
    for name, (x0, y0, x1, y1) in objects:
        parts.append(
            f"<object><name>{escape(name)}</name><pose>Unspecified</pose><truncated>0</truncated>"
            f"<occluded>0</occluded><difficult>0</difficult><bndbox><xmin>{int(round(x0)) + 1}</xmin>"
            f"<ymin>{int(round(y0)) + 1}</ymin><xmax>{int(round(x1))}</xmax><ymax>{int(round(y1))}</ymax>"
            "</bndbox></object>")
    parts.append("</annotation>")
    return "\n".join(parts) + "\n"


def voc_root(dest: Path) -> Path:
    """``dest/VOCdevkit/VOC2012`` (created)."""
    root = Path(dest) / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "Annotations", "SegmentationClass", "SegmentationObject", "ImageSets/Main",
                "ImageSets/Segmentation"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def write_sample(root: Path, image_id: str, jpeg: bytes, objects: Sequence[tuple[str, Sequence[float]]],
                 class_map: np.ndarray, instance_map: np.ndarray, database: str) -> None:
    """Write one image's JPEG, XML and the two segmentation PNGs (with the void band) under ``root``."""
    (root / "JPEGImages" / f"{image_id}.jpg").write_bytes(jpeg)
    xml = annotation_xml(image_id, class_map.shape, objects, database)
    (root / "Annotations" / f"{image_id}.xml").write_text(xml)
    band = void_band(instance_map)
    save_palette_png(root / "SegmentationClass" / f"{image_id}.png", np.where(band, VOID, class_map))
    save_palette_png(root / "SegmentationObject" / f"{image_id}.png", np.where(band, VOID, instance_map))


def write_image_sets(root: Path, splits: dict[str, Sequence[str]], present: dict[str, set[str]]) -> None:
    """The ``ImageSets`` lists: ``Main`` and ``Segmentation`` ``<split>.txt`` (``train``, ``val``, ``trainval``)
    and ``Main/<class>_<split>.txt`` lines ``<id> 1`` or ``<id> -1`` (``present`` maps class -> ids)."""
    splits = {**{k: sorted(v) for k, v in splits.items()}, "trainval": sorted({i for v in splits.values() for i in v})}
    for split, ids in splits.items():
        text = "".join(f"{i}\n" for i in ids)
        (root / "ImageSets" / "Main" / f"{split}.txt").write_text(text)
        (root / "ImageSets" / "Segmentation" / f"{split}.txt").write_text(text)
        for cls, having in present.items():
            lines = "".join(f"{i} {1 if i in having else -1:2d}\n" for i in ids)
            (root / "ImageSets" / "Main" / f"{cls}_{split}.txt").write_text(lines)
