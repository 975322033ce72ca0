"""book_utils.datasets.cifar10: real files first (md5-checked), damaged real files reported, a verified
download from a local server, the stand-in's masks, and the reader giving torchvision's layout."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from helpers import serve_bytes

from book_utils.datasets import cifar10
from book_utils.datasets._base import DatasetNotFoundError
from book_utils.standins.cifar10 import CIFAR10_CLASSES, render_cifar10, write_cifar10

SIZES = {"train": 20, "test": 10}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A small stand-in written once; the tests copy it around as if it were the real dataset."""
    dest = tmp_path_factory.mktemp("tiny")
    write_cifar10(dest, SIZES["train"], SIZES["test"], seed=0, workers=1)
    return dest


@pytest.fixture
def data(data, monkeypatch) -> Path:
    """The shared offline data folder (tests/conftest.py), with a tiny stand-in."""
    monkeypatch.setattr(cifar10, "STANDIN_SIZES", SIZES)
    return data


def as_real(tiny: Path, folder: Path, monkeypatch) -> Path:
    """Copy the tiny set to ``folder`` and make the loader's md5 list match it, as for the real files."""
    shutil.copytree(tiny / cifar10.FOLDER, folder)
    md5 = {name: hashlib.md5((folder / name).read_bytes()).hexdigest() for name in cifar10.REAL_MD5}
    monkeypatch.setattr(cifar10, "REAL_MD5", md5)
    return folder


def test_reader_gives_torchvision_layout(data, capsys):
    ds = cifar10.load_cifar10("train")
    assert ds.source == "standin" and "offline stand-in" in capsys.readouterr().out
    images, labels, masks = render_cifar10(SIZES["train"], seed=0, split="train")
    np.testing.assert_array_equal(ds.data, images)  # rows of R, G, B planes decode back to HWC images
    assert ds.targets == labels.tolist() and ds.classes == list(CIFAR10_CLASSES)
    np.testing.assert_array_equal(ds.masks, masks)
    img, label = ds[0]
    assert img.size == (32, 32) and img.mode == "RGB" and label == int(labels[0])
    test = cifar10.load_cifar10("test", transform=np.asarray, target_transform=lambda t: -t)
    assert len(test) == SIZES["test"] and test[0][0].shape == (32, 32, 3) and test[0][1] <= 0
    assert test.masks.shape == (SIZES["test"], 32, 32)


def test_real_files_are_preferred_and_have_no_masks(data, tiny, monkeypatch, capsys):
    as_real(tiny, data / "cifar10" / cifar10.FOLDER, monkeypatch)
    ds = cifar10.load_cifar10("test")
    assert ds.source == "real" and ds.masks is None and "real data" in capsys.readouterr().out
    assert not (data / "standins").exists(), "nothing generated when the real data is there"
    assert cifar10.data_tag() == "real"


def test_a_custom_root_is_where_real_files_are_looked_for(data, tiny, tmp_path, monkeypatch):
    as_real(tiny, tmp_path / "elsewhere" / cifar10.FOLDER, monkeypatch)
    assert cifar10.load_cifar10("train", root=tmp_path / "elsewhere").source == "real"
    assert cifar10.load_cifar10("train").source == "standin"  # the default root has nothing


def test_damaged_real_files_are_reported_not_skipped(data, tiny, monkeypatch, capsys):
    folder = as_real(tiny, data / "cifar10" / cifar10.FOLDER, monkeypatch)
    (folder / "data_batch_3").write_bytes(b"damaged")
    ds = cifar10.load_cifar10("train")
    out = capsys.readouterr().out
    assert ds.source == "standin"
    assert f"real files were found at {folder}" in out and "data_batch_3 failed the md5 check" in out
    with pytest.raises(DatasetNotFoundError, match="data_batch_3"):
        cifar10.load_cifar10("train", source="real")


def test_real_source_offline_says_where(data):
    with pytest.raises(DatasetNotFoundError, match=str(data / "cifar10")):
        cifar10.load_cifar10("test", source="real")


def _archive(tiny: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(tiny / cifar10.FOLDER, arcname=cifar10.FOLDER)
    return buf.getvalue()


def _online(monkeypatch, url: str) -> None:
    monkeypatch.setenv("BOOK_OFFLINE", "0")
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setattr(cifar10, "ARCHIVE_URL", url)
    monkeypatch.setattr("book_utils.download.REGISTRY", {})


def test_online_download_is_verified_and_unpacked(data, tiny, monkeypatch):
    body = _archive(tiny)
    with serve_bytes(body, "application/gzip") as (base, hits):
        _online(monkeypatch, f"{base}/cifar.tgz")
        monkeypatch.setattr(cifar10, "ARCHIVE_SHA256", hashlib.sha256(body).hexdigest())
        monkeypatch.setattr(cifar10, "ARCHIVE_SIZE", len(body))
        md5 = {n: hashlib.md5((tiny / cifar10.FOLDER / n).read_bytes()).hexdigest() for n in cifar10.REAL_MD5}
        monkeypatch.setattr(cifar10, "REAL_MD5", md5)
        ds = cifar10.load_cifar10("train")
        assert ds.source == "real" and hits == ["/cifar.tgz"]
        assert ds.root == data / "cifar10" / "cifar-10-python" / cifar10.FOLDER
        assert cifar10.load_cifar10("test").source == "real" and hits == ["/cifar.tgz"], "downloaded once"


def test_a_wrong_checksum_falls_back_and_says_so(data, tiny, monkeypatch, capsys):
    with serve_bytes(_archive(tiny), "application/gzip") as (base, hits):
        _online(monkeypatch, f"{base}/cifar.tgz")
        monkeypatch.setattr(cifar10, "ARCHIVE_SIZE", None)
        ds = cifar10.load_cifar10("train")  # the published sha256 does not match this archive
        out = capsys.readouterr().out
        assert ds.source == "standin" and "sha256 mismatch" in out and hits == ["/cifar.tgz"]
        assert not (data / "cifar10" / "cifar-10-python.tar.gz").exists(), "a bad download is never kept"


def test_the_setup_report_names_damaged_real_files(data, tiny, monkeypatch):
    from book_utils.datasets import real_data_report

    assert dict((n, s) for n, s, _ in real_data_report())["cifar10"] == "not found"
    folder = as_real(tiny, data / "cifar10" / cifar10.FOLDER, monkeypatch)
    assert ("cifar10", "found", str(folder)) in real_data_report()
    (folder / "test_batch").write_bytes(b"damaged")
    state = dict((n, s) for n, s, _ in real_data_report())["cifar10"]
    assert state.startswith("damaged:") and "test_batch" in state
