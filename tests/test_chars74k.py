"""Tests of book_utils.chars74k: the stand-in's layout and determinism, reading real-layout folders, errors."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from book_utils import chars74k
from book_utils.chars74k import (
    CHARS74K_CLASSES,
    Chars74kError,
    load_chars74k,
    sample_folder,
    write_standin,
)


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    """An empty, offline data folder and a tiny stand-in (one image per class) so tests stay fast."""
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BOOK_OFFLINE", "1")
    monkeypatch.setattr(chars74k, "STANDIN_PER_CLASS", 1)
    return tmp_path


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory) -> Path:
    """A stand-in with two images per class, written once for the tests that need files in the real layout."""
    return write_standin(tmp_path_factory.mktemp("tiny"), per_class=2, seed=3)


def copy_tree(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_62_classes_in_folder_order():
    assert len(CHARS74K_CLASSES) == 62 == len(set(CHARS74K_CLASSES))
    assert sample_folder("0") == "Sample001"
    assert sample_folder("9") == "Sample010"
    assert sample_folder("A") == "Sample011"
    assert sample_folder("a") == "Sample037"
    assert sample_folder("z") == "Sample062"
    with pytest.raises(ValueError, match="not a Chars74k class"):
        sample_folder("ab")


def test_standin_layout(tiny_set):
    img = tiny_set / "English" / "Hnd" / "Img"
    folders = sorted(p.name for p in img.iterdir())
    assert folders == [f"Sample{i:03d}" for i in range(1, 63)]
    assert sorted(p.name for p in (img / "Sample011").iterdir()) == ["img011-001.png", "img011-002.png"]
    manifest = json.loads((tiny_set / "standin.json").read_text())
    assert manifest["per_class"] == 2 and manifest["version"] == chars74k.STANDIN_VERSION
    from PIL import Image

    with Image.open(img / "Sample001" / "img001-001.png") as im:
        assert im.size == (chars74k.STANDIN_WIDTH, chars74k.STANDIN_HEIGHT) and im.mode == "L"
        arr = np.asarray(im)
    assert arr.min() < 60 and np.median(arr) > 200, "dark ink on mostly white paper"


def test_standin_is_deterministic(tiny_set, tmp_path):
    again = write_standin(tmp_path / "again", per_class=2, seed=3)
    for name in ("Sample005/img005-002.png", "Sample040/img040-001.png", "Sample062/img062-002.png"):
        a = (tiny_set / "English/Hnd/Img" / name).read_bytes()
        b = (again / "English/Hnd/Img" / name).read_bytes()
        assert a == b, name
    other = write_standin(tmp_path / "other", per_class=1, seed=4)
    assert (other / "English/Hnd/Img/Sample005/img005-001.png").read_bytes() != (
        tiny_set / "English/Hnd/Img/Sample005/img005-001.png").read_bytes()


def test_write_standin_rejects_bad_count(tmp_path):
    with pytest.raises(ValueError, match="per_class"):
        write_standin(tmp_path / "x", per_class=0)


def test_loads_real_layout_when_present(data, tiny_set, capsys):
    copy_tree(tiny_set / "English", data / "chars74k" / "English")
    ds = load_chars74k(size=64)
    assert ds.source == "real" and "real EnglishHnd" in capsys.readouterr().out
    assert ds.images.shape == (124, 64, 64) and ds.images.dtype == np.uint8
    assert ds.classes == CHARS74K_CLASSES and len(ds) == 124
    assert np.bincount(ds.labels).tolist() == [2] * 62
    assert ds.paths[2].parent.name == "Sample002"
    # the 4:3 images are letterboxed: the top and bottom rows are white paper
    assert (ds.images[:, 0, :] == 255).all() and (ds.images[:, -1, :] == 255).all()


def test_subset_and_per_class(data, tiny_set):
    copy_tree(tiny_set / "English", data / "chars74k" / "English")
    ds = load_chars74k(size=32, classes="aB7", per_class=1, verbose=False)
    assert ds.classes == ("a", "B", "7")
    assert ds.labels.tolist() == [0, 1, 2]
    assert [p.parent.name for p in ds.paths] == ["Sample037", "Sample012", "Sample008"]


def test_standin_used_offline_and_cached(data, capsys, monkeypatch):
    from book_utils import download

    def no_network(*args, **kwargs):
        raise AssertionError("no download may be attempted offline without an archive")

    monkeypatch.setattr(download, "try_fetch", no_network)
    ds = load_chars74k(size=48)
    out = capsys.readouterr().out
    assert ds.source == "standin" and "offline stand-in" in out and out.count("\n") == 1
    assert ds.root == data / "chars74k-standin" / "English" / "Hnd" / "Img"
    assert ds.images.shape == (62, 48, 48)
    stamp = (ds.root / "Sample001" / "img001-001.png").stat().st_mtime_ns
    again = load_chars74k(size=48, verbose=False)
    assert (ds.root / "Sample001" / "img001-001.png").stat().st_mtime_ns == stamp, "cached, not rebuilt"
    np.testing.assert_array_equal(ds.images, again.images)


def test_outdated_standin_is_rebuilt(data):
    load_chars74k(size=32, verbose=False)
    manifest = data / "chars74k-standin" / "standin.json"
    manifest.write_text(json.dumps({"version": -1}))
    ds = load_chars74k(size=32, verbose=False)
    assert json.loads(manifest.read_text())["version"] == chars74k.STANDIN_VERSION
    assert len(ds) == 62


def test_archive_on_disk_is_unpacked_offline(data, tiny_set):
    folder = data / "chars74k"
    folder.mkdir()
    with tarfile.open(folder / "EnglishHnd.tgz", "w:gz") as tf:
        tf.add(tiny_set / "English", arcname="English")
    ds = load_chars74k(size=32, verbose=False)
    assert ds.source == "real"
    assert ds.root == folder / "EnglishHnd" / "English" / "Hnd" / "Img"


def test_real_requested_but_missing(data):
    with pytest.raises(Chars74kError, match="EnglishHnd.tgz"):
        load_chars74k(source="real")


def test_corrupted_png_gives_clear_error(data, tiny_set):
    img = copy_tree(tiny_set / "English", data / "chars74k" / "English") / "Hnd" / "Img"
    bad = img / "Sample003" / "img003-001.png"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated
    with pytest.raises(Chars74kError, match=r"img003-001\.png.*damaged"):
        load_chars74k(verbose=False)


def test_corrupted_standin_says_delete_folder(data):
    ds = load_chars74k(size=32, verbose=False)
    (ds.root / "Sample010" / "img010-001.png").write_bytes(b"not a png")
    with pytest.raises(Chars74kError, match="chars74k-standin"):
        load_chars74k(size=32, verbose=False)


def test_missing_class_folder(data, tiny_set):
    import shutil

    img = copy_tree(tiny_set / "English", data / "chars74k" / "English") / "Hnd" / "Img"
    shutil.rmtree(img / "Sample020")
    with pytest.raises(Chars74kError, match=r"class 'J'.*extract"):
        load_chars74k(verbose=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"size": 8}, "size"),
        ({"size": 64.0}, "size"),
        ({"per_class": 0}, "per_class"),
        ({"source": "web"}, "source"),
        ({"classes": ["A", "A"]}, "distinct"),
        ({"classes": ["?"]}, "not a Chars74k class"),
    ],
)
def test_bad_arguments(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_chars74k(**kwargs)
