"""Test-run settings shared by the unit tests and the notebook (nbval) tests.

Tests always run offline and, unless BOOK_MODE is set, in smoke mode; notebook kernels inherit these.
Every notebook under notebooks/ must be collected: a notebook that nbval silently drops fails the run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))
from nbtool import find_notebooks  # noqa: E402

os.environ.setdefault("BOOK_MODE", "smoke")
os.environ["BOOK_OFFLINE"] = "1"
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
# Two notebooks run at once on a 2-core machine: one BLAS/OpenMP thread each avoids oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.pop("BOOK_RESULTS", None)
# Test kernels take the headless path (a final text line instead of progress bars, a static figure instead
# of widgets): what nbconvert, papermill and `make book` give, so that path is what the tests check.
os.environ["BOOK_STATIC"] = "1"


def pytest_configure(config: pytest.Config) -> None:
    """Read the nbval sanitizer from the repository, whatever folder pytest was started in."""
    option = getattr(config.option, "nbval_sanitize_with", None)
    if option and not Path(option).is_absolute() and not Path(option).is_file():
        config.option.nbval_sanitize_with = str(ROOT / option)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    """Fail loudly if a notebook that this run should cover produced no test items."""
    args = [Path(a).resolve() for a in config.args]
    notebooks_dir = (ROOT / "notebooks").resolve()
    if not any(a == notebooks_dir or a == ROOT for a in args):
        return  # a partial run (one file or folder): nothing to compare against
    collected = {Path(str(item.fspath)).resolve() for item in items}
    missing = [str(nb.relative_to(ROOT)) for nb in find_notebooks() if nb.resolve() not in collected]
    if missing:
        raise pytest.UsageError("notebooks not collected (is --nbval-lax missing?): " + ", ".join(missing))
