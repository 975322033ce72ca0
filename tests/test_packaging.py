"""Packaging: what `pip install book_utils` pulls in on Colab, and the extras."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Colab's own Jupyter stack: installing the book must never upgrade or replace any of these.
JUPYTER_STACK = {"jupyterlab", "jupyter-server", "notebook", "ipykernel", "jupyter-client", "tornado", "pyzmq",
                 "nbconvert", "nbclient", "jupyter-core", "jupyterlab-server"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(reqs: list[str]) -> set[str]:
    """Every distribution the requirements pull in (no extras), read from the installed metadata."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in reqs]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonical(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            todo += [Requirement(r) for r in requires(req.name) or []]
        except PackageNotFoundError:
            pass  # optional platform packages
    return seen


def test_core_dependencies_leave_colabs_jupyter_alone():
    """The Colab setup cell installs the core only: its closure must not touch Colab's Jupyter stack."""
    core = PYPROJECT["project"]["dependencies"]
    pulled = closure(core)
    assert not pulled & JUPYTER_STACK, f"core dependencies pull in {sorted(pulled & JUPYTER_STACK)}"
    assert "torch" in pulled and "ipywidgets" in pulled


def test_lab_and_deploy_live_in_extras():
    core = {canonical(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"jupyterlab", "tensorboard"} <= {canonical(Requirement(r).name) for r in extras["lab"]}
    assert {"onnx", "onnxruntime", "onnxscript"} <= {canonical(Requirement(r).name) for r in extras["deploy"]}
    assert not core & {"jupyterlab", "tensorboard", "onnx", "onnxruntime", "onnxscript", "pytest", "nbval"}
    assert not core & {"faiss-cpu", "torch-geometric"}, "faiss and PyTorch Geometric are extras (07-5, A-1)"
    own = [Requirement(r) for r in extras["dev"] if canonical(Requirement(r).name) == "book-utils"]
    assert own and own[0].extras == set(extras) - {"dev"}, "dev (make test) installs every other extra"


def test_ipywidgets_bound_accepts_colabs_version():
    """Colab ships ipywidgets 7.7; a bound above it would make pip replace Colab's widget stack."""
    bound = next(Requirement(r) for r in PYPROJECT["project"]["dependencies"] if r.startswith("ipywidgets"))
    assert bound.specifier.contains("7.7.1")
