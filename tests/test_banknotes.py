"""Tests of the generated banknote image set (book_utils.banknotes)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from book_utils.banknotes import _LUMA, CLASSES, SPLITS, _tint, make_banknotes, render_banknote


def test_render_size_mode_and_determinism():
    a = render_banknote("100", "red", np.random.default_rng(3), size=(64, 32))
    b = render_banknote("100", "red", np.random.default_rng(3), size=(64, 32))
    assert a.size == (64, 32) and a.mode == "RGB"
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_tints_have_equal_luminance():
    # the colour-shift lesson relies on grey versions of both tints looking the same
    assert abs(float(_tint("green", 1.0) @ _LUMA) - float(_tint("red", 1.0) @ _LUMA)) < 1e-6


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"value": "5", "tint": "red"}, "value must be one of"),
        ({"value": "1", "tint": "blue"}, "tint must be one of"),
        ({"value": "1", "tint": "red", "size": (8, 4)}, "too small"),
    ],
)
def test_render_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        render_banknote(rng=np.random.default_rng(0), **kwargs)


def test_make_banknotes_tree_and_colour_swap(tmp_path):
    root = make_banknotes(tmp_path / "notes", n_per_class=10, n_new=3, size=(48, 24))
    counts = {(s, c): len(list((root / s / c).glob("*.png"))) for s in SPLITS for c in CLASSES}
    assert counts == {("train", "1"): 8, ("train", "100"): 8, ("valid", "1"): 1, ("valid", "100"): 1,
                      ("test", "1"): 1, ("test", "100"): 1, ("test_new", "1"): 3, ("test_new", "100"): 3}

    def mean_rgb(split, cls):
        arrs = [np.asarray(Image.open(p), dtype=float) for p in sorted((root / split / cls).glob("*.png"))]
        return np.mean([a.reshape(-1, 3).mean(0) for a in arrs], axis=0)

    old_1, new_1 = mean_rgb("train", "1"), mean_rgb("test_new", "1")
    assert old_1[1] > old_1[0]  # old 1-notes are green
    assert new_1[0] > new_1[1]  # new 1-notes are red
    # a second call finds the cache and does not rebuild
    mtime = (root / "train" / "1").stat().st_mtime
    assert make_banknotes(tmp_path / "notes", n_per_class=10, n_new=3, size=(48, 24)) == root
    assert (root / "train" / "1").stat().st_mtime == mtime


@pytest.mark.parametrize(("kwargs", "match"), [({"n_per_class": 5}, "at least 10"), ({"n_new": 0}, "n_new")])
def test_make_banknotes_rejects_bad_counts(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_banknotes(tmp_path / "x", **kwargs)
