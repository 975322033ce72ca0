"""Unit tests for book_utils.standins.cifar10: the real file layout, determinism, masks and the helper processes."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from book_utils.standins import cifar10 as gen
from book_utils.standins import cifar10_scene as gen_scene

N_TRAIN, N_TEST, CHUNK = 40, 12, 8  # 5 + 2 chunks of at most 8 images


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A tiny stand-in written by one process, with several chunks per split."""
    dest = tmp_path_factory.mktemp("cifar10")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gen, "CHUNK", CHUNK)
        stats = gen.write_cifar10(dest, n_train=N_TRAIN, n_test=N_TEST, seed=0, workers=1)
    return dest, stats


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(gen, "CHUNK", CHUNK)


def _load(path: Path, encoding: str) -> dict:
    with open(path, "rb") as fh:
        return pickle.load(fh, encoding=encoding)


def test_files_follow_the_real_layout(small):
    dest, stats = small
    folder = dest / "cifar-10-batches-py"
    assert sorted(p.name for p in dest.iterdir()) == ["cifar-10-batches-py", "masks.npz"]  # no manifest, no scratch
    assert sorted(p.name for p in folder.iterdir()) == sorted(gen.FILES) and len(gen.FILES) == 7
    raw = _load(folder / "data_batch_1", "bytes")  # how the book reads it
    assert set(raw) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert raw[b"data"].dtype == np.uint8 and raw[b"data"].shape == (N_TRAIN // 5, 3072)
    assert raw[b"batch_label"] == b"training batch 1 of 5"
    assert all(isinstance(f, bytes) and f.endswith(b".png") for f in raw[b"filenames"])
    txt = _load(folder / "test_batch", "latin1")  # how torchvision reads it
    assert set(txt) == {"batch_label", "labels", "data", "filenames"}
    assert txt["data"].shape == (N_TEST, 3072) and len(txt["labels"]) == N_TEST
    assert txt["batch_label"] == "testing batch 1 of 1"
    meta = _load(folder / "batches.meta", "bytes")
    assert meta[b"label_names"] == [c.encode() for c in gen.CIFAR10_CLASSES] and meta[b"num_vis"] == 3072
    assert _load(folder / "batches.meta", "latin1")["label_names"] == list(gen.CIFAR10_CLASSES)
    assert stats == {"chunks": 7, "chunks_by_helpers": 0, "workers": 1, "seconds": stats["seconds"]}


def test_rows_are_rgb_planes_of_the_rendered_images(small, small_chunks):
    dest, _ = small
    folder = dest / "cifar-10-batches-py"
    rows = np.vstack([_load(folder / name, "bytes")[b"data"] for name in gen.BATCH_FILES])
    labels = sum((_load(folder / name, "bytes")[b"labels"] for name in gen.BATCH_FILES), [])
    images, expected_labels, _ = gen.render_cifar10(N_TRAIN, seed=0, split="train")
    assert images.shape == (N_TRAIN, 32, 32, 3) and images.dtype == np.uint8
    assert expected_labels.dtype == np.int64 and labels == expected_labels.tolist()
    np.testing.assert_array_equal(rows[:, :1024].reshape(-1, 32, 32), images[..., 0])  # R plane first
    np.testing.assert_array_equal(rows[:, 1024:2048].reshape(-1, 32, 32), images[..., 1])
    np.testing.assert_array_equal(rows[:, 2048:].reshape(-1, 32, 32), images[..., 2])
    assert images.std() > 20  # drawn, not blank


def test_same_bytes_with_two_workers_and_helpers_really_draw(small, small_chunks, tmp_path):
    dest, _ = small
    stats = gen.write_cifar10(tmp_path, n_train=N_TRAIN, n_test=N_TEST, seed=0, workers=2)
    assert stats["workers"] == 2 and stats["chunks"] == 7
    assert stats["chunks_by_helpers"] == 3  # chunks 1, 3, 5 of the 7: the helper did its share
    for name in gen.FILES:
        assert (dest / "cifar-10-batches-py" / name).read_bytes() == (tmp_path / "cifar-10-batches-py" / name).read_bytes()
    assert (dest / "masks.npz").read_bytes() == (tmp_path / "masks.npz").read_bytes()
    assert not (tmp_path / ".parts").exists()


def test_helpers_work_from_another_folder_with_a_relative_destination(small_chunks, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stats = gen.write_cifar10("relative", n_train=10, n_test=10, workers=2)
    assert stats["chunks"] == 4 and stats["chunks_by_helpers"] == 2
    assert (tmp_path / "relative" / "cifar-10-batches-py" / "data_batch_5").is_file()


def test_other_seed_other_images():
    a = gen.render_cifar10(10, seed=0)[0]
    assert not np.array_equal(a, gen.render_cifar10(10, seed=1)[0])
    assert not np.array_equal(a, gen.render_cifar10(10, seed=0, split="test")[0])
    np.testing.assert_array_equal(a, gen.render_cifar10(10, seed=0)[0])


def test_labels_are_balanced_and_shuffled():
    _, labels, _ = gen.render_cifar10(200, seed=0)
    assert np.bincount(labels, minlength=10).tolist() == [20] * 10
    assert not np.array_equal(labels[:20], np.arange(20) % 10)


def test_masks_follow_image_order_and_boxes_fit(small, small_chunks):
    dest, _ = small
    images, _, masks = gen.render_cifar10(N_TEST, seed=0, split="test")
    with np.load(dest / "masks.npz") as z:
        assert sorted(z.files) == ["test", "train"]
        assert z["train"].shape == (N_TRAIN, 32, 32) and z["train"].dtype == bool
        np.testing.assert_array_equal(z["test"], masks)
    area = masks.mean(axis=(1, 2))
    assert (area > 0.01).all() and (area < 0.9).all()  # every image has an object, none fills the frame
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    y0, y1 = rows.argmax(axis=1), 31 - rows[:, ::-1].argmax(axis=1)
    x0, x1 = cols.argmax(axis=1), 31 - cols[:, ::-1].argmax(axis=1)
    assert (x0 <= x1).all() and (y0 <= y1).all()
    for i in range(N_TEST):  # the box holds the whole mask, and each box edge touches it
        box = np.zeros((32, 32), bool)
        box[y0[i] : y1[i] + 1, x0[i] : x1[i] + 1] = True
        assert not (masks[i] & ~box).any()
        assert masks[i, y0[i]].any() and masks[i, y1[i]].any() and masks[i, :, x0[i]].any() and masks[i, :, x1[i]].any()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_train": 0}, "n_train must be an integer >= 5"),
        ({"n_train": 4}, "n_train"),
        ({"n_test": 0}, "n_test"),
        ({"seed": -1}, "seed"),
        ({"workers": 0}, "workers"),
        ({"n_train": 10.5}, "n_train"),
        ({"n_train": True}, "n_train"),
    ],
)
def test_write_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gen.write_cifar10(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_render_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        gen.render_cifar10(0)
    with pytest.raises(ValueError, match="split must be one of 'train', 'test'; got 'valid'"):
        gen.render_cifar10(5, split="valid")
    with pytest.raises(ValueError, match="seed"):
        gen.render_cifar10(5, seed=-3)


def test_helper_command_imports_from_this_module(tmp_path):
    cmd = gen.helper_command(0, [10, 5], 1, 2, tmp_path, 4)
    assert cmd[1] == "-c" and "; from book_utils.standins.cifar10 import worker_main; worker_main(0, [10, 5], 1, 2, " in cmd[2]


def test_failing_helper_raises_with_its_stderr(small_chunks, tmp_path, monkeypatch):
    # A broken environment that only the helper sees: a "numpy" on PYTHONPATH that cannot be imported.
    fake = tmp_path / "fake" / "numpy"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('numpy is broken in this helper (test)')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "fake"))
    with pytest.raises(RuntimeError, match=r"helper process 1 of 1 failed with exit code 1(.|\n)*numpy is broken"):
        gen.write_cifar10(tmp_path / "out", n_train=N_TRAIN, n_test=N_TEST, workers=2)
    assert not (tmp_path / "out" / ".parts").exists()
    assert not (tmp_path / "out" / "masks.npz").exists()  # nothing half-written after the failure


