"""Kaggle's CIFAR-10 competition files (raw PNGs and CSV labels), real when on disk, else a written stand-in.

Introduced in notebook 04-7 (the raw-file workflow of d2l §13.13: CSV labels to an ImageFolder tree, a
validation split, a submission CSV). The competition ("CIFAR-10 - Object Recognition in Images") hands out
``train/<id>.png`` with ``trainLabels.csv`` (``id,label``, label a class name), ``test/<id>.png`` without
labels and ``sampleSubmission.csv`` (``id,label``): the rows a submission must have. Kaggle needs a login to
download them, so there is no URL to fetch: put the unpacked files in ``<data_dir>/kaggle_cifar10/`` and
:func:`load_kaggle_cifar10` uses them; otherwise it writes images of the CIFAR-10 stand-in in the same
layout (:mod:`book_utils.standins.kaggle_cifar10`). Both are read by the same code below.

The ``"test"`` split is unlabelled: its ``targets`` are all ``-1`` (never a valid class index, so a
mistaken use as labels fails loudly in a loss) and its ids, the submission's keys, are in ``ids``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from book_utils._validate import require_int
from book_utils.datasets._base import (
    DatasetCacheError,
    RealFiles,
    announce,
    apply_transforms,
    check_split,
    choose_source,
    generated,
)
from book_utils.standins.cifar10 import CIFAR10_CLASSES
from book_utils.standins.kaggle_cifar10 import HEADER, LABELS_CSV, N_TEST, N_TRAIN, SAMPLE_CSV

TITLE = "Kaggle CIFAR-10"
SPLITS = ("train", "test")
#: The competition's ten class names, in CIFAR-10's label order (which is also alphabetical).
CLASSES = CIFAR10_CLASSES
#: The CSV file that lists each split's ids (and, for "train", labels).
SPLIT_CSV = {"train": LABELS_CSV, "test": SAMPLE_CSV}
UNLABELLED = -1
COMPETITION_URL = "https://www.kaggle.com/c/cifar-10/data"


def read_id_label_csv(path: Path, labelled: bool) -> list[tuple[int, str]]:
    """The ``(id, label)`` rows of a competition CSV (header ``id,label``), in file order.

    Raises ``ValueError`` naming the file and line when the header, an id or (``labelled``) a class is wrong.
    """
    rows: list[tuple[int, str]] = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != HEADER:
            raise ValueError(f"{path.name} should start with the header 'id,label', got {header}")
        seen: set[int] = set()
        for line, row in enumerate(reader, start=2):
            if len(row) != 2 or not row[0].strip().isdigit():
                raise ValueError(f"{path.name} line {line} is not 'id,label': {row}")
            ident, label = int(row[0]), row[1].strip()
            if labelled and label not in CLASSES:
                raise ValueError(f"{path.name} line {line}: {label!r} is not a CIFAR-10 class")
            if ident in seen:
                raise ValueError(f"{path.name} line {line}: id {ident} appears twice")
            seen.add(ident)
            rows.append((ident, label))
    if not rows:
        raise ValueError(f"{path.name} lists no images")
    return rows


class KaggleCIFAR10(Dataset):
    """One split of the competition files: ``(PIL RGB image, label index)`` pairs, as torchvision's datasets.

    ``root`` is the folder holding ``train/``, ``test/`` and the two CSV files; ``ids`` the competition ids
    in CSV order; ``files`` the PNG paths; ``targets`` the class indices (``-1`` for the unlabelled test
    split); ``labels`` the class names of the CSV (``"cat"`` placeholders for the test split). Images are
    read from disk when asked for (the real test set has 300,000 of them), so there is no ``data``.
    """

    def __init__(self, folder: Path, split: str, source: str, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        self.root, self.split, self.source = Path(folder), split, source
        self.transform, self.target_transform = transform, target_transform
        self.classes: list[str] = list(CLASSES)
        rows = read_id_label_csv(self.root / SPLIT_CSV[split], labelled=split == "train")
        self.ids: list[int] = [i for i, _ in rows]
        self.labels: list[str] = [label for _, label in rows]
        self.files: list[Path] = [self.root / split / f"{i}.png" for i in self.ids]
        index = {c: k for k, c in enumerate(CLASSES)}
        self.targets: list[int] = [index[c] if split == "train" else UNLABELLED for c in self.labels]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        with Image.open(self.files[index]) as im:
            img: Any = im.convert("RGB")
        target: Any = self.targets[index]
        return apply_transforms(img, target, self.transform, self.target_transform)

    def __repr__(self) -> str:
        return (f"KaggleCIFAR10(split={self.split!r}, source={self.source!r}, n={len(self)}, "
                f"root={str(self.root)!r})")


def real_root() -> Path:
    """Where the real competition files are looked for by default: ``<data_dir>/kaggle_cifar10``."""
    from book_utils.config import data_dir

    return data_dir() / "kaggle_cifar10"


def _find_real(base: Path, split: str) -> RealFiles:
    names = ("train", "test", LABELS_CSV, SAMPLE_CSV)
    if not base.is_dir() or not any((base / name).exists() for name in names):
        return RealFiles(base)
    missing = [name for name in names if not (base / name).exists()]
    if missing:
        hint = " (unpack train.7z and test.7z there)" if {"train", "test"} & set(missing) else ""
        return RealFiles(base, problem=f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing{hint}")
    try:
        rows = {s: read_id_label_csv(base / SPLIT_CSV[s], labelled=s == "train") for s in SPLITS}[split]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return RealFiles(base, problem=str(exc))
    absent = [i for i, _ in rows if not (base / split / f"{i}.png").is_file()]
    if absent:
        return RealFiles(base, problem=f"{len(absent)} of the {len(rows)} images listed in {SPLIT_CSV[split]} "
                                       f"are not in {split}/ (the first: {absent[0]}.png)")
    return RealFiles(base, path=base)


def standin_folder(n: int = N_TRAIN, n_test: int = N_TEST, seed: int = 0) -> Path:
    """The stand-in's folder for these sizes and seed, written once (about 2 s of CPU for 2,300 images), then cached."""
    from book_utils.standins import cifar10 as images
    from book_utils.standins import kaggle_cifar10 as gen

    params = {"cifar": images.VERSION, "n": (n, n_test), "seed": seed}
    return generated("kaggle_cifar10", gen.VERSION, lambda tmp: gen.write_kaggle_cifar10(tmp, n, n_test, seed), params)


