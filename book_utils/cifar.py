"""CIFAR-10: the real dataset when it is on disk or can be downloaded, else a drawn offline stand-in.

:func:`load_cifar10` returns a ``torchvision.datasets.CIFAR10`` (PIL images, ``.data``, ``.targets``,
``.classes``) plus ``.source`` (``"real"`` or ``"standin"``). It looks, in order, for the real
``cifar-10-batches-py`` folder under ``<data_dir>/cifar10`` (checked with torchvision's md5 list), then
downloads it with torchvision (unless ``BOOK_OFFLINE=1``), and otherwise generates a stand-in once.

The stand-in is written in exactly the real pickle layout (``data_batch_1`` .. ``data_batch_5``,
``test_batch``, ``batches.meta``; Python-2 style string keys, so ``pickle.load(f, encoding="bytes")``
gives ``b"data"`` and ``encoding="latin1"`` gives ``"data"``, as with the real files) and is read by
torchvision's own parser. Its images are procedurally drawn silhouettes of the ten CIFAR classes on
textured, class-correlated backgrounds with pose, colour, clutter, occlusion, blur and noise. The
generator is NumPy-only and seeded: the same NumPy version gives the same bytes. It also stores each
object's mask (:func:`load_cifar10_masks`) and box (:func:`load_cifar10_boxes`). See data/README.md.
"""

from __future__ import annotations

import json
import os
import pickle
import socket
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from book_utils.cifar_standin import (  # noqa: F401  (re-exported)
    _ALL_FILES,
    _BATCH_FILES,
    CIFAR10_CLASSES,
    N_TEST,
    N_TRAIN,
    STANDIN_VERSION,
    generate_standin,
    render_standin,
)


class StandinCacheError(RuntimeError):
    """The generated CIFAR-10 stand-in on disk is incomplete or damaged; delete its folder to regenerate."""


# --------------------------------------------------------------------------------------------------
# Locations
# --------------------------------------------------------------------------------------------------


def _data_dir() -> Path:
    from book_utils.config import data_dir

    return data_dir()


def real_root() -> Path:
    """Folder that holds (or will hold) the real ``cifar-10-batches-py`` folder: ``<data_dir>/cifar10``."""
    return _data_dir() / "cifar10"


def standin_dir() -> Path:
    """Folder of the generated stand-in: ``<data_dir>/cifar10-standin`` (it holds ``cifar-10-batches-py``)."""
    return _data_dir() / "cifar10-standin"


def _cifar_base():
    from torchvision.datasets import CIFAR10

    return CIFAR10


def _standin_class():
    CIFAR10 = _cifar_base()

    class StandinCIFAR10(CIFAR10):
        """torchvision's CIFAR10 parser with the md5 check replaced by a file-size check (stand-in files)."""

        def _check_integrity(self) -> bool:
            return _standin_problem(Path(self.root)) is None

        def _load_meta(self) -> None:
            path = os.path.join(self.root, self.base_folder, self.meta["filename"])
            with open(path, "rb") as infile:
                data = pickle.load(infile, encoding="latin1")
            self.classes = data[self.meta["key"]]
            self.class_to_idx = {_class: i for i, _class in enumerate(self.classes)}

    return StandinCIFAR10


def _standin_problem(root: Path) -> str | None:
    """Why the stand-in at ``root`` cannot be used, or None when its files are all there with the right sizes."""
    info_path = root / "standin.json"
    try:
        info = json.loads(info_path.read_text())
        sizes = info["sizes"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{info_path} is missing or unreadable"
    for fname in _ALL_FILES:
        path = root / "cifar-10-batches-py" / fname
        if not path.is_file():
            return f"{path} is missing"
        if path.stat().st_size != sizes.get(fname):
            return f"{path} has {path.stat().st_size} bytes, expected {sizes.get(fname)} (truncated or modified)"
    if not (root / "masks.npz").is_file():
        return f"{root / 'masks.npz'} is missing"
    if info.get("version") != STANDIN_VERSION:
        return f"it was made by stand-in version {info.get('version')}, this code writes version {STANDIN_VERSION}"
    return None


def _corrupt(root: Path, why: str) -> StandinCacheError:
    return StandinCacheError(
        f"The CIFAR-10 stand-in cache at {root} is damaged: {why}. Delete that folder "
        f"(e.g. `rm -rf {root}`) and run again to regenerate it (about a minute)."
    )


def ensure_standin() -> Path:
    """Generate the full-size stand-in once (cached, safe across processes) and return its folder.

    A cache written by an older stand-in version is replaced; a damaged one raises
    :class:`StandinCacheError` telling the user to delete it.
    """
    from book_utils.cache import build_once, file_lock

    root = standin_dir()
    if root.exists():
        why = _standin_problem(root)
        if why is None:
            return root
        if not why.startswith("it was made by stand-in version"):
            raise _corrupt(root, why)
        with file_lock(root.with_name(root.name + ".lock")):
            if root.exists() and _standin_problem(root) == why:
                print(f"CIFAR-10: replacing the stand-in at {root} ({why}).", flush=True)
                stale = root.with_name(f".{root.name}.stale-{os.getpid()}")
                os.replace(root, stale)
                import shutil

                shutil.rmtree(stale, ignore_errors=True)

    def build(tmp: Path) -> None:
        print(
            f"CIFAR-10: drawing the offline stand-in once ({N_TRAIN:,} + {N_TEST:,} images, about a minute)...",
            flush=True,
        )
        generate_standin(tmp, N_TRAIN, N_TEST, seed=0)

    build_once(root, build)
    return root


def _real_available(root: Path) -> bool:
    folder = root / "cifar-10-batches-py"
    if not folder.is_dir():
        return False
    CIFAR10 = _cifar_base()
    probe = CIFAR10.__new__(CIFAR10)
    probe.root = str(root)
    return bool(probe._check_integrity())


_FAILED_DOWNLOADS: set[str] = set()


def _try_download(root: Path) -> bool:
    """Download the real archive with torchvision (md5-verified); False if that fails (tried once a process)."""
    if str(root) in _FAILED_DOWNLOADS:
        return False
    CIFAR10 = _cifar_base()
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)
    try:
        root.mkdir(parents=True, exist_ok=True)
        CIFAR10(str(root), train=True, download=True)
        return True
    except Exception as exc:  # network errors, md5 mismatch, disk full: fall back to the stand-in
        print(f"CIFAR-10: download failed ({type(exc).__name__}: {exc}); using the offline stand-in.")
        _FAILED_DOWNLOADS.add(str(root))
        return False
    finally:
        socket.setdefaulttimeout(old)


