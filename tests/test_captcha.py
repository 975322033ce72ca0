"""Tests of the captcha set: reproducible drawing (book_utils.standins.captcha), label coding and the loader
(book_utils.datasets.captcha). The metrics are in test_metrics.py, the loader contract in
test_dataset_contract.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from book_utils.datasets._base import DatasetCacheError, standins_dir
from book_utils.datasets.captcha import SPLIT_SEEDS, Captchas, decode_label, encode_label, load_captcha
from book_utils.standins.captcha import (
    CAPTCHA_CHARS,
    CAPTCHA_HEIGHT,
    CAPTCHA_WIDTH,
    captcha_text,
    render_array,
    render_captcha,
)


# ---------------------------------------------------------------------------------------- texts and images
def test_text_is_deterministic_per_seed_and_valid():
    a = [captcha_text(i, seed=3) for i in range(20)]
    assert a == [captcha_text(i, seed=3) for i in range(20)]
    assert a != [captcha_text(i, seed=4) for i in range(20)]
    assert len(set(a)) > 15, "samples of one seed differ"
    assert all(len(t) == 4 and set(t) <= set(CAPTCHA_CHARS) for t in a)
    assert len(captcha_text(0, length=6)) == 6
    assert CAPTCHA_CHARS == "0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.mark.parametrize("kwargs", [{"index": -1}, {"index": 1.5}, {"index": 0, "seed": -2}, {"index": True},
                                    {"index": 0, "length": 0}])
def test_text_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        captcha_text(**kwargs)


def test_render_is_reproducible_grayscale():
    img = render_captcha("ab12", seed=5)
    assert img.mode == "L" and img.size == (CAPTCHA_WIDTH, CAPTCHA_HEIGHT) == (160, 60)
    same = render_captcha("ab12", seed=5)
    other = render_captcha("ab12", seed=6)
    assert np.array_equal(np.asarray(img), np.asarray(same))
    assert not np.array_equal(np.asarray(img), np.asarray(other))
    assert not np.array_equal(np.asarray(img), np.asarray(render_captcha("ab13", seed=5)))


def test_render_restores_the_package_generators():
    import captcha.image as ci

    before = {n: getattr(ci, n) for n in ("secrets", "random") if hasattr(ci, n)}
    render_captcha("zz99", seed=1)
    assert {n: getattr(ci, n) for n in before} == before


@pytest.mark.parametrize("text", ["", "AB12", "a-b1", 1234, None])
def test_render_rejects_bad_text(text):
    with pytest.raises(ValueError):
        render_captcha(text)


def test_render_array_matches_single_drawings():
    images, texts = render_array(3, seed=7, start=2)
    assert images.shape == (3, 60, 160) and images.dtype == np.uint8
    assert texts == [captcha_text(i, 7) for i in (2, 3, 4)]
    assert np.array_equal(images[1], np.asarray(render_captcha(texts[1], seed=7)))


# ---------------------------------------------------------------------------------------------------- labels
def test_encode_decode_round_trip():
    t = encode_label("z09a")
    assert t.shape == (144,) and t.sum() == 4 and t.dtype == torch.float32
    assert t.reshape(4, 36)[0, 35] == 1 and t.reshape(4, 36)[1, 0] == 1
    assert decode_label(t) == "z09a"
    assert decode_label(torch.stack([t, encode_label("0000")])) == ["z09a", "0000"]
    assert decode_label(t.numpy()) == "z09a"  # NumPy arrays too
    assert decode_label(t[None]) == ["z09a"]  # a batch of one stays a list


def test_decode_reads_scores_by_argmax():
    scores = encode_label("k2m9") * 3 + torch.randn(144, generator=torch.Generator().manual_seed(0)) * 0.5
    assert decode_label(scores) == "k2m9"


def test_other_lengths():
    t = encode_label("abcde", length=5)
    assert t.shape == (180,) and decode_label(t, length=5) == "abcde"
    with pytest.raises(ValueError, match="180"):
        decode_label(t)  # the default length expects 144 scores


@pytest.mark.parametrize("text", ["abc", "abcde", "ab_c", "ABCD", 1234, None])
def test_encode_rejects_bad_text(text):
    with pytest.raises(ValueError):
        encode_label(text)


@pytest.mark.parametrize("shape", [(3, 100), (100,), (2, 3, 144), (0,)])
def test_decode_rejects_wrong_shape(shape):
    with pytest.raises(ValueError, match="144"):
        decode_label(torch.zeros(shape))


def test_decode_rejects_a_single_number():
    """Regression: the shape was read before the number of dimensions (IndexError on a 0-d tensor)."""
    with pytest.raises(ValueError, match="144"):
        decode_label(torch.tensor(0.5))


# ---------------------------------------------------------------------------------------------------- loader
def test_items_and_loader(data):
    ds = load_captcha("train", n=6, cache=False, verbose=False)
    assert isinstance(ds, Captchas) and ds.source == "generated" and ds.data is None and ds.root is None
    x, y = ds[2]
    assert x.shape == (1, 60, 160) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert decode_label(y) == ds.targets[2] == captcha_text(2, seed=SPLIT_SEEDS["train"])
    assert ds.classes == list(CAPTCHA_CHARS)
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 1, 60, 160) and yb.shape == (4, 144)


def test_transforms(data):
    ds = load_captcha("val", n=2, cache=False, verbose=False, transform=lambda x: x * 2,
                      target_transform=decode_label)
    x, y = ds[1]
    assert x.max() > 1 and y == ds.targets[1]


def test_splits_and_seeds_draw_different_samples(data):
    texts = {split: load_captcha(split, n=16, cache=False, verbose=False).targets for split in SPLIT_SEEDS}
    assert len({tuple(t) for t in texts.values()}) == 3
    assert texts["val"] == [captcha_text(i, SPLIT_SEEDS["val"]) for i in range(16)]
    reseeded = load_captcha("train", n=16, seed=1, cache=False, verbose=False)
    assert reseeded.draw_seed == SPLIT_SEEDS["train"] + 10 and reseeded.targets != texts["train"]
    train, val = load_captcha("train", n=2, cache=False, verbose=False), load_captcha("val", n=2, cache=False,
                                                                                      verbose=False)
    assert not torch.equal(train[0][0], val[0][0])
    assert load_captcha("train", n=16, cache=False, verbose=False).targets == texts["train"], "reproducible"


def test_cached_and_drawn_on_demand_items_are_identical(data, capsys):
    cached = load_captcha("val", n=5)
    out = capsys.readouterr().out
    assert cached.data is not None and cached.data.shape == (5, 60, 160) and cached.data.dtype == np.uint8
    folder = next(p for p in standins_dir().iterdir() if p.is_dir())
    assert out == f"Captcha: generated by the book at {folder}\n"
    assert folder.name.startswith("captcha-v1-n5-seed2-len4-captcha")
    fresh = load_captcha("val", n=5, cache=False)
    assert capsys.readouterr().out == "Captcha: generated by the book at memory (drawn on demand, seed 2)\n"
    assert cached.targets == fresh.targets
    for i in range(5):
        assert torch.equal(cached[i][0], fresh[i][0]) and torch.equal(cached[i][1], fresh[i][1])
        assert np.array_equal(cached.image(i), fresh.image(i))


def test_cache_holds_exactly_n(data):
    small, big = load_captcha("test", n=2, verbose=False), load_captcha("test", n=3, verbose=False)
    assert len(small) == 2 and len(big) == 3 and big.targets[:2] == small.targets


def test_same_size_garbage_in_the_cache_names_the_folder(data):
    load_captcha("train", n=2, verbose=False)
    folder = next(p for p in standins_dir().iterdir() if p.is_dir())
    npz = folder / "captchas.npz"
    npz.write_bytes(b"\0" * npz.stat().st_size)  # the manifest's size check passes
    with pytest.raises(DatasetCacheError, match="captchas.npz is unreadable") as err:
        load_captcha("train", n=2, verbose=False)
    assert str(folder) in str(err.value)


@pytest.mark.parametrize("cache", [True, False])
def test_image_index_errors(data, cache):
    ds = load_captcha("train", n=3, cache=cache, verbose=False)
    assert ds.image(0).shape == (60, 160) and ds.image(0).dtype == np.uint8
    assert np.array_equal(ds.image(-1), ds.image(2))
    for bad in (3, -4, 100):
        with pytest.raises(IndexError, match="out of range for 3 captchas"):
            ds.image(bad)
        with pytest.raises(IndexError):
            ds[bad]


def test_length_option(data):
    ds = load_captcha("train", n=2, length=5, cache=False, verbose=False)
    x, y = ds[0]
    assert len(ds.targets[0]) == 5 and y.shape == (180,) and decode_label(y, length=5) == ds.targets[0]


def test_root_must_be_none(data, tmp_path):
    with pytest.raises(ValueError, match="root must be None"):
        load_captcha("train", n=2, root=tmp_path)
    assert not standins_dir().exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "n must be"),
        ({"n": 2.0}, "n must be"),
        ({"seed": -1}, "seed"),
        ({"length": 0}, "length"),
        ({"split": "valid"}, "'train', 'val', 'test'"),
        ({"source": "real"}, "no real files"),
        ({"source": "standin"}, "'auto', 'generated'"),
    ],
)
def test_bad_arguments(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_captcha(**{"split": "train", "n": 2, **kwargs})
    assert not standins_dir().exists()


def test_generated_source_is_accepted(data):
    assert load_captcha("train", n=1, source="generated", cache=False, verbose=False).source == "generated"
