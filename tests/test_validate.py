"""Tests of book_utils._validate: the argument checks every module shares (one message style)."""

from __future__ import annotations

import numpy as np
import pytest

from book_utils._validate import require_choice, require_int, require_size


def test_require_int_accepts_ints_and_numpy_ints():
    assert require_int("n", np.int64(3), 1) == 3 and type(require_int("n", np.int64(3), 1)) is int
    assert require_int("n", 0) == 0  # the default minimum is 0
    assert require_int("n", 5, 5) == 5  # the minimum itself is allowed


@pytest.mark.parametrize("bad", [True, False, 2.0, "3", None, 0, -4])
def test_require_int_rejects(bad):
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        require_int("n", bad, 1)


def test_require_choice():
    assert require_choice("split", "test", ("train", "test")) == "test"
    assert require_choice("k", 3, iter([1, 3])) == 3  # any iterable of choices, even a one-shot one
    with pytest.raises(ValueError, match=r"split must be one of 'train', 'test'; got 'tset'"):
        require_choice("split", "tset", ["train", "test"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [(32, (32, 32)), (np.int32(20), (20, 20)), ((48, 96), (48, 96)), ([64, 16], (64, 16)),
     ((np.int64(17), 18), (17, 18))],
)
def test_require_size_gives_height_width(value, expected):
    out = require_size("size", value, 16)
    assert out == expected and all(type(v) is int for v in out)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (True, "an int or a .height, width. pair"),
        (32.0, "an int or a .height, width. pair"),
        ((1, 2, 3), "an int or a .height, width. pair"),
        ("32", "an int or a .height, width. pair"),
        (8, "size height must be an integer >= 16"),
        ((32, 8), "size width must be an integer >= 16"),
        ((32.0, 32), "size height must be an integer >= 16"),
    ],
)
def test_require_size_rejects(value, match):
    with pytest.raises(ValueError, match=match):
        require_size("size", value, 16)