def _which_source(root: Path | None) -> tuple[str, Path]:
    from book_utils.config import is_offline

    real = Path(root) if root is not None else real_root()
    if _real_available(real):
        return "real", real
    if not is_offline() and _try_download(real) and _real_available(real):
        return "real", real
    return "standin", ensure_standin()


def load_cifar10(
    train: bool = True,
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    root: Path | str | None = None,
):
    """CIFAR-10 train or test split as a ``torchvision.datasets.CIFAR10`` with ``.source`` real/standin.

    ``root`` is the folder that holds ``cifar-10-batches-py`` (default ``<data_dir>/cifar10``); put the
    extracted real archive there to use the real data. Prints one line saying which data is used.
    """
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, got {train!r}")
    source, folder = _which_source(root)
    split = "train" if train else "test"
    if source == "real":
        ds = _cifar_base()(str(folder), train=train, transform=transform, target_transform=target_transform)
        print(f"CIFAR-10 ({split}): real data at {folder / 'cifar-10-batches-py'}")
    else:
        try:
            ds = _standin_class()(str(folder), train=train, transform=transform, target_transform=target_transform)
        except RuntimeError as exc:
            raise _corrupt(folder, str(exc)) from exc
        except (pickle.UnpicklingError, EOFError, ValueError, KeyError, OSError) as exc:
            raise _corrupt(folder, f"{type(exc).__name__}: {exc}") from exc
        print(
            f"CIFAR-10 ({split}): offline stand-in (procedurally drawn look-alike, see data/README.md) "
            f"at {folder / 'cifar-10-batches-py'}"
        )
    ds.source = source
    return ds


def load_cifar10_masks(train: bool = True) -> np.ndarray:
    """Object masks (N, 32, 32) bool of the stand-in, in the order of :func:`load_cifar10`'s images.

    Raises ``ValueError`` when the real CIFAR-10 is in use (it has no masks).
    """
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, got {train!r}")
    if _real_available(real_root()):
        raise ValueError(
            "Real CIFAR-10 is on disk and load_cifar10() uses it, but real CIFAR-10 has no object masks or "
            "boxes. Masks exist only for the offline stand-in (move the real files away to use it)."
        )
    root = ensure_standin()
    try:
        with np.load(root / "masks.npz") as z:
            masks = z["train" if train else "test"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise _corrupt(root, f"masks.npz unreadable ({exc})") from exc
    return masks


def masks_to_boxes(masks: np.ndarray) -> np.ndarray:
    """(N, H, W) bool masks -> (N, 4) int boxes x_min, y_min, x_max, y_max (inclusive, like torchvision)."""
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f"masks must have shape (N, H, W), got {masks.shape}")
    cols = masks.any(axis=1)
    rows = masks.any(axis=2)
    if not cols.any(axis=1).all():
        raise ValueError("some masks are empty; they have no box")
    w = masks.shape[2]
    h = masks.shape[1]
    x0 = cols.argmax(axis=1)
    x1 = w - 1 - cols[:, ::-1].argmax(axis=1)
    y0 = rows.argmax(axis=1)
    y1 = h - 1 - rows[:, ::-1].argmax(axis=1)
    return np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)


def load_cifar10_boxes(train: bool = True) -> np.ndarray:
    """Object boxes (N, 4) int64 xyxy (inclusive pixel indices) of the stand-in, from its masks."""
    return masks_to_boxes(load_cifar10_masks(train))

