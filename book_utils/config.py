"""Run modes, data directory, device, seeding and the ``setup()`` banner every notebook calls.

Environment variables (all optional):

* ``BOOK_MODE``: ``smoke`` (tests, < 1 min a notebook), ``lite`` (CPU default, minutes) or ``full``
  (GPU default, the book's schedules).
* ``BOOK_OFFLINE``: ``1`` forbids every network access; loaders fall back to stand-ins.
* ``BOOK_DATA_DIR``: where datasets live; default is the repository's ``data/`` folder.
* ``BOOK_SEED``: the seed :func:`setup` uses when a notebook does not pass one (default 0); run a notebook
  with ``BOOK_SEED=1``, ``2``... to measure the seed spread behind a lesson's threshold.
* ``BOOK_RESULTS``: a JSON-lines file that :meth:`Config.check` appends every checked value to
  (used by ``make bench``).
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from book_utils._validate import require_int

MODES = ("smoke", "lite", "full")
T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class ConfigError(ValueError):
    """A book setting (environment variable or argument) has a value that cannot be used."""


class CheckFailed(AssertionError):
    """A learning outcome asserted with :meth:`Config.check` was not reached."""


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return False
    return torch.cuda.is_available()


def get_mode(mode: str | None = None) -> str:
    """Return the run mode: ``mode`` if given, else ``$BOOK_MODE``, else full on CUDA and lite otherwise."""
    value = mode if mode is not None else os.environ.get("BOOK_MODE", "")
    value = value.strip().lower()
    if not value:
        return "full" if _cuda_available() else "lite"
    if value not in MODES:
        raise ConfigError(
            f"Unknown book mode {value!r}. Use one of {', '.join(MODES)}, "
            "e.g. `export BOOK_MODE=lite` (or unset BOOK_MODE for the default)."
        )
    return value


def is_offline() -> bool:
    """True when ``$BOOK_OFFLINE`` forbids network access (``1``/``true``/``yes``/``on``)."""
    value = os.environ.get("BOOK_OFFLINE", "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"BOOK_OFFLINE={value!r} is not understood: set it to 1 (offline) or 0 (online).")


def repo_root() -> Path | None:
    """The repository root when ``book_utils`` runs from a checkout (editable install), else ``None``."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir():
        return root
    return None


def data_dir(create: bool = True) -> Path:
    """Where datasets live: ``$BOOK_DATA_DIR``, else the repo's ``data/``, else ``~/.cache/book_utils/data``.

    The answer does not depend on the current working directory.
    """
    env = os.environ.get("BOOK_DATA_DIR", "").strip()
    if env:
        path = Path(env).expanduser().resolve()
    elif (root := repo_root()) is not None:
        path = root / "data"
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(cache) / "book_utils" / "data"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def select_device(prefer: str | None = None) -> Any:
    """Pick a ``torch.device``: ``prefer`` if given (e.g. ``"cpu"``), else CUDA, then Apple MPS, then CPU."""
    import torch

    if prefer is not None:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError("CUDA was requested but no CUDA GPU is visible; use prefer='cpu' or None.")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and PyTorch (all devices) with ``seed``."""
    seed = require_int("seed", seed, 0)
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(seed)


@dataclass
class Config:
    """What a notebook needs to know about the run; returned by :func:`setup`."""

    mode: str
    device: Any
    seed: int
    offline: bool
    data_dir: Path
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def smoke(self) -> bool:
        """True in smoke mode (tests): notebooks may skip slow extras such as live plots."""
        return self.mode == "smoke"

    def pick(self, *, full: T, lite: T, smoke: T) -> T:
        """Return the value for the current mode, e.g. ``epochs = cfg.pick(full=60, lite=8, smoke=1)``."""
        return {"full": full, "lite": lite, "smoke": smoke}[self.mode]

    def check(
        self,
        name: str,
        value: float,
        *,
        full: float | None = None,
        lite: float | None = None,
        smoke: float | None = None,
        higher_is_better: bool = True,
    ) -> None:
        """Assert a learning outcome against this mode's threshold and record it (introduced in 00-1).

        A mode given ``None`` only records the value in that mode; at least one mode needs a threshold
        (use :meth:`record` for a value that is never asserted). With ``higher_is_better=False`` the value
        must be at most the threshold (a loss, an overfitting gap). Full mode, which trains longer on the
        real data, may never have a looser threshold than lite mode. Returns nothing, so a check at the end
        of a cell adds no ``Out[]`` line.
        """
        if full is None and lite is None and smoke is None:
            raise ConfigError(f"check({name!r}) has no threshold in any mode: use cfg.record() to record a value.")
        if full is not None and lite is not None and (full < lite if higher_is_better else full > lite):
            raise ConfigError(f"check({name!r}): the full-mode threshold {full} is looser than lite's {lite}.")
        self._log(name, value, {"full": full, "lite": lite, "smoke": smoke}[self.mode], higher_is_better)

    def record(self, name: str, value: float) -> None:
        """Record a measured value (a time, a rate) without asserting anything; printed as "record"."""
        self._log(name, value, None, True)

    def _log(self, name: str, value: float, threshold: float | None, higher_is_better: bool) -> None:
        try:
            value = float(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"check({name!r}) needs a number, got {value!r}") from exc
        if not np.isfinite(value):
            raise CheckFailed(f"{name} is {value}: training diverged or the metric is broken.")
        ok = threshold is None or (value >= threshold if higher_is_better else value <= threshold)
        record = {
            "name": name,
            "value": value,
            "threshold": threshold,
            "higher_is_better": higher_is_better,
            "mode": self.mode,
            "passed": ok,
        }
        self.checks.append(record)
        results = os.environ.get("BOOK_RESULTS", "").strip()
        if results:
            with open(results, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        sign = ">=" if higher_is_better else "<="
        if not ok:
            raise CheckFailed(
                f"{name} = {value:.4g}, expected {sign} {threshold} in {self.mode} mode. "
                "If you changed the notebook, this lesson no longer holds; otherwise please report it."
            )
        if threshold is None:
            print(f"record {name}: {value:.4g} (recorded, not checked in {self.mode} mode)")
        else:
            print(f"check {name}: {value:.4g} ({sign} {threshold} ok)")


def in_colab() -> bool:
    """True inside a Google Colab runtime (the module ``google.colab`` can be imported)."""
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True


def extra_requirements(extra: str) -> list[str]:
    """The requirement strings of one optional extra of book_utils (``lab``, ``deploy``, ``dev``)."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        reqs = requires("book_utils") or []
    except PackageNotFoundError:  # pragma: no cover - book_utils runs from its installed metadata
        return []
    marker = re.compile(r";\s*extra\s*==\s*['\"]" + re.escape(extra) + r"['\"]")
    return [r.split(";")[0].strip() for r in reqs if marker.search(r)]


