"""Fixtures shared by the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from book_utils.datasets import _base


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    """An empty, offline data folder (``$BOOK_DATA_DIR``), and no dataset line printed yet."""
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOOK_OFFLINE", "1")
    monkeypatch.setattr(_base, "_ANNOUNCED", set())
    return tmp_path / "data"
