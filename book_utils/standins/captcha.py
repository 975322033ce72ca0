"""Fixed-length captchas drawn with the ``captcha`` package, reproducibly (notebook 04-5, book §4.1.6).

The ``captcha`` package draws with the unseedable ``secrets`` module (older releases used ``random``), so
:func:`render_captcha` swaps in a seeded generator while it draws: sample ``i`` of a given ``seed`` is then
the same text and the same picture on every run (with the same Pillow/FreeType build). The loader, labels
and Dataset are in :mod:`book_utils.datasets.captcha`.
"""

from __future__ import annotations

import random
import string
import threading
from pathlib import Path
from typing import Any

import numpy as np

from book_utils._validate import require_int

CAPTCHA_CHARS: str = string.digits + string.ascii_lowercase
"""The 36 classes in label order: ``0``-``9`` then ``a``-``z``."""
CAPTCHA_LENGTH = 4
VERSION = 1
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


def render_array(num: int, seed: int = 0, start: int = 0, length: int = CAPTCHA_LENGTH,
                 progress: bool = False) -> tuple[np.ndarray, list[str]]:
    """Samples ``start .. start+num-1`` as a ``num×60×160`` uint8 array and their texts (no caching)."""
    from book_utils.interactive import progress as progress_bar

    num, start = require_int("num", num, 1), require_int("start", start, 0)
    texts = [captcha_text(start + i, seed, length) for i in range(num)]
    bar = progress_bar(texts, desc="drawing captchas (once)", unit="img", leave=False, disable=not progress)
    images = np.stack([np.asarray(render_captcha(t, seed=seed), dtype=np.uint8) for t in bar])
    return images, texts


def write_captchas(dest: Path, num: int, seed: int = 0, length: int = CAPTCHA_LENGTH) -> dict:
    """Draw samples ``0 .. num-1`` into ``dest/captchas.npz`` (``images`` uint8, ``texts``); returns facts."""
    images, texts = render_array(num, seed=seed, length=length, progress=True)
    with open(Path(dest) / "captchas.npz", "wb") as fh:  # a file object: np.savez would append ".npz"
        np.savez_compressed(fh, images=images, texts=np.array(texts))
    return {"shape": list(images.shape)}