def test_objects_are_often_off_centre_and_outlined():
    # Chapter 4's pointing game needs objects that do not all cover the centre (version 3: 82 % did).
    images, _, masks = gen.render_cifar10(500, seed=0, split="test")
    assert 0.2 < masks[:, 16, 16].mean() < 0.5
    assert 0.08 < masks.mean() < 0.16
    ys, xs = np.mgrid[:32, :32]
    area = masks.sum(axis=(1, 2))
    cx, cy = (masks * xs).sum(axis=(1, 2)) / area, (masks * ys).sum(axis=(1, 2)) / area
    assert np.abs(cx - 15.5).mean() > 3 and np.abs(cy - 15.5).mean() > 3
    rim = gen_scene.outline(masks)
    assert (rim <= masks).all() and rim.any(axis=(1, 2)).all()
    assert images[rim].mean() < images[masks & ~rim].mean()  # the outline is darker than the inside


def test_outline_marks_the_mask_border_but_not_the_frame():
    m = np.zeros((1, 6, 6), bool)
    m[0, 0:4, 1:4] = True  # a 4x3 block touching the top of the frame
    rim = gen_scene.outline(m)[0]
    assert rim[:, 1].tolist() == [True, True, True, True, False, False]
    assert rim[0:3, 2].tolist() == [False, False, False] and rim[3, 2]  # top edge is the frame: no outline
