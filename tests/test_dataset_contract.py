"""The contract every dataset loader keeps (book_utils.datasets), checked the same way for each of them.

Each case loads a tiny version of the dataset into an empty, offline data folder. The checks: the return
type and its attributes; exactly one message line; a pickle round trip and a spawned DataLoader worker
(Windows, macOS and Python >= 3.14 spawn workers); no rebuild on a second call; a truncated cache file
raises the cache error naming the folder to delete; a bad split lists the valid ones; ``source="real"``
offline says where to put the real files. A new dataset is added to ``CASES`` (and to ``LOADERS``).
"""

from __future__ import annotations

import importlib
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.functional import pil_to_tensor

from book_utils.datasets import LOADERS
from book_utils.datasets._base import MANIFEST, DatasetCacheError, DatasetNotFoundError, standins_dir
from book_utils.datasets.names import OneHot
from book_utils.detection import as_lists


@dataclass
class Case:
    """How to load a tiny copy of one dataset."""

    splits: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    patches: dict[str, Any] = field(default_factory=dict)  # "module:attribute" -> value
    transform: Any = pil_to_tensor  # makes items collatable; None when items are tensors already
    generated: bool = False  # made by the book itself: no real files exist
    collate: Any = None  # a DataLoader collate_fn, for targets the default collate cannot batch (boxes)


CASES = {
    "cifar10": Case(("train", "test"), patches={"book_utils.datasets.cifar10:STANDIN_SIZES": {"train": 20, "test": 10}}),
    "chars74k": Case(("train", "test", "all"), options={"size": 32},
                     patches={"book_utils.standins.chars74k:PER_CLASS": 2}),
    "banknotes": Case(("train", "valid", "test", "test_new"),
                      options={"per_class": 10, "n_new": 1, "size": (16, 32)}),
    "captcha": Case(("train", "val", "test"), options={"n": 4}, transform=None, generated=True),
    "kaggle_cifar10": Case(("train", "test"), options={"n": 10, "n_test": 3}),
    "sun_scenes": Case(("train", "test", "all"), options={"n": 10}, generated=True, collate=as_lists),
    "voc": Case(("train", "val", "trainval"), options={"n": 10}, collate=as_lists),
    "pubfig": Case(("train", "val", "eval", "dev"), options={"size": 16, "per_person": 3},
                   patches={"book_utils.standins.pubfig:LISTS": {"dev": 3, "eval": 4},
                            "book_utils.standins.pubfig:FAILURES": {"404": 1}, "book_utils.standins.pubfig:REDIRECTS": 1}),
    "names": Case(("train", "test", "all"), transform=OneHot(length=24)),
    "captcha_lines": Case(("train", "val", "test"), options={"n": 4, "chars": "digits"}, transform=None,
                          generated=True, collate=as_lists),  # ctc_collate concatenates the targets
}


def _same(a: Any, b: Any) -> bool:
    """Equal items: tensors/arrays by value, dicts (detection targets) key by key."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return torch.equal(torch.as_tensor(a), torch.as_tensor(b))


def test_every_dataset_has_a_case():
    assert set(CASES) == set(LOADERS)


@pytest.fixture(params=sorted(CASES))
def case(request, tmp_path, monkeypatch):
    """(name, loader, Case) with an empty offline data folder and the case's patches applied."""
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOOK_OFFLINE", "1")
    name = request.param
    spec = CASES[name]
    for target, value in spec.patches.items():
        module, attr = target.split(":")
        monkeypatch.setattr(importlib.import_module(module), attr, value)
    module = importlib.import_module(f"book_utils.datasets.{name}")
    return name, getattr(module, LOADERS[name]), spec


def _load(case, split=None, **kw):
    name, loader, spec = case
    return loader(split or spec.splits[0], transform=spec.transform, **{**spec.options, **kw})


def _folder() -> Path:
    folders = [p for p in standins_dir().iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(folders) == 1, f"expected one generated folder, found {folders}"
    return folders[0]


def test_type_attributes_and_one_message_line(case, capsys):
    ds = _load(case)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, f"a loader prints exactly one line saying which data it uses, got {out}"
    assert isinstance(ds, Dataset) and len(ds) > 0
    cls = type(ds)
    assert "<locals>" not in cls.__qualname__ and getattr(importlib.import_module(cls.__module__), cls.__name__) is cls
    for attr in ("classes", "targets", "split", "source", "root"):
        assert hasattr(ds, attr), f"missing .{attr}"
    assert ds.split == case[2].splits[0] and len(ds.targets) == len(ds) and len(ds.classes) >= 2
    assert ds.source == ("generated" if case[2].generated else "standin")
    assert ds.source in out[0] or {"standin": "stand-in", "generated": "generated"}[ds.source] in out[0]
    for split in case[2].splits[1:]:
        assert _load(case, split).split == split


def test_pickle_and_a_spawned_worker(case):
    ds = _load(case)
    again = pickle.loads(pickle.dumps(ds))
    x0, y0 = ds[0]
    x1, y1 = again[0]
    assert _same(x0, x1) and _same(y0, y1)
    loader = DataLoader(ds, batch_size=2, num_workers=1, multiprocessing_context="spawn", collate_fn=case[2].collate)
    xb, yb = next(iter(loader))
    assert len(xb) == 2 and len(yb) == 2
    assert _same(xb[0], x0) and _same(yb[0], y0)


def test_second_call_does_not_rebuild(case, capsys):
    _load(case)
    manifest = _folder() / MANIFEST
    stamp = manifest.stat().st_mtime_ns
    capsys.readouterr()
    _load(case)
    assert manifest.stat().st_mtime_ns == stamp
    assert capsys.readouterr().out == "", "the source line is printed once per process and folder"


def test_truncated_cache_names_the_folder(case):
    _load(case)
    folder = _folder()
    victim = max((p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST), key=lambda p: p.stat().st_size)
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    with pytest.raises(DatasetCacheError, match="Delete that folder") as err:
        _load(case)
    assert str(folder) in str(err.value)


def test_bad_split_lists_the_valid_ones(case):
    with pytest.raises(ValueError) as err:
        _load(case, "nope")
    for split in case[2].splits:
        assert repr(split) in str(err.value)


def test_real_source_offline_says_where_to_put_files(case):
    name, loader, spec = case
    if spec.generated:
        with pytest.raises(ValueError, match="generated"):
            loader(spec.splits[0], source="real")
        return
    with pytest.raises(DatasetNotFoundError) as err:
        loader(spec.splits[0], source="real", **spec.options)
    message = str(err.value)
    assert "BOOK_OFFLINE" in message and str(Path(standins_dir().parent)) in message
