"""Tests of the Chars74k loader (book_utils.datasets.chars74k) and its stand-in (book_utils.standins.chars74k):
the stand-in's layout and determinism, reading real-layout folders, splits, subsets, letterboxing, damaged
files and downloads. The contract every loader keeps is in test_dataset_contract.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from book_utils import download
from book_utils.datasets._base import DatasetNotFoundError, folder_name, standins_dir
from book_utils.datasets.chars74k import URL, load_chars74k
from book_utils.standins import chars74k as gen
from book_utils.standins.chars74k import CHARS74K_CLASSES, sample_folder, write_chars74k

TINY_PER_CLASS = 10


@pytest.fixture
def data(data, monkeypatch) -> Path:
    """The shared offline data folder (tests/conftest.py), with a one-image-per-class stand-in (fast)."""
    monkeypatch.setattr(gen, "PER_CLASS", 1)
    return data


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory) -> Path:
    """Stand-in files (10 per class) written once, for the tests that need files in the real layout."""
    dest = tmp_path_factory.mktemp("tiny")
    write_chars74k(dest, per_class=TINY_PER_CLASS, seed=3)
    return dest


def install_real(tiny_set: Path, data: Path) -> Path:
    """Copy the tiny set to where the real set goes; returns its ``Img`` folder."""
    shutil.copytree(tiny_set / "English", data / "chars74k" / "English")
    return data / "chars74k" / "English" / "Hnd" / "Img"


def no_network(*args, **kwargs):
    raise AssertionError("no download may be attempted offline")


# -------------------------------------------------------------------------------------------------- classes
def test_62_classes_in_folder_order():
    assert len(CHARS74K_CLASSES) == 62 == len(set(CHARS74K_CLASSES))
    assert "".join(CHARS74K_CLASSES[:11]) == "0123456789A" and CHARS74K_CLASSES[-1] == "z"
    assert sample_folder("0") == "Sample001"
    assert sample_folder("9") == "Sample010"
    assert sample_folder("A") == "Sample011"
    assert sample_folder("a") == "Sample037"
    assert sample_folder("z") == "Sample062"
    for bad in ("ab", "", "?", 1):
        with pytest.raises(ValueError, match="not a Chars74k class"):
            sample_folder(bad)


# -------------------------------------------------------------------------------------------------- stand-in
def test_standin_layout(tiny_set):
    img = tiny_set / "English" / "Hnd" / "Img"
    assert sorted(p.name for p in img.iterdir()) == [f"Sample{i:03d}" for i in range(1, 63)]
    assert sorted(p.name for p in (img / "Sample011").iterdir()) == [
        f"img011-{j:03d}.png" for j in range(1, TINY_PER_CLASS + 1)]
    with Image.open(img / "Sample001" / "img001-001.png") as im:
        assert im.size == (gen.WIDTH, gen.HEIGHT) == (128, 96) and im.mode == "L"
        arr = np.asarray(im)
    assert arr.min() < 60 and np.median(arr) > 200, "dark ink on mostly white paper"


def test_write_chars74k_returns_facts_for_the_manifest(tmp_path):
    facts = write_chars74k(tmp_path, per_class=1, seed=0)
    assert facts["width"] == gen.WIDTH and facts["height"] == gen.HEIGHT and len(facts["fonts"]) >= 4


def test_standin_is_deterministic(tiny_set, tmp_path):
    write_chars74k(tmp_path / "again", per_class=2, seed=3)
    for name in ("Sample005/img005-002.png", "Sample040/img040-001.png", "Sample062/img062-002.png"):
        a = (tiny_set / "English/Hnd/Img" / name).read_bytes()
        b = (tmp_path / "again" / "English/Hnd/Img" / name).read_bytes()
        assert a == b, f"{name}: each image has its own seeded generator, whatever per_class is"
    write_chars74k(tmp_path / "other", per_class=1, seed=4)
    assert (tmp_path / "other" / "English/Hnd/Img/Sample005/img005-001.png").read_bytes() != (
        tiny_set / "English/Hnd/Img/Sample005/img005-001.png").read_bytes()
    same = tiny_set / "English/Hnd/Img/Sample005"
    assert (same / "img005-001.png").read_bytes() != (same / "img005-002.png").read_bytes()


@pytest.mark.parametrize(("kwargs", "match"), [({"per_class": 0}, "per_class"), ({"seed": -1}, "seed"),
                                               ({"per_class": 1.5}, "per_class")])
def test_write_chars74k_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        write_chars74k(tmp_path / "x", **kwargs)


def test_standin_used_offline_without_download(data, capsys, monkeypatch):
    monkeypatch.setattr(download, "try_fetch", no_network)
    ds = load_chars74k("all", size=48)
    out = capsys.readouterr().out
    assert ds.source == "standin" and out.count("\n") == 1
    folder = standins_dir() / folder_name("chars74k", gen.VERSION, {"per_class": 1, "seed": 0})
    assert ds.root == folder / "English" / "Hnd" / "Img"
    assert out == f"Chars74k: offline stand-in (glyphs rendered with matplotlib's fonts and distorted; see " \
                  f"data/README.md) at {ds.root}\n"
    assert ds.data.shape == (62, 48, 48) and ds.data.dtype == np.uint8
    assert ds.targets == list(range(62)) and ds.classes == CHARS74K_CLASSES
    again = load_chars74k("all", size=48, verbose=False)
    np.testing.assert_array_equal(ds.data, again.data)


def test_standin_size_follows_per_class(data, monkeypatch):
    monkeypatch.setattr(gen, "PER_CLASS", 2)
    ds = load_chars74k("all", size=32, verbose=False)
    assert ds.data.shape == (124, 32, 32)
    assert "per_class2" in ds.root.parents[2].name


def test_items_are_grayscale_images_with_int_labels(data):
    ds = load_chars74k("all", size=(24, 40), verbose=False, classes="Az",
                       transform=lambda im: np.asarray(im), target_transform=lambda y: y * 10)
    x, y = ds[1]
    assert x.shape == (24, 40) and x.dtype == np.uint8 and y == 10
    plain = load_chars74k("all", size=(24, 40), verbose=False, classes="Az")
    img, label = plain[0]
    assert img.mode == "L" and img.size == (40, 24) and label == 0


def test_damaged_standin_file_says_make_clean_data(data):
    ds = load_chars74k("all", size=32, verbose=False)
    victim = ds.root / "Sample010" / "img010-001.png"
    victim.write_bytes(b"\0" * victim.stat().st_size)  # same size: the manifest check cannot see it
    with pytest.raises(RuntimeError, match=r"img010-001\.png.*damaged.*make clean-data"):
        load_chars74k("all", size=32, verbose=False)


# ---------------------------------------------------------------------------------------------- real files
def test_real_layout_is_preferred_when_present(data, tiny_set, capsys, monkeypatch):
    monkeypatch.setattr(download, "try_fetch", no_network)
    img = install_real(tiny_set, data)
    ds = load_chars74k("all", size=64)
    assert ds.source == "real" and ds.root == img
    assert capsys.readouterr().out == f"Chars74k: real data at {img}\n"
    n = 62 * TINY_PER_CLASS
    assert ds.data.shape == (n, 64, 64) and ds.data.dtype == np.uint8 and len(ds) == n
    assert ds.classes == CHARS74K_CLASSES
    assert np.bincount(ds.targets).tolist() == [TINY_PER_CLASS] * 62
    assert ds.paths[TINY_PER_CLASS].parent.name == "Sample002"
    # the 4:3 images are letterboxed: the top and bottom rows are white paper
    assert (ds.data[:, :8, :] == 255).all() and (ds.data[:, -8:, :] == 255).all()
    assert not standins_dir().exists() or not any(standins_dir().iterdir()), "no stand-in was built"


@pytest.mark.parametrize("layout", ["Img", "English/Hnd/Img", "EnglishHnd/English/Hnd/Img"])
def test_real_layouts_under_root(tmp_path, data, tiny_set, layout):
    """``root`` (or <data>/chars74k) may be the Img folder itself, or hold it as extracted from the archive."""
    target = tmp_path / "elsewhere" / layout
    shutil.copytree(tiny_set / "English" / "Hnd" / "Img", target)
    ds = load_chars74k("all", size=32, root=tmp_path / "elsewhere", classes="0", verbose=False)
    assert ds.source == "real" and ds.root == target and len(ds) == TINY_PER_CLASS


def test_splits_partition_each_class_80_20_in_file_order(data, tiny_set):
    install_real(tiny_set, data)
    parts = {split: load_chars74k(split, size=32, verbose=False) for split in ("train", "test", "all")}
    assert [len(parts[s]) for s in ("train", "test", "all")] == [62 * 8, 62 * 2, 62 * 10]
    for split, per in (("train", 8), ("test", 2)):
        assert np.bincount(parts[split].targets).tolist() == [per] * 62
        assert parts[split].split == split
    names = {s: [p.name for p in parts[s].paths] for s in parts}
    assert names["train"][:8] == [f"img001-{j:03d}.png" for j in range(1, 9)]  # the first 80% of each class
    assert names["test"][:2] == ["img001-009.png", "img001-010.png"]  # the rest
    assert set(names["train"]).isdisjoint(names["test"])
    assert sorted(names["train"] + names["test"]) == sorted(names["all"])
    k = names["all"].index("img001-009.png")
    np.testing.assert_array_equal(parts["test"].data[0], parts["all"].data[k])


def test_per_class_is_taken_before_the_split(data, tiny_set):
    install_real(tiny_set, data)
    train = load_chars74k("train", size=32, per_class=5, verbose=False)
    test = load_chars74k("test", size=32, per_class=5, verbose=False)
    assert len(train) == 62 * 4 and len(test) == 62
    assert [p.name for p in test.paths[:2]] == ["img001-005.png", "img002-005.png"]


def test_classes_subset_and_per_class(data, tiny_set):
    install_real(tiny_set, data)
    ds = load_chars74k("all", size=32, classes="aB7", per_class=1, verbose=False)
    assert ds.classes == ("a", "B", "7")
    assert ds.targets == [0, 1, 2]
    assert [p.parent.name for p in ds.paths] == ["Sample037", "Sample012", "Sample008"]
    assert [p.name for p in ds.paths] == ["img037-001.png", "img012-001.png", "img008-001.png"]
    listed = load_chars74k("all", size=32, classes=["z", "0"], per_class=2, verbose=False)
    assert listed.classes == ("z", "0") and listed.targets == [0, 0, 1, 1]


def _black_class_zero(img: Path, width: int, height: int) -> None:
    for png in (img / "Sample001").glob("*.png"):
        Image.new("L", (width, height), 0).save(png)


def test_letterboxing_with_a_non_square_size(data, tiny_set):
    img = install_real(tiny_set, data)
    _black_class_zero(img, width=40, height=20)  # 2:1 black boxes
    wide = load_chars74k("all", size=(32, 48), classes="0", verbose=False).data  # h=32, w=48
    assert wide.shape == (TINY_PER_CLASS, 32, 48)
    # scaled by 1.2 to 48x24: white bands of 4 rows above and below, black across the whole width
    assert (wide[:, :4] == 255).all() and (wide[:, 28:] == 255).all() and (wide[:, 4:28] <= 5).all()
    tall = load_chars74k("all", size=(48, 32), classes="0", verbose=False).data  # h=48, w=32
    assert tall.shape == (TINY_PER_CLASS, 48, 32)
    # scaled by 0.8 to 32x16: 16 white rows above and below
    assert (tall[:, :16] == 255).all() and (tall[:, 32:] == 255).all() and (tall[:, 16:32] <= 5).all()
    square = load_chars74k("all", size=40, classes="0", verbose=False).data
    assert square.shape == (TINY_PER_CLASS, 40, 40) and (square[:, :10] == 255).all() and (square[:, 10:30] <= 5).all()


def test_stand_in_images_are_letterboxed_into_a_wide_box(data, tiny_set):
    install_real(tiny_set, data)
    ds = load_chars74k("all", size=(32, 64), classes="0", verbose=False)  # 128x96 -> 43x32: white side bands
    assert ds.data.shape == (TINY_PER_CLASS, 32, 64)
    assert (ds.data[:, :, :10] == 255).all() and (ds.data[:, :, -10:] == 255).all()


def test_damaged_real_folder_is_reported_and_the_standin_used(data, tiny_set, capsys):
    img = install_real(tiny_set, data)
    shutil.rmtree(img / "Sample020")
    for png in (img / "Sample030").glob("*.png"):
        png.unlink()
    ds = load_chars74k("all", size=32)
    out = capsys.readouterr().out.strip().splitlines()
    assert ds.source == "standin" and len(ds) == 62
    assert len(out) == 2, out
    assert out[0].startswith(f"Chars74k: real files were found at {img}, but 2 class folders have no PNG "
                             "images (e.g. Sample020). They were not used.")
    assert URL in out[0] and out[0].endswith("Using the offline stand-in instead.")
    assert out[1].startswith("Chars74k: offline stand-in")
    with pytest.raises(DatasetNotFoundError, match=r"real files were found at .*2 class folders have no PNG"):
        load_chars74k("all", size=32, source="real")


def test_empty_class_folders_only_are_reported(data, capsys):
    img = data / "chars74k" / "English" / "Hnd" / "Img"
    for cls in CHARS74K_CLASSES:
        (img / sample_folder(cls)).mkdir(parents=True)
    ds = load_chars74k("all", size=32)
    assert ds.source == "standin"
    assert "but 62 class folders have no PNG images (e.g. Sample001)" in capsys.readouterr().out


def test_real_requested_but_missing(data, monkeypatch):
    monkeypatch.setattr(download, "try_fetch", no_network)
    with pytest.raises(DatasetNotFoundError, match="EnglishHnd.tgz") as err:
        load_chars74k(source="real")
    assert str(data.resolve() / "chars74k") in str(err.value) and "BOOK_OFFLINE" in str(err.value)


def test_unreadable_png_gives_clear_error(data, tiny_set):
    img = install_real(tiny_set, data)
    bad = img / "Sample003" / "img003-001.png"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated
    with pytest.raises(RuntimeError, match=r"img003-001\.png.*damaged; extract EnglishHnd\.tgz again"):
        load_chars74k("all", verbose=False)
    load_chars74k("all", size=32, classes="0", verbose=False)  # the other classes still load


# ------------------------------------------------------------------------------------------------- download
def test_online_download_is_tried_once_and_falls_back(data, monkeypatch, capsys):
    monkeypatch.setenv("BOOK_OFFLINE", "0")
    calls = []

    def failed_fetch(resource, dest_dir=None, **kwargs):
        calls.append((resource, dest_dir))
        return None

    monkeypatch.setattr(download, "try_fetch", failed_fetch)
    ds = load_chars74k("all", size=32)
    assert ds.source == "standin" and len(calls) == 1
    resource, dest = calls[0]
    assert resource.url == URL and resource.extract and dest == data.resolve() / "chars74k"
    assert "offline stand-in" in capsys.readouterr().out


def test_downloaded_archive_is_used(data, tiny_set, monkeypatch):
    monkeypatch.setenv("BOOK_OFFLINE", "0")

    def fake_fetch(resource, dest_dir=None, **kwargs):
        out = Path(dest_dir) / "EnglishHnd"  # what fetch unpacks EnglishHnd.tgz into
        shutil.copytree(tiny_set / "English", out / "English")
        return out

    monkeypatch.setattr(download, "try_fetch", fake_fetch)
    ds = load_chars74k("all", size=32, classes="a", verbose=False)
    assert ds.source == "real"
    assert ds.root == data.resolve() / "chars74k" / "EnglishHnd" / "English" / "Hnd" / "Img"
    monkeypatch.setattr(download, "try_fetch", no_network)
    assert load_chars74k("all", size=32, classes="a", verbose=False).source == "real"  # found, not fetched again


def test_standin_source_ignores_real_files(data, tiny_set):
    install_real(tiny_set, data)
    assert load_chars74k("all", size=32, source="standin", verbose=False).source == "standin"


# -------------------------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 8}, "size"),
        ({"size": (64, 8)}, "size width"),
        ({"size": 64.0}, "size"),
        ({"per_class": 0}, "per_class"),
        ({"source": "web"}, "source"),
        ({"source": "generated"}, "source"),
        ({"split": "valid"}, "split must be one of 'train', 'test', 'all'"),
        ({"classes": ["A", "A"]}, "distinct"),
        ({"classes": []}, "distinct"),
        ({"classes": ["?"]}, "not a Chars74k class"),
        ({"classes": "ab?"}, "not a Chars74k class"),
    ],
)
def test_bad_arguments(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_chars74k(**kwargs)
    assert not standins_dir().exists(), "rejected before anything is built"
