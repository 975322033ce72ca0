"""Checkpoints: save and load a model's state safely, and train a shared model once for every notebook.

:func:`save_checkpoint`/:func:`load_checkpoint` are introduced in notebook 03-6 and used by ``fit``'s resume.
:func:`train_once` is how a model that later notebooks reuse (the CIFAR CNNs of 04-1, later the grid
detector, the face embedder, the autoencoder, the pruned VGG) is trained once per mode and cached: the file
carries a tag naming the data it was trained on, and a missing or stale file is retrained under a lock.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from book_utils._validate import require_choice


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupted or does not fit the model."""


def checkpoint_path(name: str, mode: str) -> Path:
    """Where a shared model is cached: ``<data_dir>/checkpoints/<name>_<mode>.pt``."""
    from book_utils.config import MODES, data_dir

    require_choice("mode", mode, MODES)
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"name must be a plain file stem such as 'cifar10_resnet18', got {name!r}")
    return data_dir() / "checkpoints" / f"{name}_{mode}.pt"


def recipe_digest(recipe: Any) -> str:
    """8 hex digits naming a training recipe (a frozen dataclass) inside a cached model's tag: any change to
    the recipe changes the tag, so :func:`train_once` retrains the model."""
    import hashlib

    return hashlib.sha256(repr(recipe).encode()).hexdigest()[:8]


def save_checkpoint(
    path: str | os.PathLike, model: nn.Module, optimizer: Any = None, scheduler: Any = None, **extra: Any
) -> Path:
    """Save model/optimizer/scheduler states and ``extra`` (plain values and tensors) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "extra": extra,
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)  # readers never see a half-written file
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _read(path: Path, map_location: Any) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: train first (fit(..., checkpoint=path) writes one).")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
        if not isinstance(state, dict) or "model" not in state:
            raise ValueError("not a book_utils checkpoint (no 'model' entry)")
    except Exception as exc:
        raise CheckpointError(
            f"cannot read checkpoint {path} ({type(exc).__name__}: {str(exc)[:200]}). It is corrupted or "
            "from another program: delete it and train again."
        ) from exc
    return state


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: Any = None,
    scheduler: Any = None,
    map_location: Any = "cpu",
) -> dict[str, Any]:
    """Load states saved by :func:`save_checkpoint` into the given objects; returns the ``extra`` dict."""
    path = Path(path)
    state = _read(path, map_location)
    try:
        model.load_state_dict(state["model"])
        if optimizer is not None and state.get("optimizer") is not None:
            optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(
            f"checkpoint {path} does not fit this model/optimizer ({str(exc)[:300]}). It was saved from a "
            "different setup: delete it or use another path."
        ) from exc
    return dict(state.get("extra") or {})


def stored_tag(path: str | os.PathLike) -> str | None:
    """The ``tag`` saved in a checkpoint's extras (``"unknown"`` without one), ``None`` if missing/unreadable."""
    try:
        extra = _read(Path(path), "cpu").get("extra") or {}
    except CheckpointError:
        return None
    return str(extra.get("tag", "unknown"))


def train_once(
    path: str | os.PathLike,
    tag: str,
    build: Callable[[], nn.Module],
    train: Callable[[], tuple[nn.Module, dict[str, Any]]],
    what: str = "model",
) -> tuple[nn.Module, dict[str, Any]]:
    """A shared model: loaded from ``path`` when it was saved with ``tag``, else trained now and saved.

    ``build()`` makes the untrained architecture (to load into); ``train()`` returns the trained model and a
    dict of extras to store beside it (e.g. its history). ``tag`` names what the model depends on (e.g.
    ``"standin-v4"``): a file with another tag is retrained, saying why. An inter-process lock makes two
    notebooks that ask at once train it only once. Returns the loaded model (on the CPU) and its extras.
    """
    from book_utils.cache import file_lock

    path = Path(path)

    def stale() -> str | None:
        stored = stored_tag(path)
        if stored == tag:
            return None
        return "missing" if not path.exists() else (
            "unreadable" if stored is None else f"trained on {stored}, now {tag}")

    def load() -> tuple[nn.Module, dict[str, Any]]:
        with torch.random.fork_rng(devices=[]):  # the random init is overwritten: keep the caller's stream
            model = build()
        return model, load_checkpoint(path, model)

    misfit = None
    if stale() is None:
        try:
            return load()
        except CheckpointError as exc:  # the right tag, but saved from another architecture
            misfit = f"saved from another architecture ({str(exc)[:120]}...)"
    with file_lock(path.with_name(path.name + ".lock")):
        why = stale() or misfit  # another process may have trained it while we waited
        if why is not None:
            print(f"The cached {what} {path.name} is {why}: training it now (once).")
            model, extra = train()
            save_checkpoint(path, model, **{**extra, "tag": tag})
    return load()
