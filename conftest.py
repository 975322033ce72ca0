"""Test-run settings shared by the unit tests and the notebook (nbval) tests.

Tests always run offline and, unless BOOK_MODE is set, in smoke mode; notebook kernels inherit these.
Every notebook under notebooks/ must be collected: a notebook that nbval silently drops fails the run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("BOOK_MODE", "smoke")
os.environ["BOOK_OFFLINE"] = "1"
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
# Two notebooks run at once on a 2-core machine: one BLAS/OpenMP thread each avoids oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.pop("BOOK_RESULTS", None)


def all_notebooks() -> list[Path]:
    """Every committed notebook of the book, sorted."""
    return sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    """Fail loudly if a notebook that this run should cover produced no test items."""
    args = [Path(a).resolve() for a in config.args]
    notebooks_dir = (ROOT / "notebooks").resolve()
    if not any(a == notebooks_dir or a == ROOT for a in args):
        return  # a partial run (one file or folder): nothing to compare against
    collected = {Path(str(item.fspath)).resolve() for item in items}
    missing = [str(nb.relative_to(ROOT)) for nb in all_notebooks() if nb.resolve() not in collected]
    if missing:
        raise pytest.UsageError("notebooks not collected (is --nbval-lax missing?): " + ", ".join(missing))
