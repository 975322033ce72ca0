"""PubFig faces (Chapter 7): URL lists, face crops and identities, real when on disk, else the generated stand-in.

Introduced in notebook 07-1 (download, check, extract), used by 07-2 to 07-5 and Chapter 8. The split follows the
chapter's open-set design: the **eval** list's 140 people are for training (``"train"``, and a closed-set
``"val"`` holding out 15% of each person's photos), the **dev** list's 60 people are never trained on and are
searched in (``"dev"``). Items are ``(PIL RGB face crop, person index)``; ``classes`` are the people of the
split's list, ``data`` the crops as a uint8 ``(N, size, size, 3)`` array and ``targets`` the person indices.

Real data: PubFig's ``dev_urls.txt`` and ``eval_urls.txt`` and the photos you downloaded, in the book's layout
``<data_dir>/pubfig/<person>/<person><imagenum>.jpg`` (notebook 07-1 downloads them when you are online).
Photos that do not open are skipped; faces are cut out by the lists' ``rect`` column, clamped to the photo.
Offline, :mod:`book_utils.standins.pubfig` draws the photos and lists; the crops are cut the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from book_utils._validate import require_int
from book_utils.datasets._base import (
    RealFiles,
    announce,
    apply_transforms,
    check_split,
    choose_source,
    generated,
)

TITLE = "PubFig faces"
SPLITS = ("train", "val", "eval", "dev")
VAL_FRACTION = 0.15
HOW_TO_GET = ("Put PubFig's dev_urls.txt and eval_urls.txt (https://www.cs.columbia.edu/CAVE/databases/pubfig/) "
              "in <data_dir>/pubfig/ and download the photos with notebook 07-1 into <data_dir>/pubfig/<person>/.")


def read_url_list(path: Path | str) -> Any:
    """A PubFig URL list as a pandas DataFrame with columns person, imagenum, url, rect, md5sum.

    The first line is a comment; the second, the header, starts with ``#``: ``header=1`` reads it and the
    names are shifted past the ``#`` column instead of dropping ``md5sum`` as the book does.
    """
    import pandas as pd

    df = pd.read_csv(path, sep="\t", header=1, keep_default_na=False)
    if df.columns[0] != "#" or len(df.columns) != 6:
        raise ValueError(f"{path}: expected the header '#<TAB>person<TAB>imagenum<TAB>url<TAB>rect<TAB>md5sum', "
                         f"got {list(df.columns)}")
    df = df.iloc[:, :5].copy()  # pandas read the 5 data columns under the first 5 names (# ... rect)
    df.columns = ["person", "imagenum", "url", "rect", "md5sum"]
    df["imagenum"] = df["imagenum"].astype(int)
    return df


def parse_rect(rect: str) -> tuple[int, int, int, int]:
    """``"x0,y0,x1,y1"`` as four ints."""
    parts = [int(float(v)) for v in str(rect).split(",")]
    if len(parts) != 4:
        raise ValueError(f"a rect has four numbers x0,y0,x1,y1, got {rect!r}")
    return parts[0], parts[1], parts[2], parts[3]


def clamp_rect(rect: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int] | None:
    """The rect clipped to a ``width`` x ``height`` photo, or None if nothing of it is inside (the book's
    crop ``img[y0:y1, x0:x1]`` silently wraps around for negative numbers)."""
    x0, y0, x1, y1 = rect
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    return (x0, y0, x1, y1) if x1 - x0 >= 4 and y1 - y0 >= 4 else None


def crop_face(img: Any, rect: tuple[int, int, int, int], size: int) -> np.ndarray | None:
    """The RGB face in ``rect`` (clamped), resized to ``size`` x ``size``, as uint8 (None if outside)."""
    from PIL import Image

    box = clamp_rect(rect, *img.size)
    if box is None:
        return None
    face = img.convert("RGB").crop(box).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(face, dtype=np.uint8)


def detect_faces(image: Any, min_size: int = 32, scale_factor: float = 1.1) -> list[tuple[int, int, int, int]]:
    """Faces found by scikit-image's bundled LBP frontal-face cascade, as ``(x0, y0, x1, y1)`` boxes.

    The book uses dlib's HOG detector (``pip install dlib-bin``); opencv-python 5 has no cascades, so this
    is the detector that works everywhere. ``min_neighbor_number=1`` keeps weak single detections: it finds
    more faces at the price of some false alarms, which suits a "is there a face at all?" check.
    """
    from skimage import data
    from skimage.feature import Cascade

    global _CASCADE
    if _CASCADE is None:
        _CASCADE = Cascade(data.lbp_frontal_face_cascade_filename())
    gray = np.asarray(image.convert("L"), dtype=np.float64) / 255.0 if hasattr(image, "convert") else image
    found = _CASCADE.detect_multi_scale(img=gray, scale_factor=scale_factor, step_ratio=1,
                                        min_size=(min_size, min_size), max_size=gray.shape,
                                        min_neighbor_number=1)
    return [(d["c"], d["r"], d["c"] + d["width"], d["r"] + d["height"]) for d in found]


_CASCADE: Any = None


class PubFigFaces(Dataset):
    """Face crops of one split: ``(PIL RGB image, person index)``; ``data`` holds them all in memory."""

    def __init__(self, data: np.ndarray, targets: np.ndarray, classes: list[str], split: str, source: str,
                 root: Path, files: list[str], transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        self.data, self.targets, self.classes = data, targets, classes
        self.split, self.source, self.root, self.files = split, source, Path(root), files
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        return apply_transforms(Image.fromarray(self.data[index]), int(self.targets[index]),
                                self.transform, self.target_transform)


def _cut(rows: list[tuple[str, int, str]], locate: Callable[[str], Path], size: int) -> dict[str, Any]:
    """Crops for ``rows`` of ``(person, imagenum, rect)``; ``locate`` maps the book's relative file name to
    the photo's path. Photos that fail to open or to crop are skipped."""
    from PIL import Image

    faces, people, files = [], [], []
    for person, imagenum, rect in rows:
        try:
            with Image.open(locate(f"{person}/{person}{imagenum}.jpg")) as img:
                face = crop_face(img, parse_rect(rect), size)
        except (OSError, ValueError, SyntaxError):
            continue
        if face is not None:
            faces.append(face)
            people.append(person)
            files.append(f"{person}/{person}{imagenum}.jpg")
    data = np.stack(faces) if faces else np.zeros((0, size, size, 3), np.uint8)
    return {"data": data, "people": people, "files": files}


