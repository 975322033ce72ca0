"""Build a cached file or folder once, safely when several processes ask for it at the same time.

Tests run two notebooks in parallel, and both may need the same generated dataset. :func:`build_once`
takes an exclusive lock next to the target, builds into a temporary sibling and renames it into place,
so a reader never sees a half-written cache and the work is done only once.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                time.sleep(0.1)

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive inter-process lock on ``path`` (created if missing) inside the ``with`` block."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _lock(fd)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Return ``target``, first creating it with ``build(tmp)`` if it does not exist yet.

    ``build`` must write the file or folder at the path it is given (a temporary sibling of ``target``);
    it is renamed to ``target`` only when ``build`` returns without error.
    """
    target = Path(target)
    if target.exists():
        return target
    with file_lock(target.with_name(target.name + ".lock")):
        if target.exists():  # another process built it while we waited
            return target
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        _remove(tmp)
        try:
            build(tmp)
            if not tmp.exists():
                raise RuntimeError(f"build function for {target} did not create {tmp}")
            os.replace(tmp, target)
        finally:
            _remove(tmp)
    return target
