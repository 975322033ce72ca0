"""Unit tests for book_utils.cache: build once, atomically, safely across processes."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import pytest

from book_utils.cache import build_once


def _slow_build(tmp: Path) -> None:
    tmp.mkdir()
    with open(tmp.parent / "builds.log", "a") as fh:
        fh.write("x")
    time.sleep(0.3)
    (tmp / "data.txt").write_text("done")


def _worker(target: str) -> None:
    build_once(Path(target), _slow_build)


def test_builds_once_and_reuses(tmp_path):
    target = tmp_path / "cache"
    assert build_once(target, _slow_build) == target
    assert build_once(target, _slow_build) == target
    assert (tmp_path / "builds.log").read_text() == "x"
    assert (target / "data.txt").read_text() == "done"


def test_concurrent_processes_build_once(tmp_path):
    target = tmp_path / "cache"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(str(target),)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    assert (tmp_path / "builds.log").read_text() == "x"
    assert (target / "data.txt").read_text() == "done"


def test_failed_build_leaves_nothing(tmp_path):
    target = tmp_path / "cache.bin"

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        build_once(target, broken)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cache.bin.lock"]


def test_build_that_writes_nothing_is_an_error(tmp_path):
    with pytest.raises(RuntimeError, match="did not create"):
        build_once(tmp_path / "x", lambda tmp: None)
