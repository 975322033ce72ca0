"""Argument checks shared by every module: one message style, raised as ``ValueError``/``TypeError``.

Each function returns the checked value, so a check reads as an assignment:
``n = require_int("n", n, 1)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def require_int(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an int if it is an integer (not a bool) >= ``minimum``, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def require_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``, else a ``ValueError`` that lists them."""
    options = tuple(choices)
    if value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}")
    return value


def require_size(name: str, value: Any, minimum: int = 1) -> tuple[int, int]:
    """An image size given as ``(h, w)`` or one int (a square) as a ``(h, w)`` tuple of ints >= ``minimum``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be an int or a (height, width) pair, got {value!r}")
    return require_int(f"{name} height", value[0], minimum), require_int(f"{name} width", value[1], minimum)
