"""Fixed-length captchas drawn with the ``captcha`` package, reproducibly, for multi-label classification.

Introduced in Chapter 4.5 (book §4.1.6). Each sample is a 4-character string over ``0-9a-z`` (36 classes)
drawn as a 160×60 grayscale image; its target is a 4×36 one-hot matrix flattened to 144 values, the format
``nn.MultiLabelSoftMarginLoss`` expects. The ``captcha`` package draws with the unseedable ``secrets``
module (older releases used ``random``), so :func:`render_captcha` swaps in a seeded generator while it
draws: sample ``i`` of a given ``seed`` is then the same text and the same picture on every run (with the
same Pillow/FreeType build). :class:`CaptchaDataset` lives here, not in the notebook, so that DataLoader
workers (spawned processes) can import it.
"""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from book_utils.config import require_int

CAPTCHA_CHARS: str = string.digits + string.ascii_lowercase
"""The 36 classes in label order: ``0``-``9`` then ``a``-``z``."""
CAPTCHA_LENGTH = 4
CAPTCHA_WIDTH, CAPTCHA_HEIGHT = 160, 60
_CHAR_INDEX = {c: i for i, c in enumerate(CAPTCHA_CHARS)}
_PATCH_LOCK = threading.Lock()
_GENERATORS: dict[tuple[int, int], Any] = {}


class _SeededSecrets(random.Random):
    """A seeded stand-in for the ``secrets`` module (and for ``random``, which it already is)."""

    def randbelow(self, n: int) -> int:
        return self.randrange(n)

    def randbits(self, k: int) -> int:
        return self.getrandbits(k)


def captcha_text(index: int, seed: int = 0, length: int = CAPTCHA_LENGTH) -> str:
    """The text of sample ``index`` for ``seed``: ``length`` characters drawn uniformly from ``CAPTCHA_CHARS``."""
    index, seed = require_int("index", index, 0), require_int("seed", seed, 0)
    length = require_int("length", length, 1)
    rng = random.Random(f"captcha-text/{seed}/{index}")
    return "".join(rng.choice(CAPTCHA_CHARS) for _ in range(length))


def _generator(width: int, height: int) -> Any:
    try:
        from captcha.image import ImageCaptcha
    except ImportError as exc:  # pragma: no cover - captcha is a dependency of book_utils
        raise ImportError("the captcha package is missing: `pip install captcha`") from exc
    key = (width, height)
    if key not in _GENERATORS:  # fonts are loaded once per size
        _GENERATORS[key] = ImageCaptcha(width=width, height=height)
    return _GENERATORS[key]


def render_captcha(text: str, seed: int = 0, width: int = CAPTCHA_WIDTH, height: int = CAPTCHA_HEIGHT) -> Any:
    """Draw ``text`` as a grayscale (mode ``"L"``) PIL image; the same ``text`` and ``seed`` give the same picture."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    bad = sorted({c for c in text if c not in _CHAR_INDEX})
    if bad:
        raise ValueError(f"text {text!r} has characters outside 0-9a-z: {bad}")
    seed = require_int("seed", seed, 0)
    width, height = require_int("width", width, 8), require_int("height", height, 8)
    import captcha.image as captcha_image

    rng = _SeededSecrets(f"captcha-image/{seed}/{text}")
    gen = _generator(width, height)
    with _PATCH_LOCK:  # the package reads module-level generators: swap them in for this one drawing
        saved = {name: getattr(captcha_image, name) for name in ("secrets", "random") if hasattr(captcha_image, name)}
        for name in saved:
            setattr(captcha_image, name, rng)
        try:
            image = gen.generate_image(text)
        finally:
            for name, module in saved.items():
                setattr(captcha_image, name, module)
    return image.convert("L")


def encode_label(text: str, length: int = CAPTCHA_LENGTH) -> torch.Tensor:
    """One-hot target of ``text``: ``length``×36 zeros with a 1 at each character's class, flattened."""
    if not isinstance(text, str) or len(text) != length:
        raise ValueError(f"expected a string of {length} characters, got {text!r}")
    target = torch.zeros(length, len(CAPTCHA_CHARS))
    for pos, char in enumerate(text):
        if char not in _CHAR_INDEX:
            raise ValueError(f"{char!r} in {text!r} is not one of the 36 classes 0-9a-z")
        target[pos, _CHAR_INDEX[char]] = 1.0
    return target.reshape(-1)


def decode_label(scores: torch.Tensor | np.ndarray, length: int = CAPTCHA_LENGTH) -> str | list[str]:
    """Texts from one-hot targets or model outputs: argmax over the 36 classes at each position.

    ``scores`` holds ``length*36`` values (one sample, gives a ``str``) or ``N×(length*36)`` (gives a list).
    """
    t = torch.as_tensor(scores)
    n_out = length * len(CAPTCHA_CHARS)
    if t.shape[-1] != n_out or t.ndim not in (1, 2):
        raise ValueError(f"expected {n_out} scores per sample (shape ({n_out},) or (N, {n_out})), got {tuple(t.shape)}")
    idx = t.reshape(-1, length, len(CAPTCHA_CHARS)).argmax(dim=-1)
    texts = ["".join(CAPTCHA_CHARS[i] for i in row) for row in idx.tolist()]
    return texts[0] if t.ndim == 1 else texts


