"""Tests of the Kaggle CIFAR-10 competition files: the written stand-in (book_utils.standins.kaggle_cifar10)
and the loader (book_utils.datasets.kaggle_cifar10). The contract every loader keeps is in
test_dataset_contract.py."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from book_utils.datasets._base import DatasetNotFoundError, standins_dir
from book_utils.datasets.kaggle_cifar10 import (
    CLASSES,
    UNLABELLED,
    KaggleCIFAR10,
    load_kaggle_cifar10,
    read_id_label_csv,
)
from book_utils.standins.cifar10 import CIFAR10_CLASSES, render_cifar10
from book_utils.standins.kaggle_cifar10 import answer_key, write_kaggle_cifar10

SMALL = {"n": 12, "n_test": 5}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """A small stand-in (12 training and 5 test images), written once."""
    root = tmp_path_factory.mktemp("kaggle")
    assert write_kaggle_cifar10(root, n_train=12, n_test=5, seed=0) == {"train": 12, "test": 5}
    return root


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.mode == "RGB" and im.size == (32, 32)
        return np.asarray(im)


# ---------------------------------------------------------------------------------------------- the layout
def test_layout_is_the_competitions(written):
    assert sorted(p.name for p in written.iterdir()) == ["sampleSubmission.csv", "test", "train", "trainLabels.csv"]
    assert sorted(p.name for p in (written / "train").iterdir()) == sorted(f"{k}.png" for k in range(1, 13))
    assert sorted(p.name for p in (written / "test").iterdir()) == sorted(f"{k}.png" for k in range(1, 6))
    labels = _rows(written / "trainLabels.csv")
    assert labels[0] == ["id", "label"] and [r[0] for r in labels[1:]] == [str(k) for k in range(1, 13)]
    assert all(r[1] in CIFAR10_CLASSES for r in labels[1:])
    assert _rows(written / "sampleSubmission.csv") == [["id", "label"]] + [[str(k), "cat"] for k in range(1, 6)]
    assert (written / "trainLabels.csv").read_bytes().startswith(b"id,label\n1,"), "plain LF lines, no quotes"


def test_images_and_labels_are_the_cifar_standins(written):
    images, labels, _ = render_cifar10(12, 0, "train")
    rows = _rows(written / "trainLabels.csv")[1:]
    assert [r[1] for r in rows] == [CIFAR10_CLASSES[int(y)] for y in labels]
    for k in (1, 7, 12):
        assert np.array_equal(_pixels(written / "train" / f"{k}.png"), images[k - 1])
    test_images, test_labels, _ = render_cifar10(5, 0, "test")
    assert answer_key(5, 0) == [CIFAR10_CLASSES[int(y)] for y in test_labels]
    assert np.array_equal(_pixels(written / "test" / "5.png"), test_images[4])


def test_writing_is_deterministic(written, tmp_path):
    write_kaggle_cifar10(tmp_path / "again", n_train=12, n_test=5, seed=0)
    write_kaggle_cifar10(tmp_path / "other", n_train=12, n_test=5, seed=1)
    for rel in ("train/3.png", "test/2.png", "trainLabels.csv"):
        assert (written / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes(), rel
    assert (written / "train/3.png").read_bytes() != (tmp_path / "other" / "train/3.png").read_bytes()


@pytest.mark.parametrize(("kwargs", "match"), [({"n_train": 9}, "n_train"), ({"n_test": 0}, "n_test"),
                                               ({"seed": -1}, "seed")])
def test_write_rejects_bad_counts(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        write_kaggle_cifar10(tmp_path / "x", **kwargs)


# ------------------------------------------------------------------------------------------------ the CSVs
@pytest.mark.parametrize(
    ("text", "labelled", "match"),
    [
        ("name,label\n1,cat\n", True, "header 'id,label'"),
        ("", True, "header 'id,label'"),
        ("id,label\n", False, "lists no images"),
        ("id,label\n1,cat\nx,dog\n", True, "line 3 is not 'id,label'"),
        ("id,label\n1,cat,extra\n", True, "line 2 is not"),
        ("id,label\n1,cat\n2,unicorn\n", True, "'unicorn' is not a CIFAR-10 class"),
        ("id,label\n1,cat\n1,dog\n", True, "id 1 appears twice"),
    ],
)
def test_csv_reader_names_the_problem(tmp_path, text, labelled, match):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_id_label_csv(path, labelled)


def test_csv_reader_keeps_file_order_and_accepts_any_test_label(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id,label\r\n3,cat\r\n1,whatever\r\n")
    assert read_id_label_csv(path, labelled=False) == [(3, "cat"), (1, "whatever")]


# ---------------------------------------------------------------------------------------------- the loader
def test_loader_reads_both_splits_of_the_standin(data, capsys):
    train = load_kaggle_cifar10("train", **SMALL)
    test = load_kaggle_cifar10("test", verbose=False, **SMALL)
    assert isinstance(train, KaggleCIFAR10) and train.source == test.source == "standin"
    assert train.root == test.root and train.root.parent == standins_dir()
    assert capsys.readouterr().out == (f"Kaggle CIFAR-10: offline stand-in (CIFAR-10 stand-in images in the "
                                       f"competition's layout, see data/README.md) at {train.root}\n")
    assert train.classes == list(CLASSES) == sorted(CLASSES), "class order: CIFAR-10's, also alphabetical"
    _, labels, _ = render_cifar10(12, 0, "train")
    assert train.targets == labels.tolist() and train.ids == list(range(1, 13))
    assert train.labels == [CLASSES[y] for y in train.targets]
    img, y = train[4]
    assert img.mode == "RGB" and img.size == (32, 32) and y == train.targets[4]
    assert test.ids == list(range(1, 6)) and test.targets == [UNLABELLED] * 5 and test[0][1] == -1
    assert test.files[2] == test.root / "test" / "3.png"


def test_loader_applies_transforms(data):
    ds = load_kaggle_cifar10("train", transform=np.asarray, target_transform=lambda y: y + 100, verbose=False,
                             **SMALL)
    x, y = ds[0]
    assert x.shape == (32, 32, 3) and y == ds.targets[0] + 100


def test_options_make_other_folders(data):
    a = load_kaggle_cifar10("train", verbose=False, **SMALL)
    b = load_kaggle_cifar10("train", verbose=False, **{**SMALL, "seed": 1})
    assert a.root != b.root and not np.array_equal(np.asarray(a[0][0]), np.asarray(b[0][0]))


def _write_real(base: Path, n_train: int = 4, n_test: int = 3) -> None:
    """A tiny folder in the competition's layout, with labels that the stand-in would not write."""
    for split, n in (("train", n_train), ("test", n_test)):
        (base / split).mkdir(parents=True)
        for k in range(1, n + 1):
            Image.new("RGB", (32, 32), (k * 40, 10, 200)).save(base / split / f"{k}.png")
    (base / "trainLabels.csv").write_text("id,label\n" + "".join(f"{k},ship\n" for k in range(1, n_train + 1)))
    (base / "sampleSubmission.csv").write_text("id,label\n" + "".join(f"{k},cat\n" for k in range(1, n_test + 1)))