def _save_crops(dest: Path, crops: dict[str, dict[str, Any]]) -> None:
    for list_name, c in crops.items():
        np.save(dest / f"{list_name}_faces.npy", c["data"])
        (dest / f"{list_name}_faces.json").write_text(json.dumps({"people": c["people"], "files": c["files"]}))


def standin_crops(size: int, per_person: int, seed: int = 0) -> Path:
    """The generated web (photos and lists) and its face crops, written once, then cached."""

    from book_utils.standins import pubfig as gen

    def build(tmp: Path) -> dict:
        info = gen.write_web(tmp / "web", per_person, seed)
        fates = json.loads((tmp / "web" / "fates.json").read_text())
        crops = {}
        for list_name in gen.LISTS:
            df = read_url_list(tmp / "web" / f"{list_name}_urls.txt")
            where, rows = {}, []
            for person, num, url, rect in zip(df.person, df.imagenum, df.url, df.rect):
                path = url.split(gen.HOST, 1)[1]
                if fates.get(path, "ok") in gen.BAD_FATES:
                    continue  # what a careful download and check would have thrown away
                where[f"{person}/{person}{num}.jpg"] = tmp / "web" / path.lstrip("/")
                rows.append((person, int(num), rect))
            crops[list_name] = _cut(rows, where.__getitem__, size)
        _save_crops(tmp, crops)
        return info

    return generated("pubfig", gen.VERSION, build, {"size": size, "pp": per_person, "seed": seed})


