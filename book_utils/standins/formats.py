"""File writers shared by the stand-in generators: Python-2 flavoured pickles and reproducible ``.npz`` files."""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


class Py2Pickler(pickle._Pickler):  # type: ignore[name-defined,misc]
    """Protocol-2 pickler that writes ``bytes`` as Python-2 ``str`` (BINSTRING), like the real CIFAR files.

    Loaded with ``encoding="bytes"`` they come back as ``bytes``, with ``encoding="latin1"`` as ``str``.
    NumPy globals are written under their NumPy-1 names (``numpy.core.multiarray``), which NumPy 2 reads too.
    """

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_bytes(self, obj: bytes) -> None:
        """Write ``obj`` as a Python-2 byte string."""
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes

    def save_global(self, obj: Any, name: str | None = None) -> None:
        """Write a reference to a class or function, renaming ``numpy._core`` to ``numpy.core``."""
        module = getattr(obj, "__module__", None) or "builtins"
        name = name or obj.__qualname__
        if module.startswith("numpy._core"):
            module = "numpy.core" + module[len("numpy._core") :]
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))
        self.memoize(obj)

    dispatch[type] = save_global
    dispatch[type(len)] = save_global


def write_py2_pickle(path: Path | str, obj: Any) -> None:
    """Pickle ``obj`` to ``path`` the way Python 2 did (protocol 2, byte strings as ``str``)."""
    with open(path, "wb") as fh:
        Py2Pickler(fh, protocol=2).dump(obj)


def write_npz(path: Path | str, arrays: Mapping[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but with fixed zip timestamps, so the bytes are reproducible."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
