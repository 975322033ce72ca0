"""The "1 vs 100" banknote photos of notebooks 03-3 and 03-6, as an ImageFolder per split.

The course used 100 photos each of the 1-yuan and 100-yuan notes, split 8:1:1 into ``train``/``valid``/
``test`` folders by its own script. Put such a split tree at ``<data_dir>/banknotes/<split>/<1|100>/`` and
:func:`load_banknotes` uses it; otherwise it uses the drawn stand-in of
:mod:`book_utils.standins.banknotes`, which adds ``test_new``: the same notes in swapped colours.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import IMG_EXTENSIONS

from book_utils._validate import require_int, require_size
from book_utils.datasets._base import RealFiles, announce, check_split, choose_source, generated
from book_utils.standins.banknotes import CLASSES, SPLITS

TITLE = "Banknotes"


class Banknotes(ImageFolder):
    """One split of the banknote set: torchvision's ImageFolder plus ``split``, ``source`` and ``data_root``.

    ``root`` (ImageFolder's) is the split's own folder; classes are ``["1", "100"]``.
    """

    def __init__(self, folder: Path, split: str, source: str, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        super().__init__(str(folder), transform=transform, target_transform=target_transform)
        self.split, self.source, self.data_root = split, source, Path(folder).parent


def _find_real(base: Path, split: str) -> RealFiles:
    folder = base / split
    if not folder.is_dir():
        return RealFiles(folder)
    empty = [c for c in CLASSES
             if not any(p.suffix.lower() in IMG_EXTENSIONS for p in (folder / c).glob("*"))]
    if empty:
        return RealFiles(folder, problem=f"the class folders {empty} are missing or hold no images")
    return RealFiles(folder, path=folder)


def real_status(root: Path | str | None = None) -> RealFiles:
    """What :func:`load_banknotes` would find of a real photo set (its train split; for notebook 00-1)."""
    return _find_real(Path(root) if root is not None else _default_root(), "train")


def load_banknotes(
    split: str = "train",
    *,
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    source: str = "auto",
    root: Path | str | None = None,
    verbose: bool = True,
    per_class: int = 100,
    n_new: int = 50,
    seed: int = 0,
    size: tuple[int, int] = (48, 96),
) -> Banknotes:
    """One split (``"train"``, ``"valid"``, ``"test"``, ``"test_new"``) of the banknote set.

    Stand-in options: ``per_class`` old-series notes per class (split 80/10/10), ``n_new`` new-series notes
    per class, ``seed`` and ``size`` (h, w). ``root``: where a real split tree is looked for (default
    ``<data_dir>/banknotes``).
    """
    check_split(split, SPLITS)
    per_class, n_new = require_int("per_class", per_class, 10), require_int("n_new", n_new, 1)
    seed, hw = require_int("seed", seed, 0), require_size("size", size, 8)
    base = Path(root) if root is not None else _default_root()
    how = (f"Put your photos in {base}/{split}/1/ and {base}/{split}/100/ (an ImageFolder tree per split), "
           "or use source='auto' for the drawn stand-in.")
    used, folder = choose_source(TITLE, source, lambda: _find_real(base, split), how)
    if folder is None:
        from book_utils.standins import banknotes as gen

        params = {"n": per_class, "new": n_new, "seed": seed, "size": hw}
        top = generated("banknotes", gen.VERSION, lambda tmp: gen.write_banknotes(tmp, per_class, n_new, seed, hw),
                        params)
        folder = top / split
    detail = "" if used == "real" else "drawn notes: green 1s and red 100s, colours swapped in test_new"
    announce(TITLE, used, folder.parent, detail, verbose)
    return Banknotes(folder, split, used, transform, target_transform)


def _default_root() -> Path:
    from book_utils.config import data_dir

    return data_dir() / "banknotes"
