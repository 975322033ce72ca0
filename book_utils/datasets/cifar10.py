"""CIFAR-10: the real dataset when it is on disk or can be downloaded, else a drawn offline stand-in.

Introduced in notebook 02-1; used throughout chapters 2-4 and 10. :func:`load_cifar10` looks for the
real ``cifar-10-batches-py`` folder under ``<data_dir>/cifar10`` (each file checked against its published
md5), downloads the archive when online (sha256-checked by :mod:`book_utils.download`), and otherwise
uses the stand-in drawn by :mod:`book_utils.standins.cifar10`. Both are read by the same code below: the
stand-in is written in the real pickle layout. The stand-in also has each object's mask
(``dataset.masks``, ``None`` for real data), which chapter 4 uses for the pointing game.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from book_utils.datasets._base import (
    DatasetCacheError,
    RealFiles,
    announce,
    apply_transforms,
    check_split,
    choose_source,
    generated,
)

TITLE = "CIFAR-10"
SPLITS = ("train", "test")
FOLDER = "cifar-10-batches-py"
# The published md5 of every file of the real cifar-10-batches-py folder (also listed by torchvision).
REAL_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
SPLIT_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
ARCHIVE_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
ARCHIVE_SIZE = 170_498_071
STANDIN_SEED = 0
#: Images per split of the stand-in (the real set's sizes); tests shrink them.
STANDIN_SIZES = {"train": 50_000, "test": 10_000}


class CIFAR10(Dataset):
    """One split of CIFAR-10 (real or stand-in): ``(PIL image, label)`` pairs, as torchvision's CIFAR10.

    ``data`` is the uint8 N×32×32×3 array, ``targets`` the list of labels, ``masks`` the stand-in's bool
    N×32×32 object masks (``None`` for the real data, which has none).
    """

    def __init__(self, folder: Path, split: str, source: str, masks: np.ndarray | None = None,
                 transform: Callable | None = None, target_transform: Callable | None = None) -> None:
        self.root, self.split, self.source = Path(folder), split, source
        self.transform, self.target_transform = transform, target_transform
        data, targets = [], []
        for name in SPLIT_FILES[split]:
            entry = _read_pickle(self.root / name)
            data.append(entry["data"])
            targets.extend(int(t) for t in entry["labels"])
        self.data: np.ndarray = np.vstack(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
        self.targets: list[int] = targets
        self.classes: list[str] = list(_read_pickle(self.root / "batches.meta")["label_names"])
        self.masks = masks
        if masks is not None and masks.shape != (len(self.data), 32, 32):
            raise ValueError(f"masks of shape {masks.shape} do not fit {len(self.data)} images")

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        img: Any = Image.fromarray(self.data[index])
        target: Any = self.targets[index]
        return apply_transforms(img, target, self.transform, self.target_transform)

    def __repr__(self) -> str:
        return f"CIFAR10(split={self.split!r}, source={self.source!r}, n={len(self)}, root={str(self.root)!r})"


def _read_pickle(path: Path) -> dict:
    with open(path, "rb") as fh:
        return pickle.load(fh, encoding="latin1")


def real_root() -> Path:
    """Where the real files are looked for by default: ``<data_dir>/cifar10``."""
    from book_utils.config import data_dir

    return data_dir() / "cifar10"


def _find_real(root: Path) -> RealFiles:
    from torchvision.datasets.utils import check_integrity

    for folder in (root / FOLDER, root / "cifar-10-python" / FOLDER):
        if folder.is_dir():
            bad = [name for name, md5 in REAL_MD5.items() if not check_integrity(str(folder / name), md5)]
            if bad:
                return RealFiles(folder, problem=f"{', '.join(bad)} failed the md5 check (missing or damaged)")
            return RealFiles(folder, path=folder)
    return RealFiles(root / FOLDER)


def real_status(root: Path | str | None = None) -> RealFiles:
    """What :func:`load_cifar10` would find of the real files (for notebook 00-1's report)."""
    return _find_real(Path(root) if root is not None else real_root())


def _download(root: Path) -> bool:
    from book_utils import download

    resource = download.register(download.Resource(
        name="cifar-10-python", url=ARCHIVE_URL, sha256=ARCHIVE_SHA256, filename="cifar-10-python.tar.gz",
        size=ARCHIVE_SIZE, extract=True,
    ))
    return download.try_fetch(resource, dest_dir=root) is not None


def standin_folder() -> Path:
    """The stand-in's folder (drawn once, about half a minute on two cores, then cached)."""
    from book_utils.standins import cifar10 as gen

    def build(tmp: Path) -> dict:
        return gen.write_cifar10(tmp, STANDIN_SIZES["train"], STANDIN_SIZES["test"], seed=STANDIN_SEED)

    params = {"n": (STANDIN_SIZES["train"], STANDIN_SIZES["test"]), "seed": STANDIN_SEED}
    return generated("cifar10", gen.VERSION, build, params)


def data_tag(root: Path | str | None = None) -> str:
    """Which CIFAR-10 a model trained now would see: ``"real"`` or ``"standin-v<N>"`` (stored in checkpoints)."""
    from book_utils.standins.cifar10 import VERSION

    found = _find_real(Path(root) if root is not None else real_root())
    return "real" if found.path is not None else f"standin-v{VERSION}"


def load_cifar10(
    split: str = "train",
    *,
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    source: str = "auto",
    root: Path | str | None = None,
    verbose: bool = True,
) -> CIFAR10:
    """CIFAR-10's ``"train"`` (50,000) or ``"test"`` (10,000) split as a :class:`CIFAR10` dataset.

    ``source``: ``"auto"`` (real files, a download when online, else the stand-in), ``"real"`` or
    ``"standin"``. ``root``: where the real ``cifar-10-batches-py`` folder is looked for (default
    ``<data_dir>/cifar10``). Prints one line saying which data is used.
    """
    check_split(split, SPLITS)
    base = Path(root) if root is not None else real_root()
    how = (f"Download {ARCHIVE_URL} and unpack it into {base} (giving {base / FOLDER}), or unset "
           "BOOK_OFFLINE to let book_utils download it.")
    used, real = choose_source(TITLE, source, lambda: _find_real(base), how, download=lambda: _download(base))
    if used == "real":
        assert real is not None
        ds = CIFAR10(real, split, "real", None, transform, target_transform)
        announce(TITLE, "real", real, verbose=verbose)
        return ds
    folder = standin_folder()
    try:
        with np.load(folder / "masks.npz") as z:
            masks = z[split]
        ds = CIFAR10(folder / FOLDER, split, "standin", masks, transform, target_transform)
    except (OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError) as exc:
        raise DatasetCacheError(folder, f"{type(exc).__name__}: {exc}") from exc
    announce(TITLE, "standin", folder / FOLDER, "procedurally drawn look-alike, see data/README.md", verbose)
    return ds
