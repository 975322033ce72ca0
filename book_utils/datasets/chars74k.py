"""Chars74k handwritten characters (``EnglishHnd``): the real images when available, else a rendered stand-in.

Introduced in notebook 02-2 (book §2.1.4). The real set has 62 classes (``0-9``, ``A-Z``, ``a-z``), 55 images
each from 55 writers, stored as ``English/Hnd/Img/Sample001 ... Sample062/img001-001.png ...``.
:func:`load_chars74k` looks for it in ``<data_dir>/chars74k`` (extracted by hand, or downloaded when the
network is allowed), else uses the stand-in of :mod:`book_utils.standins.chars74k` in the same layout.
The real set has no train/test split: ``"train"`` is the first 80% of each class's files (in file-name
order, so by writer), ``"test"`` the rest, ``"all"`` every file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from book_utils._validate import require_int, require_size
from book_utils.datasets._base import (
    DatasetCacheError,
    RealFiles,
    announce,
    apply_transforms,
    check_split,
    choose_source,
    generated,
)
from book_utils.standins.chars74k import CHARS74K_CLASSES, sample_folder

TITLE = "Chars74k"
SPLITS = ("train", "test", "all")
TRAIN_FRACTION = 0.8
URL = "http://www.ee.surrey.ac.uk/CVSSP/demos/chars74k/EnglishHnd.tgz"


class Chars74k(Dataset):
    """Grayscale character images (dark ink on white paper) that fit a ``size`` box, with integer labels.

    ``data``: uint8 N×H×W; ``targets``: labels indexing ``classes``; ``paths``: the PNG of each image.
    Items are ``(PIL image in mode "L", label)``, passed through ``transform``/``target_transform``.
    """

    def __init__(self, data: np.ndarray, targets: list[int], classes: tuple[str, ...], paths: list[Path],
                 split: str, source: str, root: Path, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        self.data, self.targets, self.classes, self.paths = data, targets, classes, paths
        self.split, self.source, self.root = split, source, root
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        img: Any = Image.fromarray(self.data[index], mode="L")
        target: Any = self.targets[index]
        return apply_transforms(img, target, self.transform, self.target_transform)


def _find_img_dir(base: Path) -> Path | None:
    """The ``Img`` folder under ``base`` (``base`` itself, or ``[EnglishHnd/]English/Hnd/Img`` below it)."""
    for cand in (base, base / "English" / "Hnd" / "Img", base / "EnglishHnd" / "English" / "Hnd" / "Img",
                 base / "Img"):
        if cand.is_dir() and any(cand.glob("Sample0[0-9][0-9]")):
            return cand
    return None


def _resource() -> Any:
    from book_utils import download

    return download.register(download.Resource(
        name="chars74k-englishhnd", url=URL, filename="EnglishHnd.tgz", extract=True,
        sha256=None,  # unknown: the Chars74k site publishes no checksum
    ))


def _find_real(base: Path) -> RealFiles:
    found = _find_img_dir(base)
    if found is None and (base / "EnglishHnd.tgz").is_file():  # an archive put there by hand: unpack it
        from book_utils import download

        found = _find_img_dir(download.fetch(_resource(), dest_dir=base))
    if found is None:
        return RealFiles(base)
    empty = [sample_folder(c) for c in CHARS74K_CLASSES if not any((found / sample_folder(c)).glob("*.png"))]
    if empty:
        return RealFiles(found, problem=f"{len(empty)} class folders have no PNG images (e.g. {empty[0]})")
    return RealFiles(found, path=found)


def real_status(root: Path | str | None = None) -> RealFiles:
    """What :func:`load_chars74k` would find of the real files (for notebook 00-1's report)."""
    return _find_real(Path(root) if root is not None else _default_root())


def _download(base: Path) -> bool:
    from book_utils import download

    return download.try_fetch(_resource(), dest_dir=base) is not None


def standin_folder() -> Path:
    """The stand-in's ``English/Hnd/Img`` folder (rendered once, about 20 s, then cached)."""
    from book_utils.standins import chars74k as gen

    params = {"per_class": gen.PER_CLASS, "seed": 0}
    folder = generated("chars74k", gen.VERSION, lambda tmp: gen.write_chars74k(tmp, gen.PER_CLASS, 0), params)
    return folder / "English" / "Hnd" / "Img"


def _read(path: Path, size: tuple[int, int], fix: str) -> np.ndarray:
    """Read one PNG as grayscale, shrink it to fit ``size`` (h, w) and pad it with white paper."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            gray = im.convert("L")
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise RuntimeError(f"Cannot read the Chars74k image {path}: {exc}. The file is damaged; {fix}.") from exc
    h, w = size
    scale = min(w / gray.width, h / gray.height)
    new_w, new_h = max(1, round(gray.width * scale)), max(1, round(gray.height * scale))
    if (new_w, new_h) != gray.size:
        gray = gray.resize((new_w, new_h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = np.full((h, w), 255, dtype=np.uint8)
    top, left = (h - new_h) // 2, (w - new_w) // 2
    out[top:top + new_h, left:left + new_w] = np.asarray(gray)
    return out


def load_chars74k(
    split: str = "train",
    *,
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    source: str = "auto",
    root: Path | str | None = None,
    verbose: bool = True,
    size: int | tuple[int, int] = 128,
    per_class: int | None = None,
    classes: Iterable[str] | None = None,
) -> Chars74k:
    """Chars74k ``EnglishHnd`` as grayscale images fitted into ``size`` (an int for a square, or ``(h, w)``).

    ``per_class`` keeps the first N files of each class before the split; ``classes`` picks a subset (labels
    then index into it). ``root`` replaces ``<data_dir>/chars74k`` as the place to look for real files.
    No preprocessing beyond the resize: binarizing and cropping are the notebook's job.
    """
    check_split(split, SPLITS)
    hw = require_size("size", size, 16)
    if per_class is not None:
        per_class = require_int("per_class", per_class, 1)
    wanted = CHARS74K_CLASSES if classes is None else tuple(classes)
    for cls in wanted:
        sample_folder(cls)  # a clear ValueError for anything that is not a class
    if not wanted or len(set(wanted)) != len(wanted):
        raise ValueError(f"classes must be distinct Chars74k characters, got {wanted!r}")
    base = Path(root) if root is not None else _default_root()
    how = (f"Download {URL} and extract it into {base} (giving {base}/English/Hnd/Img/Sample001 ...), or unset "
           "BOOK_OFFLINE to let book_utils do it.")
    used, img_dir = choose_source(TITLE, source, lambda: _find_real(base), how, download=lambda: _download(base))
    if img_dir is None:
        img_dir = standin_folder()
    fix = "run `make clean-data` to regenerate the stand-in" if used == "standin" else "extract EnglishHnd.tgz again"
    paths: list[Path] = []
    targets: list[int] = []
    for label, cls in enumerate(wanted):
        files = sorted((img_dir / sample_folder(cls)).glob("*.png"))
        if not files:
            if used == "standin":
                raise DatasetCacheError(img_dir.parents[2], f"class folder {sample_folder(cls)} has no images")
            raise RuntimeError(f"No PNG images for class {cls!r} in {img_dir / sample_folder(cls)}; {fix}.")
        files = files[:per_class] if per_class is not None else files
        cut = min(math.ceil(TRAIN_FRACTION * len(files)), len(files) - 1)  # both splits get one at least
        files = {"train": files[:cut], "test": files[cut:], "all": files}[split]
        if not files:
            raise ValueError(f"per_class={per_class} leaves no {split!r} image for class {cls!r}; use 2 or more")
        paths += files
        targets += [label] * len(files)
    data = np.stack([_read(p, hw, fix) for p in paths]) if paths else np.zeros((0, *hw), np.uint8)
    detail = "" if used == "real" else "glyphs rendered with matplotlib's fonts and distorted; see data/README.md"
    announce(TITLE, used, img_dir, detail, verbose)
    return Chars74k(data, targets, wanted, paths, split, used, img_dir, transform, target_transform)


def _default_root() -> Path:
    from book_utils.config import data_dir

    return data_dir() / "chars74k"