def load_kaggle_cifar10(
    split: str = "train",
    *,
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    source: str = "auto",
    root: Path | str | None = None,
    verbose: bool = True,
    n: int = N_TRAIN,
    n_test: int = N_TEST,
    seed: int = 0,
) -> KaggleCIFAR10:
    """The ``"train"`` (labelled) or ``"test"`` (unlabelled, targets ``-1``) split of the competition files.

    ``source``: ``"auto"`` (real files when found in ``root``, default ``<data_dir>/kaggle_cifar10``, else the
    stand-in), ``"real"`` or ``"standin"``. Stand-in options: ``n`` training and ``n_test`` test images
    (default 2,000 and 300) and ``seed``. Prints one line saying which data is used.
    """
    check_split(split, SPLITS)
    n, n_test, seed = require_int("n", n, 10), require_int("n_test", n_test, 1), require_int("seed", seed, 0)
    base = Path(root) if root is not None else real_root()
    how = (f"Download the competition files from {COMPETITION_URL} (log in and accept the rules), unpack "
           f"train.7z and test.7z into {base} and add trainLabels.csv and sampleSubmission.csv, so that it holds "
           "train/1.png ..., test/1.png ... and the two CSV files; or use source='auto' for the stand-in.")
    used, folder = choose_source(TITLE, source, lambda: _find_real(base, split), how)
    if used == "real":
        assert folder is not None
        ds = KaggleCIFAR10(folder, split, "real", transform, target_transform)
        announce(TITLE, "real", folder, verbose=verbose)
        return ds
    folder = standin_folder(n, n_test, seed)
    try:
        ds = KaggleCIFAR10(folder, split, "standin", transform, target_transform)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DatasetCacheError(folder, f"{type(exc).__name__}: {exc}") from exc
    announce(TITLE, "standin", folder, "CIFAR-10 stand-in images in the competition's layout, see data/README.md",
             verbose)
    return ds