def render_array(num: int, seed: int = 0, start: int = 0, length: int = CAPTCHA_LENGTH) -> tuple[np.ndarray, list[str]]:
    """Samples ``start .. start+num-1`` as a ``num×60×160`` uint8 array and their texts (no caching)."""
    num, start = require_int("num", num, 1), require_int("start", start, 0)
    texts = [captcha_text(start + i, seed, length) for i in range(num)]
    images = np.stack([np.asarray(render_captcha(t, seed=seed), dtype=np.uint8) for t in texts])
    return images, texts


def cached_captchas(
    num: int, seed: int = 0, length: int = CAPTCHA_LENGTH, root: Path | None = None
) -> tuple[np.ndarray, list[str]]:
    """Like :func:`render_array` from index 0, but drawn once and kept in ``<data_dir>/captcha`` (an ``.npz``).

    The file name holds ``num``, ``seed``, ``length`` and the captcha package version, so a changed setting
    never reads a stale file; two processes asking at once draw it only once.
    """
    from importlib.metadata import version

    from book_utils.cache import build_once
    from book_utils.config import data_dir

    num, seed = require_int("num", num, 1), require_int("seed", seed, 0)
    length = require_int("length", length, 1)
    folder = Path(root) if root is not None else data_dir() / "captcha"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"captcha-n{num}-seed{seed}-len{length}-v{version('captcha')}.npz"

    def build(tmp: Path) -> None:
        images, texts = render_array(num, seed=seed, length=length)
        with open(tmp, "wb") as fh:  # a file object: np.savez would otherwise append ".npz" to the name
            np.savez_compressed(fh, images=images, texts=np.array(texts))

    build_once(target, build)
    try:
        with np.load(target) as data:
            images, texts = data["images"], [str(t) for t in data["texts"]]
    except (OSError, KeyError, ValueError) as exc:
        raise RuntimeError(f"the captcha cache {target} is unreadable ({exc}); delete it and run again") from exc
    if images.shape != (num, CAPTCHA_HEIGHT, CAPTCHA_WIDTH) or len(texts) != num:
        raise RuntimeError(f"the captcha cache {target} has shape {images.shape}; delete it and run again")
    return images, texts


class CaptchaDataset(Dataset):
    """``num`` captchas as ``(1×60×160 float image in 0..1, 144-value one-hot target)`` pairs.

    With ``cache=True`` the images are drawn once (:func:`cached_captchas`) and served from memory, which is
    what a fixed validation set needs; with ``cache=False`` each item is drawn when it is asked for, so a
    large training set costs no memory and no start-up time (and DataLoader workers share the drawing).
    ``transform`` (optional) is applied to the image tensor.
    """

    def __init__(
        self,
        num: int,
        seed: int = 0,
        cache: bool = False,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        length: int = CAPTCHA_LENGTH,
    ) -> None:
        self.num = require_int("num", num, 1)
        self.seed = require_int("seed", seed, 0)
        self.length = require_int("length", length, 1)
        self.transform = transform
        self.images: np.ndarray | None = None
        if cache:
            self.images, self.texts = cached_captchas(self.num, self.seed, self.length)
        else:
            self.texts = [captcha_text(i, self.seed, self.length) for i in range(self.num)]

    def __len__(self) -> int:
        return self.num

    def image(self, index: int) -> np.ndarray:
        """Sample ``index`` as a 60×160 uint8 array (for display)."""
        if not -self.num <= index < self.num:
            raise IndexError(f"index {index} is out of range for {self.num} captchas")
        index %= self.num
        if self.images is not None:
            return self.images[index]
        return np.asarray(render_captcha(self.texts[index], seed=self.seed), dtype=np.uint8)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(np.array(self.image(index), dtype=np.float32) / 255.0).unsqueeze(0)
        if self.transform is not None:
            x = self.transform(x)
        return x, encode_label(self.texts[index % self.num], self.length)


def per_char_accuracy(outputs: torch.Tensor, targets: torch.Tensor, length: int = CAPTCHA_LENGTH) -> float:
    """Fraction of characters whose argmax class matches the target's (a ``metric`` for ``book_utils.train.fit``)."""
    pred, true = _positions(outputs, targets, length)
    return (pred == true).float().mean().item()


def whole_accuracy(outputs: torch.Tensor, targets: torch.Tensor, length: int = CAPTCHA_LENGTH) -> float:
    """Fraction of captchas with every character right."""
    pred, true = _positions(outputs, targets, length)
    return (pred == true).all(dim=1).float().mean().item()


def _positions(outputs: torch.Tensor, targets: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    n_out = length * len(CAPTCHA_CHARS)
    if outputs.ndim != 2 or outputs.shape[1] != n_out or outputs.shape != targets.shape:
        raise ValueError(
            f"outputs and targets must both have shape (N, {n_out}); got {tuple(outputs.shape)} and "
            f"{tuple(targets.shape)}"
        )
    k = len(CAPTCHA_CHARS)
    return outputs.reshape(-1, length, k).argmax(-1), targets.reshape(-1, length, k).argmax(-1)


__all__: Sequence[str] = [
    "CAPTCHA_CHARS", "CaptchaDataset", "cached_captchas", "captcha_text", "decode_label", "encode_label",
    "per_char_accuracy", "render_array", "render_captcha", "whole_accuracy",
]
