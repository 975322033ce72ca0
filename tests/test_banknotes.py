"""Tests of the banknote set: the drawn stand-in (book_utils.standins.banknotes) and its loader
(book_utils.datasets.banknotes). The contract every loader keeps is in test_dataset_contract.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torchvision.datasets import ImageFolder

from book_utils.datasets._base import DatasetNotFoundError, standins_dir
from book_utils.datasets.banknotes import Banknotes, load_banknotes
from book_utils.standins.banknotes import _LUMA, CLASSES, SPLITS, _tint, render_banknote, write_banknotes

SMALL = {"per_class": 10, "n_new": 2, "size": (16, 32)}


@pytest.fixture(scope="module")
def notes(tmp_path_factory) -> tuple[Path, dict]:
    """A small stand-in tree (10 notes per class, 4 new ones), written once."""
    root = tmp_path_factory.mktemp("notes")
    counts = write_banknotes(root, per_class=10, n_new=4, seed=0, size=(24, 48))
    return root, counts


# ------------------------------------------------------------------------------------------------- drawing
def test_render_size_is_height_width_and_deterministic():
    a = render_banknote("100", "red", np.random.default_rng(3), size=(32, 64))
    b = render_banknote("100", "red", np.random.default_rng(3), size=(32, 64))
    c = render_banknote("100", "red", np.random.default_rng(4), size=(32, 64))
    assert a.size == (64, 32) and a.mode == "RGB"  # PIL gives (width, height)
    assert np.asarray(a).shape == (32, 64, 3)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))
    assert render_banknote("1", "green", np.random.default_rng(0), size=(8, 16)).size == (16, 8)  # the smallest


def test_tints_have_equal_luminance():
    # the colour-shift lesson relies on grey versions of both tints looking the same
    assert abs(float(_tint("green", 1.0) @ _LUMA) - float(_tint("red", 1.0) @ _LUMA)) < 1e-6
    assert _tint("green", 1.0)[1] > _tint("green", 1.0)[0] and _tint("red", 1.0)[0] > _tint("red", 1.0)[1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"value": "5", "tint": "red"}, "value must be one of"),
        ({"value": 1, "tint": "red"}, "value must be one of"),
        ({"value": "1", "tint": "blue"}, "tint must be one of"),
        ({"value": "1", "tint": "red", "size": (4, 32)}, "too small"),
        ({"value": "1", "tint": "red", "size": (32, 15)}, "too small"),
    ],
)
def test_render_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        render_banknote(rng=np.random.default_rng(0), **kwargs)


# ---------------------------------------------------------------------------------------- the stand-in tree
def _count(root: Path) -> dict:
    return {(s, c): len(list((root / s / c).glob("*.png"))) for s in SPLITS for c in CLASSES}


def test_tree_counts_split_80_10_10(notes):
    root, counts = notes
    assert counts == {"train": 8, "valid": 1, "test": 1, "test_new": 4}
    assert _count(root) == {(s, c): counts[s] for s in SPLITS for c in CLASSES}
    with Image.open(root / "train" / "1" / "1_0000.png") as im:
        assert im.size == (48, 24) and im.mode == "RGB"


def test_counts_of_the_book_size(tmp_path):
    counts = write_banknotes(tmp_path, per_class=100, n_new=1, size=(8, 16))
    assert counts == {"train": 80, "valid": 10, "test": 10, "test_new": 1}
    assert _count(tmp_path)[("train", "100")] == 80 and _count(tmp_path)[("test", "1")] == 10


def _mean_rgb(root: Path, split: str, cls: str) -> np.ndarray:
    arrs = []
    for p in sorted((root / split / cls).glob("*.png")):
        with Image.open(p) as im:
            arrs.append(np.asarray(im, dtype=float).reshape(-1, 3).mean(0))
    return np.mean(arrs, axis=0)


def test_colours_tell_the_classes_apart_except_in_test_new(notes):
    root, _ = notes
    for split in ("train", "valid", "test"):
        one, hundred = _mean_rgb(root, split, "1"), _mean_rgb(root, split, "100")
        assert one[1] > one[0] and hundred[0] > hundred[1], f"{split}: green 1-notes, red 100-notes"
    one, hundred = _mean_rgb(root, "test_new", "1"), _mean_rgb(root, "test_new", "100")
    assert one[0] > one[1] and hundred[1] > hundred[0], "test_new: the colours are swapped"


def test_tree_is_deterministic(notes, tmp_path):
    root, _ = notes
    write_banknotes(tmp_path / "again", per_class=10, n_new=4, seed=0, size=(24, 48))
    write_banknotes(tmp_path / "other", per_class=10, n_new=4, seed=1, size=(24, 48))
    for rel in ("train/1/1_0003.png", "valid/100/100_0000.png", "test_new/1/1_0002.png"):
        assert (root / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes(), rel
        assert (root / rel).read_bytes() != (tmp_path / "other" / rel).read_bytes(), rel


@pytest.mark.parametrize(("kwargs", "match"), [({"per_class": 9}, "per_class"), ({"per_class": 10.0}, "per_class"),
                                               ({"n_new": 0}, "n_new")])
def test_write_banknotes_rejects_bad_counts(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        write_banknotes(tmp_path / "x", **kwargs)


# ---------------------------------------------------------------------------------------------------- loader
def test_loader_returns_an_image_folder_per_split(data, capsys):
    ds = load_banknotes("train", **SMALL)
    assert isinstance(ds, Banknotes) and isinstance(ds, ImageFolder)
    assert ds.classes == ["1", "100"] and ds.class_to_idx == {"1": 0, "100": 1}
    assert len(ds) == 16 and sorted(ds.targets) == [0] * 8 + [1] * 8
    assert ds.split == "train" and ds.source == "standin"
    assert Path(ds.root) == ds.data_root / "train" and ds.data_root.parent == standins_dir()
    out = capsys.readouterr().out
    assert out == f"Banknotes: offline stand-in (drawn notes: green 1s and red 100s, colours swapped in test_new) " \
                  f"at {ds.data_root}\n"
    img, label = ds[0]
    assert img.mode == "RGB" and img.size == (32, 16) and label == 0
    sizes = {s: len(load_banknotes(s, verbose=False, **SMALL)) for s in SPLITS}
    assert sizes == {"train": 16, "valid": 2, "test": 2, "test_new": 4}
    assert capsys.readouterr().out == "", "one line per process and folder"


def test_loader_applies_transforms(data):
    ds = load_banknotes("valid", transform=lambda im: np.asarray(im), target_transform=lambda y: -y,
                        verbose=False, **SMALL)
    x, y = ds[1]
    assert x.shape == (16, 32, 3) and y == -1


def test_loader_options_make_other_folders(data):
    a = load_banknotes("train", verbose=False, **SMALL)
    b = load_banknotes("train", verbose=False, **{**SMALL, "seed": 1})
    assert a.data_root != b.data_root
    with Image.open(a.imgs[0][0]) as x, Image.open(b.imgs[0][0]) as y:
        assert not np.array_equal(np.asarray(x), np.asarray(y))


def _write_photos(folder: Path, n: int, suffix: str = ".png") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (20, 10), (i * 20, 100, 50)).save(folder / f"photo{i}{suffix}")


def test_real_split_tree_is_used_when_present(data, capsys):
    base = data / "banknotes"
    _write_photos(base / "train" / "1", 3)
    _write_photos(base / "train" / "100", 2, ".jpg")
    ds = load_banknotes("train", **SMALL)
    assert ds.source == "real" and Path(ds.root) == base / "train" and ds.data_root == base
    assert ds.classes == ["1", "100"] and sorted(ds.targets) == [0, 0, 0, 1, 1]
    assert capsys.readouterr().out == f"Banknotes: real data at {base}\n"
    assert not standins_dir().exists(), "no stand-in was drawn"
    assert load_banknotes("train", source="real", verbose=False).source == "real"
    # a split that is not in the tree comes from the stand-in
    assert load_banknotes("test_new", verbose=False, **SMALL).source == "standin"


def test_real_tree_under_root(data, tmp_path):
    _write_photos(tmp_path / "mine" / "valid" / "1", 1)
    _write_photos(tmp_path / "mine" / "valid" / "100", 1)
    ds = load_banknotes("valid", root=tmp_path / "mine", verbose=False)
    assert ds.source == "real" and len(ds) == 2


def test_incomplete_real_tree_is_reported(data, capsys):
    base = data / "banknotes"
    _write_photos(base / "train" / "1", 2)
    (base / "train" / "100").mkdir()
    (base / "train" / "100" / "notes.txt").write_text("not an image")
    ds = load_banknotes("train", **SMALL)
    out = capsys.readouterr().out.strip().splitlines()
    assert ds.source == "standin" and len(out) == 2
    assert out[0].startswith(f"Banknotes: real files were found at {base / 'train'}, but the class folders "
                             "['100'] are missing or hold no images. They were not used.")
    assert out[0].endswith("Using the offline stand-in instead.")
    with pytest.raises(DatasetNotFoundError, match=r"class folders \['100'\]"):
        load_banknotes("train", source="real")


def test_real_requested_but_missing(data):
    with pytest.raises(DatasetNotFoundError, match="banknotes/valid/1/") as err:
        load_banknotes("valid", source="real")
    assert str(data.resolve() / "banknotes" / "valid") in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"per_class": 9}, "per_class must be an integer >= 10"),
        ({"per_class": 0}, "per_class"),
        ({"n_new": 0}, "n_new"),
        ({"seed": -1}, "seed"),
        ({"size": (4, 32)}, "size height"),
        ({"size": 48.0}, "size"),
        ({"split": "val"}, "'train', 'valid', 'test', 'test_new'"),
        ({"source": "web"}, "source"),
    ],
)
def test_loader_rejects_bad_arguments(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_banknotes(**{"split": "train", **kwargs})
    assert not standins_dir().exists(), "rejected before anything is drawn"


def test_too_small_a_note_leaves_no_folder(data):
    with pytest.raises(ValueError, match="too small"):
        load_banknotes("train", per_class=10, n_new=1, size=(8, 12))  # passes the size check, not the drawing
    assert [p for p in standins_dir().iterdir() if p.is_dir()] == []
