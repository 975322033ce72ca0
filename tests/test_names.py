"""Tests of the surnames set (book_utils.standins.names and book_utils.datasets.names, notebook 09-2).
The contract every loader keeps is in test_dataset_contract.py."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from book_utils.datasets._base import DatasetNotFoundError
from book_utils.datasets.names import OneHot, load_names, one_hot, read_names, split_names
from book_utils.standins.names import ALPHABET, LANGUAGES, to_ascii, unambiguous, write_names


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOOK_OFFLINE", "1")
    return tmp_path


def test_to_ascii_transliterates_and_drops_the_rest():
    assert to_ascii("Müller") == "Muller"
    assert to_ascii("Ó Céirín") == "O Ceirin"
    assert to_ascii("Pawłowski") == "Pawlowski" and to_ascii("Strauß") == "Strauss"  # no NFKD decomposition
    assert to_ascii("  CHAN ") == "Chan" and to_ascii("O'Neal") == "O'Neal"
    assert to_ascii("山崎") == ""


def test_unambiguous_drops_names_of_two_languages_and_repeats():
    kept = unambiguous({"A": ["Smith", "Khan", "Smith"], "B": ["Khan", "Berg"]})
    assert kept == {"A": ["Smith"], "B": ["Berg"]}


def test_standin_size_language_count_and_no_shared_names(tmp_path):
    counts = write_names(tmp_path)
    assert set(counts) == set(LANGUAGES) and len(counts) == 14
    assert 12_000 <= sum(counts.values()) <= 17_000
    assert min(counts.values()) >= 40  # Japanese, the smallest, has about 50
    files = sorted((tmp_path / "names").glob("*.txt"))
    assert [p.stem for p in files] == sorted(LANGUAGES)
    by_lang = read_names(tmp_path / "names")
    seen = Counter(n for names in by_lang.values() for n in names)
    assert max(seen.values()) == 1
    assert all(set(n) <= set(ALPHABET) for names in by_lang.values() for n in names)
    assert {k: len(v) for k, v in by_lang.items()} == counts  # written and read back unchanged


def test_stratified_split_is_fixed_and_disjoint():
    by_lang = {"A": [f"a{i}" for i in range(50)], "B": [f"b{i}" for i in range(10)], "C": ["c0"]}
    parts = split_names(by_lang, 0.2, seed=0)
    assert split_names(by_lang, 0.2, seed=0) == parts
    train, test = parts["train"], parts["test"]
    assert Counter(test[1]) == {0: 10, 1: 2}  # 20 % of each language; a lone name stays in train
    assert not set(train[0]) & set(test[0]) and len(parts["all"][0]) == 61
    assert split_names(by_lang, 0.2, seed=1)["test"] != test


def test_real_folder_is_read_when_present(offline):
    folder = offline / "data" / "names"
    folder.mkdir(parents=True)
    (folder / "Czech.txt").write_text("Novák\nDvořák\nSmith\nNovák\n", encoding="utf-8")
    (folder / "English.txt").write_text("Smith\nJones\nBrown\n", encoding="utf-8")
    ds = load_names("all", verbose=False)
    assert ds.source == "real" and ds.classes == ("Czech", "English") and ds.root == folder
    assert sorted(zip(ds.data, ds.targets)) == [("Brown", 1), ("Dvorak", 0), ("Jones", 1), ("Novak", 0)]
    assert load_names("all", source="standin", verbose=False).source == "standin"


def test_real_source_missing_says_no_download(offline):
    with pytest.raises(DatasetNotFoundError, match="no checksum"):
        load_names(source="real")


def test_items_and_one_hot():
    x = one_hot("Ab")
    assert x.shape == (2, len(ALPHABET)) == (2, 58)
    assert x[0, ALPHABET.index("A")] == 1 and x[1, ALPHABET.index("b")] == 1 and x.sum() == 2
    padded = OneHot(length=4)("Abcdef")
    assert padded.shape == (4, 58) and padded.sum() == 4
    assert torch.equal(OneHot(length=4)("Ab")[2:], torch.zeros(2, 58))


def test_loader_items_are_names_and_labels(offline):
    ds = load_names("test", verbose=False)
    name, label = ds[0]
    assert isinstance(name, str) and 0 <= label < len(ds.classes) == 14
    assert load_names("test", transform=one_hot, verbose=False)[0][0].shape == (len(name), 58)
    with pytest.raises(ValueError, match="test_fraction"):
        load_names(test_fraction=1.5)