def test_real_files_are_preferred_when_present(data, capsys):
    base = data / "kaggle_cifar10"
    _write_real(base)
    ds = load_kaggle_cifar10("train", **SMALL)
    assert ds.source == "real" and ds.root == base and ds.targets == [CLASSES.index("ship")] * 4
    assert capsys.readouterr().out == f"Kaggle CIFAR-10: real data at {base}\n"
    assert not standins_dir().exists(), "no stand-in was written"
    test = load_kaggle_cifar10("test", source="real", verbose=False)
    assert test.source == "real" and len(test) == 3 and test.targets == [-1] * 3
    assert np.asarray(test[1][0])[0, 0].tolist() == [80, 10, 200]
    assert load_kaggle_cifar10("train", source="standin", verbose=False, **SMALL).source == "standin"


def test_real_files_under_root(data, tmp_path):
    _write_real(tmp_path / "mine")
    assert load_kaggle_cifar10("test", root=tmp_path / "mine", verbose=False).source == "real"


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda b: (b / "train" / "3.png").unlink(), "1 of the 4 images listed in trainLabels.csv are not in train/ "
                                                     "(the first: 3.png)"),
        (lambda b: (b / "trainLabels.csv").write_text("id,label\n1,ship\n2,spaceship\n"), "'spaceship' is not"),
        (lambda b: (b / "sampleSubmission.csv").write_text("id;label\n1;cat\n"), "sampleSubmission.csv should start"),
        (lambda b: (b / "sampleSubmission.csv").unlink(), "sampleSubmission.csv is missing"),
        (lambda b: [p.unlink() for p in (b / "train").iterdir()] and (b / "train").rmdir(),
         "train is missing (unpack train.7z and test.7z there)"),
    ],
)
def test_a_damaged_real_folder_is_reported(data, capsys, damage, problem):
    base = data / "kaggle_cifar10"
    _write_real(base)
    damage(base)
    ds = load_kaggle_cifar10("train", **SMALL)
    out = capsys.readouterr().out.strip().splitlines()
    assert ds.source == "standin" and len(out) == 2
    assert out[0].startswith(f"Kaggle CIFAR-10: real files were found at {base}, but ") and problem in out[0]
    assert out[0].endswith("Using the offline stand-in instead.")
    with pytest.raises(DatasetNotFoundError, match="They were not used"):
        load_kaggle_cifar10("train", source="real")


def test_missing_test_images_only_matter_for_the_test_split(data):
    base = data / "kaggle_cifar10"
    _write_real(base)
    (base / "test" / "2.png").unlink()
    assert load_kaggle_cifar10("train", source="real", verbose=False).source == "real"
    with pytest.raises(DatasetNotFoundError, match="not in test/"):
        load_kaggle_cifar10("test", source="real")


def test_real_requested_but_missing_says_where_and_how(data):
    with pytest.raises(DatasetNotFoundError) as err:
        load_kaggle_cifar10("train", source="real")
    message = str(err.value)
    assert str(data.resolve() / "kaggle_cifar10") in message and "kaggle.com/c/cifar-10" in message
    assert "trainLabels.csv" in message and "BOOK_OFFLINE" in message


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 9}, "n must be an integer >= 10"),
        ({"n_test": 0}, "n_test"),
        ({"seed": -1}, "seed"),
        ({"split": "valid"}, "'train', 'test'"),
        ({"source": "web"}, "source"),
    ],
)
def test_loader_rejects_bad_arguments(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_kaggle_cifar10(**{"split": "train", **kwargs})
    assert not standins_dir().exists(), "rejected before anything is written"