def real_status(root: Path | str | None = None) -> RealFiles:
    """Whether PubFig's lists and at least one downloaded photo are in ``root`` (default ``<data_dir>/pubfig``)."""
    from book_utils.config import data_dir

    base = Path(root) if root is not None else data_dir() / "pubfig"
    lists = [base / f"{n}_urls.txt" for n in ("dev", "eval")]
    if not any(p.exists() for p in lists):
        return RealFiles(base)
    missing = [p.name for p in lists if not p.exists()]
    if missing:
        return RealFiles(base, problem=f"{', '.join(missing)} is missing")
    if not any(base.glob("*/*.jpg")):
        return RealFiles(base, problem="no photos were downloaded yet (run notebook 07-1 online)")
    return RealFiles(base, path=base)


def data_tag() -> str:
    """``"real"`` when PubFig's lists and photos are on disk, else ``"standin-v<version>"``: what a model
    trained on these faces depends on (part of the cached models' tags, 07-2 and Chapter 8)."""
    from book_utils.standins.pubfig import VERSION

    return "real" if real_status().path is not None else f"standin-v{VERSION}"


def real_crops(base: Path, size: int) -> Path:
    """Crops of the real photos in ``base``, cached under the generated-data folder (keyed by the photo list)."""

    photos = sorted(p.relative_to(base).as_posix() for p in base.glob("*/*.jpg"))
    tag = hashlib.sha256("\n".join(photos).encode()).hexdigest()[:10]

    def build(tmp: Path) -> dict:
        crops = {}
        for list_name in ("dev", "eval"):
            df = read_url_list(base / f"{list_name}_urls.txt")
            rows = [(p, int(n), r) for p, n, r in zip(df.person, df.imagenum, df.rect)
                    if (base / p / f"{p}{n}.jpg").is_file()]
            crops[list_name] = _cut(rows, lambda key: base / key, size)
        _save_crops(tmp, crops)
        return {"photos": len(photos)}

    return generated("pubfig_real_crops", 1, build, {"size": size, "photos": tag})


def _val_mask(people: list[str], seed: int) -> np.ndarray:
    """15% of each person's photos (at least one, if they have two or more) held out for closed-set validation."""
    rng = np.random.default_rng(seed + 99)
    mask = np.zeros(len(people), dtype=bool)
    arr = np.array(people)
    for person in sorted(set(people)):
        idx = np.flatnonzero(arr == person)
        k = int(round(VAL_FRACTION * len(idx))) if len(idx) >= 2 else 0
        mask[rng.permutation(idx)[: max(k, 1 if len(idx) >= 2 else 0)]] = True
    return mask


def load_pubfig(
    split: str = "train",
    *,
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    source: str = "auto",
    root: Path | str | None = None,
    verbose: bool = True,
    size: int = 64,
    per_person: int = 14,
    seed: int = 0,
) -> PubFigFaces:
    """Face crops of ``split`` (``"train"``/``"val"``/``"eval"`` = eval people, ``"dev"`` = dev people).

    ``size`` is the side of the square crops (the book resizes to 128). ``per_person`` (stand-in only) is the
    average number of photos per person drawn (real PubFig has about 290, most of them dead links today).
    """
    check_split(split, SPLITS)
    size = require_int("size", size, 8)
    per_person, seed = require_int("per_person", per_person, 2), require_int("seed", seed, 0)
    base = Path(root) if root is not None else None
    used, folder = choose_source(TITLE, source, lambda: real_status(base), HOW_TO_GET)
    if used == "real":
        assert folder is not None
        crops = real_crops(folder, size)
    else:
        crops = standin_crops(size, per_person, seed)
    list_name = "dev" if split == "dev" else "eval"
    data = np.load(crops / f"{list_name}_faces.npy")
    meta = json.loads((crops / f"{list_name}_faces.json").read_text())
    people, files = meta["people"], meta["files"]
    classes = sorted(set(people))
    targets = np.array([classes.index(p) for p in people], dtype=np.int64)
    keep = np.ones(len(people), dtype=bool)
    if split in ("train", "val"):
        val = _val_mask(people, seed)
        keep = val if split == "val" else ~val
    detail = f"{len(classes)} people, {int(keep.sum())} faces of {size} px"
    announce(TITLE, used if used == "real" else "standin", folder or crops, detail, verbose)
    return PubFigFaces(data[keep], targets[keep], classes, split, used, crops,
                       [f for f, k in zip(files, keep) if k], transform, target_transform)