def require_extra(extra: str, *modules: str) -> None:
    """Make sure a notebook's optional packages import (introduced in 03-6, which needs ``deploy``).

    On Colab the missing ones are installed (only the extra's packages, never Jupyter); elsewhere an
    ``ImportError`` says which command installs them.
    """
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if not missing:
        return
    reqs = extra_requirements(extra)
    if in_colab() and reqs:
        import subprocess
        import sys

        print(f"installing the '{extra}' packages: {', '.join(reqs)}")
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *reqs], capture_output=True, text=True)
        if done.returncode == 0:
            importlib.invalidate_caches()
            return
        raise ImportError(f"pip could not install {reqs}: {done.stderr.strip()[-300:]}")
    raise ImportError(
        f"This notebook needs {', '.join(missing)} (book_utils extra '{extra}'): run `make lab` in the "
        f"repository, or `pip install 'book_utils[{extra}]'` / `pip install {' '.join(reqs) or ' '.join(missing)}`."
    )


def _versions() -> str:
    """Installed versions, read from package metadata: nothing is imported just to print a version."""
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"python {platform.python_version()}"]
    for dist, label in (("torch", "torch"), ("torchvision", "torchvision"), ("scikit-learn", "sklearn"),
                        ("numpy", "numpy")):
        try:
            parts.append(f"{label} {version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{label} missing")
    return ", ".join(parts)


def get_seed(seed: int | None = None) -> int:
    """``seed`` if given, else ``$BOOK_SEED``, else 0 (a bad value is a clear error)."""
    if seed is not None:
        return require_int("seed", seed, 0)
    value = os.environ.get("BOOK_SEED", "").strip()
    if not value:
        return 0
    try:
        return require_int("BOOK_SEED", int(value), 0)
    except ValueError:
        raise ConfigError(f"BOOK_SEED must be a non-negative integer, got {value!r}") from None


def setup(seed: int | None = None, mode: str | None = None, device: str | None = None, quiet: bool = False) -> Config:
    """Read the environment, seed everything and print one banner line; call it at the top of a notebook.

    ``seed`` defaults to ``$BOOK_SEED``, else 0."""
    seed = get_seed(seed)
    cfg = Config(
        mode=get_mode(mode),
        device=select_device(device),
        seed=seed,
        offline=is_offline(),
        data_dir=data_dir(),
    )
    seed_everything(seed)
    if not quiet:
        net = "offline" if cfg.offline else "online"
        print(
            f"mode={cfg.mode} | device={cfg.device} | seed={seed} | {net} | data={cfg.data_dir} | {_versions()}"
        )
        if cfg.device.type == "cpu" and cfg.mode == "full":
            print("Note: full mode on a CPU will be slow; try BOOK_MODE=lite.")
    return cfg
