"""Captchas drawn with the ``captcha`` package, reproducibly: fixed-length ones (notebook 04-5, book §4.1.6)
and text lines of any length (notebook 09-4, book §9.3.4).

The ``captcha`` package draws with the unseedable ``secrets`` module (older releases used ``random``), so
:func:`render_captcha` swaps in a seeded generator while it draws: sample ``i`` of a given ``seed`` is then
the same text and the same picture on every run (with the same Pillow/FreeType build). The loader, labels
and Dataset are in :mod:`book_utils.datasets.captcha` (fixed length) and
:mod:`book_utils.datasets.captcha_lines` (any length).
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


def render_captcha(text: str, seed: int = 0, width: int = CAPTCHA_WIDTH, height: int = CAPTCHA_HEIGHT,
                   key: str | None = None) -> Any:
    """Draw ``text`` as a grayscale (mode ``"L"``) PIL image; the same ``text`` and ``seed`` give the same picture.

    ``key`` names the random stream instead (default ``"captcha-image/<seed>/<text>"``): text lines key it by
    their index, so two samples with the same short text still get different pictures.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    bad = sorted({c for c in text if c not in _CHAR_INDEX})
    if bad:
        raise ValueError(f"text {text!r} has characters outside 0-9a-z: {bad}")
    seed = require_int("seed", seed, 0)
    width, height = require_int("width", width, 8), require_int("height", height, 8)
    import captcha.image as captcha_image

    rng = _SeededSecrets(key if key is not None else f"captcha-image/{seed}/{text}")
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




# ------------------------------------------------------------------------ text lines of any length (09-4)
LINE_VERSION = 1
LINE_HEIGHT, LINE_WIDTH = 32, 100
"""The book's network input: every line is resized to 100×32, whatever its length."""
LINE_CHAR_WIDTH = 40
"""The book draws ``n`` characters with ``ImageCaptcha(width=40 * n, height=60)``."""


def line_text(index: int, seed: int = 0, chars: str = CAPTCHA_CHARS, min_len: int = 1, max_len: int = 9) -> str:
    """The text of line ``index`` for ``seed``: a length uniform in ``min_len..max_len``, then characters
    drawn uniformly from ``chars`` (the book: 1-9 characters of ``0-9a-z``)."""
    index, seed = require_int("index", index, 0), require_int("seed", seed, 0)
    min_len = require_int("min_len", min_len, 1)
    max_len = require_int("max_len", max_len, min_len)
    if not chars or any(c not in _CHAR_INDEX for c in chars):
        raise ValueError(f"chars must be a non-empty string of characters from 0-9a-z, got {chars!r}")
    rng = random.Random(f"captcha-line-text/{seed}/{index}/{chars}/{min_len}/{max_len}")
    return "".join(rng.choice(chars) for _ in range(rng.randint(min_len, max_len)))


def render_line(text: str, seed: int = 0, index: int = 0, size: tuple[int, int] = (LINE_HEIGHT, LINE_WIDTH)) -> Any:
    """Line ``index`` of ``seed`` as the book draws it: ``ImageCaptcha(width=40 * len(text), height=60)``,
    grayscale, resized (bilinear) to ``size`` = (height, width), 32×100 by default; a PIL image."""
    from PIL import Image

    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    h, w = require_int("height", size[0], 8), require_int("width", size[1], 8)
    image = render_captcha(text, seed=seed, width=LINE_CHAR_WIDTH * len(text), height=60,
                           key=f"captcha-line-image/{seed}/{require_int('index', index, 0)}/{text}")
    return image.resize((w, h), Image.Resampling.BILINEAR)


def _draw_lines(texts: list[str], seed: int, start: int, size: tuple[int, int]) -> np.ndarray:
    """Lines ``start .. start+len(texts)-1`` as a uint8 array (one worker's share)."""
    return np.stack([np.asarray(render_line(t, seed, start + i, size), dtype=np.uint8) for i, t in enumerate(texts)])


def render_lines(texts: list[str], seed: int = 0, size: tuple[int, int] = (LINE_HEIGHT, LINE_WIDTH),
                 workers: int = 2, progress: bool = False) -> np.ndarray:
    """Draw ``texts`` (line ``i`` is ``texts[i]``) as an ``N×H×W`` uint8 array, with ``workers`` processes.

    Each line depends only on ``(seed, i, text)``, so the result is the same for any number of workers.
    Fewer than 200 lines, or ``workers=1``, are drawn in this process.
    """
    from book_utils.interactive import progress as progress_bar

    workers = require_int("workers", workers, 1)
    chunk = 250
    starts = list(range(0, len(texts), chunk))
    if workers == 1 or len(texts) < 200:
        parts = [_draw_lines(texts[s:s + chunk], seed, s, size)
                 for s in progress_bar(starts, desc="drawing captchas (once)", unit="chunk", leave=False,
                                       disable=not progress)]
        return np.concatenate(parts) if parts else np.zeros((0, *size), np.uint8)
    import multiprocessing as mp
    import sys
    from concurrent.futures import ProcessPoolExecutor

    # Linux forks (the workers only draw with PIL, so the parent's threads do not matter, and a script
    # needs no `if __name__ == "__main__"` guard); elsewhere spawn, the platform default. The order of the
    # results follows the chunks, not the workers.
    method = "fork" if sys.platform == "linux" else "spawn"
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method)) as pool:
        futures = [pool.submit(_draw_lines, texts[s:s + chunk], seed, s, size) for s in starts]
        parts = [f.result() for f in progress_bar(futures, desc="drawing captchas (once)", unit="chunk",
                                                   leave=False, disable=not progress)]
    return np.concatenate(parts)


def write_lines(dest: Path, texts: list[str], seed: int = 0, size: tuple[int, int] = (LINE_HEIGHT, LINE_WIDTH),
                workers: int = 2) -> dict:
    """Draw ``texts`` into ``dest/lines.npz`` (``images`` uint8 N×H×W, ``texts``); returns facts for the manifest."""
    import time

    t0 = time.perf_counter()
    images = render_lines(texts, seed=seed, size=size, workers=workers, progress=True)
    seconds = time.perf_counter() - t0
    with open(Path(dest) / "lines.npz", "wb") as fh:  # a file object: np.savez would append ".npz"
        np.savez_compressed(fh, images=images, texts=np.array(texts))
    return {"shape": list(images.shape), "draw_seconds": round(seconds, 1), "workers": workers}
