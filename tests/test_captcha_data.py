"""Unit tests for book_utils.captcha_data: reproducible captchas, label coding, dataset and metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from book_utils import captcha_data as cd


def test_text_is_deterministic_and_valid():
    a = [cd.captcha_text(i, seed=3) for i in range(20)]
    assert a == [cd.captcha_text(i, seed=3) for i in range(20)]
    assert a != [cd.captcha_text(i, seed=4) for i in range(20)]
    assert all(len(t) == 4 and set(t) <= set(cd.CAPTCHA_CHARS) for t in a)
    assert len(cd.captcha_text(0, length=6)) == 6


@pytest.mark.parametrize("kwargs", [{"index": -1}, {"index": 1.5}, {"index": 0, "seed": -2}, {"index": True}])
def test_text_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        cd.captcha_text(**kwargs)


def test_render_is_reproducible_grayscale():
    img = cd.render_captcha("ab12", seed=5)
    assert img.mode == "L" and img.size == (160, 60)
    same = cd.render_captcha("ab12", seed=5)
    other = cd.render_captcha("ab12", seed=6)
    assert np.array_equal(np.asarray(img), np.asarray(same))
    assert not np.array_equal(np.asarray(img), np.asarray(other))


def test_render_restores_the_package_generators():
    import captcha.image as ci

    before = {n: getattr(ci, n) for n in ("secrets", "random") if hasattr(ci, n)}
    cd.render_captcha("zz99", seed=1)
    assert {n: getattr(ci, n) for n in before} == before


@pytest.mark.parametrize("text", ["", "AB12", "a-b1", 1234])
def test_render_rejects_bad_text(text):
    with pytest.raises(ValueError):
        cd.render_captcha(text)


def test_encode_decode_round_trip():
    t = cd.encode_label("z09a")
    assert t.shape == (144,) and t.sum() == 4
    assert t.reshape(4, 36)[0, 35] == 1 and t.reshape(4, 36)[1, 0] == 1
    assert cd.decode_label(t) == "z09a"
    assert cd.decode_label(torch.stack([t, cd.encode_label("0000")])) == ["z09a", "0000"]


@pytest.mark.parametrize("text", ["abc", "abcde", "ab_c"])
def test_encode_rejects_bad_text(text):
    with pytest.raises(ValueError):
        cd.encode_label(text)


def test_decode_rejects_wrong_shape():
    with pytest.raises(ValueError, match="144"):
        cd.decode_label(torch.zeros(3, 100))


def test_dataset_items_and_loader():
    ds = cd.CaptchaDataset(6, seed=9)
    x, y = ds[2]
    assert x.shape == (1, 60, 160) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert cd.decode_label(y) == ds.texts[2] == cd.captcha_text(2, seed=9)
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 1, 60, 160) and yb.shape == (4, 144)
    with pytest.raises(IndexError):
        ds[6]
    with pytest.raises(ValueError):
        cd.CaptchaDataset(0)


def test_cached_dataset_matches_on_the_fly(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    cached = cd.CaptchaDataset(5, seed=2, cache=True)
    assert list((tmp_path / "captcha").glob("*.npz"))
    fresh = cd.CaptchaDataset(5, seed=2, cache=False)
    assert cached.texts == fresh.texts
    assert torch.equal(cached[4][0], fresh[4][0])
    again = cd.CaptchaDataset(5, seed=2, cache=True)  # read back from the file
    assert torch.equal(again[0][0], cached[0][0])


def test_corrupt_cache_gives_clear_error(tmp_path):
    images, texts = cd.cached_captchas(3, seed=1, root=tmp_path)
    (path,) = tmp_path.glob("*.npz")
    path.write_bytes(b"not a zip file")
    with pytest.raises(RuntimeError, match="delete it"):
        cd.cached_captchas(3, seed=1, root=tmp_path)


def test_accuracies():
    targets = torch.stack([cd.encode_label("abcd"), cd.encode_label("0123")])
    outputs = targets.clone()
    assert cd.per_char_accuracy(outputs, targets) == 1.0 and cd.whole_accuracy(outputs, targets) == 1.0
    outputs[0] = cd.encode_label("abcx")
    assert cd.per_char_accuracy(outputs, targets) == pytest.approx(7 / 8)
    assert cd.whole_accuracy(outputs, targets) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shape"):
        cd.per_char_accuracy(outputs[:, :100], targets[:, :100])
