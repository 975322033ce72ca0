"""Unit tests for book_utils.cifar: the stand-in's format, determinism, masks and the loader's fallbacks."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from book_utils import cifar

N_TRAIN, N_TEST = 20, 10


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    """An empty data dir, offline, and a tiny stand-in size for the loader."""
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOOK_OFFLINE", "1")
    monkeypatch.setattr(cifar, "N_TRAIN", N_TRAIN)
    monkeypatch.setattr(cifar, "N_TEST", N_TEST)
    return tmp_path / "data"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    dest = tmp_path_factory.mktemp("standin")
    folder = cifar.generate_standin(dest, n_train=N_TRAIN, n_test=N_TEST, seed=0, workers=1)
    return dest, folder


def test_files_follow_the_real_layout(small):
    dest, folder = small
    assert folder == dest / "cifar-10-batches-py"
    assert sorted(p.name for p in folder.iterdir()) == sorted(cifar._ALL_FILES)
    with open(folder / "data_batch_1", "rb") as fh:
        raw = pickle.load(fh, encoding="bytes")  # how the book reads it
    assert set(raw) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert raw[b"data"].dtype == np.uint8 and raw[b"data"].shape == (N_TRAIN // 5, 3072)
    assert raw[b"batch_label"] == b"training batch 1 of 5"
    with open(folder / "test_batch", "rb") as fh:
        txt = pickle.load(fh, encoding="latin1")  # how torchvision reads it
    assert txt["data"].shape == (N_TEST, 3072) and len(txt["labels"]) == N_TEST
    with open(folder / "batches.meta", "rb") as fh:
        meta = pickle.load(fh, encoding="bytes")
    assert meta[b"label_names"] == [c.encode() for c in cifar.CIFAR10_CLASSES]


def test_torchvision_parser_reads_it_and_rows_are_rgb_planes(small):
    dest, folder = small
    ds = cifar._standin_class()(str(dest), train=True)
    assert ds.data.shape == (N_TRAIN, 32, 32, 3) and ds.data.dtype == np.uint8
    assert ds.classes == list(cifar.CIFAR10_CLASSES)
    img, label = ds[0]
    assert img.size == (32, 32) and img.mode == "RGB" and isinstance(label, int)
    images, labels, _ = cifar.render_standin(N_TRAIN, seed=0, train=True)
    np.testing.assert_array_equal(ds.data, images)  # R, G, B planes decode back to the drawn HWC images
    assert ds.targets == labels.tolist()
    test = cifar._standin_class()(str(dest), train=False)
    assert len(test) == N_TEST


def test_same_seed_same_bytes_other_seed_other_images(small, tmp_path):
    dest, folder = small
    again = cifar.generate_standin(tmp_path / "again", n_train=N_TRAIN, n_test=N_TEST, seed=0, workers=2)
    for name in cifar._ALL_FILES:
        assert (folder / name).read_bytes() == (again / name).read_bytes(), name
    assert (dest / "masks.npz").read_bytes() == (tmp_path / "again" / "masks.npz").read_bytes()
    other, _, _ = cifar.render_standin(10, seed=1)
    assert not np.array_equal(other, cifar.render_standin(10, seed=0)[0])


def test_labels_are_balanced():
    _, labels, _ = cifar.render_standin(200, seed=0)
    assert np.bincount(labels, minlength=10).tolist() == [20] * 10
    assert not np.array_equal(labels[:20], np.arange(20) % 10)  # shuffled, not in class order


def test_masks_follow_image_order_and_boxes_fit(small):
    dest, _ = small
    _, _, masks = cifar.render_standin(N_TEST, seed=0, train=False)
    with np.load(dest / "masks.npz") as z:
        assert z["train"].shape == (N_TRAIN, 32, 32) and z["train"].dtype == bool
        np.testing.assert_array_equal(z["test"], masks)
    assert masks.any(axis=(1, 2)).all()
    boxes = cifar.masks_to_boxes(masks)
    assert boxes.shape == (N_TEST, 4)
    assert (boxes[:, 0] <= boxes[:, 2]).all() and (boxes[:, 1] <= boxes[:, 3]).all()
    assert boxes.min() >= 0 and boxes.max() <= 31


def test_masks_to_boxes_matches_torchvision_and_rejects_bad_input():
    import torch
    from torchvision.ops import masks_to_boxes as tv

    m = np.zeros((2, 32, 32), bool)
    m[0, 3:7, 10:20] = True
    m[1, 0, 31] = True
    np.testing.assert_array_equal(cifar.masks_to_boxes(m), tv(torch.from_numpy(m)).numpy().astype(int))
    with pytest.raises(ValueError, match="shape"):
        cifar.masks_to_boxes(np.zeros((32, 32), bool))
    with pytest.raises(ValueError, match="empty"):
        cifar.masks_to_boxes(np.zeros((1, 32, 32), bool))


def test_bad_arguments_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="n_train"):
        cifar.generate_standin(tmp_path, n_train=0)
    with pytest.raises(ValueError, match="n must be"):
        cifar.render_standin(0)
    with pytest.raises(TypeError, match="train must be"):
        cifar.load_cifar10(train="yes")


def test_loader_uses_standin_offline_and_says_so(data_env, capsys):
    ds = cifar.load_cifar10(train=True)
    out = capsys.readouterr().out
    assert ds.source == "standin" and len(ds) == N_TRAIN
    lines = [line for line in out.splitlines() if line.startswith("CIFAR-10 (train)")]
    assert len(lines) == 1 and "offline stand-in" in lines[0]
    assert cifar.standin_dir() == data_env / "cifar10-standin"
    assert (data_env / "cifar10-standin" / "cifar-10-batches-py" / "data_batch_5").is_file()
    test = cifar.load_cifar10(train=False, transform=np.asarray)
    assert len(test) == N_TEST and test[0][0].shape == (32, 32, 3)
    assert cifar.load_cifar10_masks(train=False).shape == (N_TEST, 32, 32)
    assert cifar.load_cifar10_boxes(train=True).shape == (N_TRAIN, 4)


def test_loader_checks_real_files_first_and_prefers_them(data_env, monkeypatch, capsys):
    seen = []

    def fake_available(root: Path) -> bool:
        seen.append(Path(root))
        return True

    class FakeCIFAR10:
        def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
            self.root = root

    monkeypatch.setattr(cifar, "_real_available", fake_available)
    monkeypatch.setattr(cifar, "_cifar_base", lambda: FakeCIFAR10)
    ds = cifar.load_cifar10()
    assert seen[0] == data_env / "cifar10"
    assert ds.source == "real" and "real data" in capsys.readouterr().out
    assert not (data_env / "cifar10-standin").exists()  # nothing generated
    with pytest.raises(ValueError, match="no object masks"):
        cifar.load_cifar10_masks()


def test_fake_real_folder_fails_integrity_and_falls_back(data_env, monkeypatch):
    fake = data_env / "cifar10" / "cifar-10-batches-py"
    fake.mkdir(parents=True)
    for name in cifar._ALL_FILES:
        (fake / name).write_bytes(b"not cifar")
    assert not cifar._real_available(data_env / "cifar10")
    monkeypatch.setenv("BOOK_OFFLINE", "0")
    calls = []
    monkeypatch.setattr(cifar, "_try_download", lambda root: calls.append(root) or False)
    assert cifar.load_cifar10().source == "standin"
    assert calls == [data_env / "cifar10"]  # online: a download was attempted first, into the real root


@pytest.mark.parametrize("damage", ["truncate", "garble", "missing"])
def test_damaged_standin_cache_tells_user_to_delete_it(data_env, damage):
    cifar.load_cifar10()
    root = cifar.standin_dir()
    batch = root / "cifar-10-batches-py" / "data_batch_2"
    if damage == "truncate":
        batch.write_bytes(batch.read_bytes()[:1000])
    elif damage == "garble":
        raw = bytearray(batch.read_bytes())
        raw[:20] = b"\xff" * 20
        batch.write_bytes(bytes(raw))
    else:
        (root / "masks.npz").unlink()
    with pytest.raises(cifar.StandinCacheError, match="Delete that folder"):
        cifar.load_cifar10()


def test_standin_from_an_older_version_is_replaced(data_env, capsys):
    cifar.load_cifar10()
    info = cifar.standin_dir() / "standin.json"
    info.write_text(info.read_text().replace(f'"version": {cifar.STANDIN_VERSION}', '"version": 0'))
    capsys.readouterr()
    ds = cifar.load_cifar10()
    assert "replacing the stand-in" in capsys.readouterr().out
    assert ds.source == "standin" and f'"version": {cifar.STANDIN_VERSION}' in info.read_text()
