"""Surnames and their language (notebook 09-2, after the PyTorch tutorial "Classifying names with a
character-level RNN"): the tutorial's files when they are on disk, else a stand-in built from Faker's tables.

The real data is the tutorial's ``data/names/*.txt``: one UTF-8 file per language (18 of them, from
``Arabic.txt`` to ``Vietnamese.txt``), one surname per line. Its archive has no published checksum, so the
book never downloads it: unpack it yourself so that the files lie in ``<data_dir>/names/`` (or pass
``root``). Otherwise :func:`load_names` uses the stand-in of :mod:`book_utils.standins.names` (14
languages, written in the same layout). Both are read by the same code: every name is transliterated to
ASCII (:func:`~book_utils.standins.names.to_ascii`), repeats within a language are merged, and names that
two languages share are dropped. A fixed, seeded split keeps ``test_fraction`` of every language for
``"test"`` (a stratified split); ``"all"`` is everything.

Items are ``(name, language index)``; pass ``transform=one_hot`` (or ``OneHot(length)`` for equal lengths
that the default collate can stack) to get the letters as one-hot rows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
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
from book_utils.standins.names import ALPHABET, to_ascii, unambiguous

TITLE = "Names"
SPLITS = ("train", "test", "all")
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


class OneHot:
    """A transform: a name as a float tensor ``L×58`` with one 1 per row at the letter's place in
    :data:`~book_utils.standins.names.ALPHABET` (characters outside it are skipped).

    With ``length``, every name gets exactly ``length`` rows: shorter ones are padded with zero rows at the
    end, longer ones cut, so the default collate can stack them.
    """

    def __init__(self, length: int | None = None) -> None:
        self.length = None if length is None else require_int("length", length, 1)

    def __call__(self, name: str) -> torch.Tensor:
        idx = [_INDEX[c] for c in name if c in _INDEX]
        rows = len(idx) if self.length is None else self.length
        out = torch.zeros(rows, len(ALPHABET))
        idx = idx[:rows]
        out[torch.arange(len(idx)), torch.tensor(idx, dtype=torch.long)] = 1.0
        return out

    def __repr__(self) -> str:
        return f"OneHot(length={self.length})"


one_hot = OneHot()
"""The one-hot transform with one row per letter (variable length)."""


class Names(Dataset):
    """Surnames with language labels: ``data`` (the names), ``targets`` (indices into ``classes``, the
    languages in alphabetical order). Items are ``(name, label)`` through ``transform``/``target_transform``.
    """

    def __init__(self, data: list[str], targets: list[int], classes: tuple[str, ...], split: str, source: str,
                 root: Path, transform: Callable | None = None, target_transform: Callable | None = None) -> None:
        self.data, self.targets, self.classes = data, targets, classes
        self.split, self.source, self.root = split, source, root
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return apply_transforms(self.data[index], self.targets[index], self.transform, self.target_transform)


def _find_folder(base: Path) -> Path | None:
    """The folder with the ``*.txt`` files: ``base`` itself, or ``names``/``data/names`` below it."""
    for cand in (base, base / "names", base / "data" / "names"):
        if cand.is_dir() and any(cand.glob("*.txt")):
            return cand
    return None


def _find_real(base: Path) -> RealFiles:
    found = _find_folder(base)
    if found is None:
        return RealFiles(base)
    files = sorted(found.glob("*.txt"))
    if len(files) < 2:
        return RealFiles(found, problem=f"only {len(files)} language file was found (at least 2 are needed)")
    empty = [p.name for p in files if not p.read_text(encoding="utf-8", errors="replace").strip()]
    if empty:
        return RealFiles(found, problem=f"{len(empty)} language files are empty (e.g. {empty[0]})")
    return RealFiles(found, path=found)


def real_status(root: Path | str | None = None) -> RealFiles:
    """What :func:`load_names` would find of the tutorial's files (for notebook 00-1's report)."""
    return _find_real(Path(root) if root is not None else _default_root())


def read_names(folder: Path | str) -> dict[str, list[str]]:
    """Language -> its cleaned, distinct, unambiguous names, from a folder of ``<Language>.txt`` files."""
    raw = {}
    for path in sorted(Path(folder).glob("*.txt")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        raw[path.stem] = [n for n in (to_ascii(line) for line in lines) if n]
    return unambiguous(raw)


def split_names(by_language: dict[str, list[str]], test_fraction: float, seed: int) -> dict[str, tuple]:
    """``{"train"|"test"|"all": (names, labels)}``: a seeded shuffle of each language keeps
    ``round(test_fraction * n)`` names (at least one when ``n >= 2``) for ``"test"``."""
    rng = np.random.default_rng(seed)
    parts: dict[str, tuple[list[str], list[int]]] = {s: ([], []) for s in SPLITS}
    for label, lang in enumerate(sorted(by_language)):
        names = by_language[lang]
        order = rng.permutation(len(names))
        n_test = min(len(names) - 1, max(1, round(test_fraction * len(names)))) if len(names) >= 2 else 0
        for rank, i in enumerate(order):
            split = "test" if rank < n_test else "train"
            for s in (split, "all"):
                parts[s][0].append(names[i])
                parts[s][1].append(label)
    return parts


def load_names(
    split: str = "train",
    *,
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    source: str = "auto",
    root: Path | str | None = None,
    verbose: bool = True,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Names:
    """One split (``"train"``, ``"test"``, ``"all"``) of the surnames, labelled by language.

    ``test_fraction`` of each language goes to ``"test"`` (a stratified split, fixed by ``seed``). ``root``:
    where the tutorial's ``names/*.txt`` are looked for (default ``<data_dir>/names``).
    """
    check_split(split, SPLITS)
    seed = require_int("seed", seed, 0)
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    base = Path(root) if root is not None else _default_root()
    how = (f"Unpack the PyTorch tutorial's names archive (data/names/*.txt, one file per language) so that the "
           f"files lie in {base}; the book does not download it (no checksum is known for it), "
           "or use source='auto' for the stand-in built from Faker's surname tables.")
    used, folder = choose_source(TITLE, source, lambda: _find_real(base), how)
    detail = ""
    if folder is None:
        from book_utils.standins import names as gen

        version = gen.faker_version()
        top = generated("names", gen.VERSION, gen.write_names, {"faker": version})
        folder, detail = top / "names", f"surnames from Faker {version}'s tables, see data/README.md"
    by_language = read_names(folder)
    names, labels = split_names(by_language, float(test_fraction), seed)[split]
    announce(TITLE, used, folder, detail, verbose)
    return Names(names, labels, tuple(sorted(by_language)), split, used, folder, transform, target_transform)


def _default_root() -> Path:
    from book_utils.config import data_dir

    return data_dir() / "names"
