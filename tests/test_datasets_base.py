"""Tests of book_utils.datasets._base: folder names, the generated-data cache, the choice of source and the
one message line. The per-dataset contract is in test_dataset_contract.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from book_utils.datasets._base import (
    MANIFEST,
    DatasetCacheError,
    DatasetNotFoundError,
    RealFiles,
    announce,
    check_source,
    check_split,
    choose_source,
    folder_name,
    generated,
    standins_dir,
    verify_generated,
)


# ------------------------------------------------------------------------------------------- folder names
def test_folder_name_format():
    assert folder_name("chars74k", 2) == "chars74k-v2"
    assert folder_name("banknotes", 3, {"n": 100, "new": 50, "seed": 0}) == "banknotes-v3-n100-new50-seed0"
    assert folder_name("banknotes", 3, {"size": (48, 96)}) == "banknotes-v3-size48x96"
    assert folder_name("captcha", 1, {"captcha": "0.7.1", "len": 4}) == "captcha-v1-captcha0.7.1-len4"
    # anything that is not safe in a file name becomes "_", so a parameter can never make a sub-folder
    assert folder_name("x", 1, {"p": "a/b c:d"}) == "x-v1-pa_b_c_d"


def test_folder_name_depends_on_every_parameter_and_the_version():
    names = {folder_name("s", 1, {"n": 10, "seed": 0}), folder_name("s", 1, {"n": 10, "seed": 1}),
             folder_name("s", 1, {"n": 11, "seed": 0}), folder_name("s", 2, {"n": 10, "seed": 0})}
    assert len(names) == 4


def test_standins_dir_is_under_the_data_dir(data):
    assert standins_dir() == data.resolve() / "standins"


# ------------------------------------------------------------------------------------------ generated data
def _writer(calls: list, content: bytes = b"12345"):
    def build(tmp: Path) -> dict:
        calls.append(tmp)
        assert tmp.is_dir() and not any(tmp.iterdir()), "build gets an existing, empty folder"
        (tmp / "sub").mkdir()
        (tmp / "sub" / "a.bin").write_bytes(content)
        (tmp / "b.txt").write_text("hello")
        return {"took": 1.5}

    return build


def test_generated_builds_once_with_a_manifest(data):
    calls: list = []
    folder = generated("toy", 3, _writer(calls), {"n": 5, "size": (2, 3)})
    assert folder == standins_dir() / "toy-v3-n5-size2x3"
    assert len(calls) == 1 and calls[0] != folder, "built in a temporary folder, then renamed"
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["name"] == "toy" and manifest["version"] == 3
    assert manifest["files"] == {"b.txt": 5, "sub/a.bin": 5}  # the manifest does not list itself
    assert manifest["info"] == {"took": 1.5} and manifest["params"] == {"n": 5, "size": [2, 3]}
    assert "created" in manifest
    assert generated("toy", 3, _writer(calls), {"n": 5, "size": (2, 3)}) == folder
    assert len(calls) == 1, "the second call finds the folder and does not build again"
    assert verify_generated(folder)["files"] == manifest["files"]
    leftovers = [p.name for p in standins_dir().iterdir() if p.name.startswith(".")]
    assert leftovers == [], f"no temporary folders are left behind: {leftovers}"


def test_other_parameters_or_version_build_another_folder(data):
    calls: list = []
    a = generated("toy", 1, _writer(calls), {"n": 5})
    b = generated("toy", 1, _writer(calls), {"n": 6})
    c = generated("toy", 2, _writer(calls), {"n": 5})
    assert len({a, b, c}) == 3 and len(calls) == 3


def test_build_that_returns_nothing_is_fine(data):
    folder = generated("plain", 1, lambda tmp: (tmp / "x").write_text("x") and None)
    assert json.loads((folder / MANIFEST).read_text())["info"] == {}


def test_failed_build_leaves_no_folder(data):
    def broken(tmp: Path) -> None:
        (tmp / "half.bin").write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        generated("toy", 1, broken, {"n": 5})
    assert [p for p in standins_dir().iterdir() if p.is_dir()] == []
    calls: list = []
    folder = generated("toy", 1, _writer(calls), {"n": 5})  # the next call builds it properly
    assert len(calls) == 1 and verify_generated(folder)


def test_missing_manifest_is_a_cache_error(data):
    folder = generated("toy", 1, _writer([]), {"n": 5})
    (folder / MANIFEST).unlink()
    with pytest.raises(DatasetCacheError, match="manifest.json is missing") as err:
        generated("toy", 1, _writer([]), {"n": 5})
    assert err.value.folder == folder and str(folder) in str(err.value) and "rm -rf" in str(err.value)


def test_unreadable_manifest_is_a_cache_error(data):
    folder = generated("toy", 1, _writer([]), {"n": 5})
    (folder / MANIFEST).write_text('{"files": ')
    with pytest.raises(DatasetCacheError, match="unreadable"):
        verify_generated(folder)


def test_size_mismatch_names_the_folder(data):
    folder = generated("toy", 1, _writer([]), {"n": 5})
    (folder / "sub" / "a.bin").write_bytes(b"12")
    with pytest.raises(DatasetCacheError, match=r"sub/a.bin has 2 bytes instead of 5") as err:
        generated("toy", 1, _writer([]), {"n": 5})
    assert isinstance(err.value, RuntimeError) and str(folder) in str(err.value)
    assert "make clean-data" in str(err.value)


def test_missing_file_names_the_folder(data):
    folder = generated("toy", 1, _writer([]), {"n": 5})
    (folder / "b.txt").unlink()
    with pytest.raises(DatasetCacheError, match="b.txt is missing") as err:
        generated("toy", 1, _writer([]), {"n": 5})
    assert str(folder) in str(err.value)


# ----------------------------------------------------------------------------------------- split / source
def test_check_split():
    assert check_split("valid", ("train", "valid")) == "valid"
    with pytest.raises(ValueError, match=r"split must be one of 'train', 'valid'"):
        check_split("val", ("train", "valid"))


def test_check_source():
    for source in ("auto", "real", "standin"):
        assert check_source(source) == source
    with pytest.raises(ValueError, match="'auto', 'real', 'standin'"):
        check_source("web")
    with pytest.raises(ValueError, match="'auto', 'real', 'standin'"):
        check_source("generated")  # only a generated set accepts it


def test_check_source_of_a_generated_set():
    assert check_source("auto", generated=True) == "auto"
    assert check_source("generated", generated=True) == "generated"
    with pytest.raises(ValueError, match="generated by the book itself and has no real files"):
        check_source("real", generated=True)
    with pytest.raises(ValueError, match="'auto', 'generated'"):
        check_source("standin", generated=True)


# -------------------------------------------------------------------------------------------- choose_source
HOW = "Put the files in /somewhere."


class Probe:
    """A ``find_real`` that returns the given answers in turn (the last one again) and counts its calls."""

    def __init__(self, *answers: RealFiles) -> None:
        self.answers, self.calls = list(answers), 0

    def __call__(self) -> RealFiles:
        self.calls += 1
        return self.answers[min(self.calls, len(self.answers)) - 1]


def never_download() -> bool:
    raise AssertionError("no download may be attempted")


def test_standin_source_does_not_look_for_real_files(data):
    probe = Probe(RealFiles(data / "x", path=data / "x"))
    assert choose_source("Toy", "standin", probe, HOW, never_download) == ("standin", None)
    assert probe.calls == 0


@pytest.mark.parametrize("source", ["auto", "real"])
def test_real_files_present_are_used(data, capsys, source):
    probe = Probe(RealFiles(data / "x", path=data / "x" / "Img"))
    assert choose_source("Toy", source, probe, HOW, never_download) == ("real", data / "x" / "Img")
    assert capsys.readouterr().out == ""  # the loader's announce() prints the one line


def test_absent_real_files_with_auto_use_the_standin_quietly(data, capsys):
    assert choose_source("Toy", "auto", Probe(RealFiles(data / "x")), HOW, never_download) == ("standin", None)
    assert capsys.readouterr().out == ""


def test_damaged_real_files_with_auto_are_reported(data, capsys):
    probe = Probe(RealFiles(data / "x", problem="3 class folders are empty"))
    assert choose_source("Toy", "auto", probe, HOW, never_download) == ("standin", None)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    line = out[0]
    assert line.startswith(f"Toy: real files were found at {data / 'x'}, but 3 class folders are empty.")
    assert "They were not used" in line and HOW in line and line.endswith("Using the offline stand-in instead.")


def test_damaged_real_files_are_not_downloaded_again_online(data, monkeypatch, capsys):
    monkeypatch.setenv("BOOK_OFFLINE", "0")
    probe = Probe(RealFiles(data / "x", problem="bad"))
    assert choose_source("Toy", "auto", probe, HOW, never_download) == ("standin", None)
    assert "real files were found" in capsys.readouterr().out


def test_damaged_real_files_with_real_raise(data, capsys):
    probe = Probe(RealFiles(data / "x", problem="3 class folders are empty"))
    with pytest.raises(DatasetNotFoundError, match="3 class folders are empty") as err:
        choose_source("Toy", "real", probe, HOW, never_download)
    assert str(data / "x") in str(err.value) and HOW in str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert capsys.readouterr().out == ""


def test_absent_real_files_with_real_raise_naming_folder_and_offline(data):
    with pytest.raises(DatasetNotFoundError) as err:
        choose_source("Toy", "real", Probe(RealFiles(data / "x")), HOW, never_download)
    message = str(err.value)
    assert f"the real files are not in {data / 'x'}" in message
    assert "BOOK_OFFLINE=1 forbids downloading" in message and HOW in message


def test_absent_real_files_online_without_download_do_not_blame_offline(data, monkeypatch):
    monkeypatch.setenv("BOOK_OFFLINE", "0")
    with pytest.raises(DatasetNotFoundError) as err:
        choose_source("Toy", "real", Probe(RealFiles(data / "x")), HOW)
    assert "BOOK_OFFLINE" not in str(err.value)


@pytest.mark.parametrize("source", ["auto", "real"])
def test_online_download_is_tried_once_and_re_probed(data, monkeypatch, source):
    monkeypatch.setenv("BOOK_OFFLINE", "0")
    downloads = []
    probe = Probe(RealFiles(data / "x"), RealFiles(data / "x", path=data / "x" / "Img"))

    def download() -> bool:
        downloads.append(1)
        return True

    assert choose_source("Toy", source, probe, HOW, download) == ("real", data / "x" / "Img")
    assert downloads == [1] and probe.calls == 2


def test_failed_download_falls_back_to_the_standin(data, monkeypatch):
    monkeypatch.setenv("BOOK_OFFLINE", "0")
    downloads = []
    probe = Probe(RealFiles(data / "x"))

    def download() -> bool:
        downloads.append(1)
        return False

    assert choose_source("Toy", "auto", probe, HOW, download) == ("standin", None)
    assert downloads == [1] and probe.calls == 1, "a failed download is not probed again"
    with pytest.raises(DatasetNotFoundError):
        choose_source("Toy", "real", probe, HOW, download)


def test_offline_never_downloads(data):
    assert choose_source("Toy", "auto", Probe(RealFiles(data / "x")), HOW, never_download) == ("standin", None)


def test_choose_source_checks_the_source(data):
    with pytest.raises(ValueError, match="source must be one of"):
        choose_source("Toy", "generated", Probe(RealFiles(data / "x")), HOW)


# -------------------------------------------------------------------------------------------------- announce
def test_announce_prints_once_per_title_source_and_folder(data, capsys):
    announce("Toy", "standin", "/a", "drawn shapes")
    assert capsys.readouterr().out == "Toy: offline stand-in (drawn shapes) at /a\n"
    announce("Toy", "standin", Path("/a"), "drawn shapes")  # the same key (a Path or a str)
    announce("Toy", "standin", "/a", "other detail")  # the detail is not part of the key
    assert capsys.readouterr().out == ""
    announce("Toy", "real", "/a")
    announce("Toy", "standin", "/b")
    announce("Other", "standin", "/a")
    announce("Gen", "generated", "/g")
    assert capsys.readouterr().out.splitlines() == [
        "Toy: real data at /a", "Toy: offline stand-in at /b", "Other: offline stand-in at /a",
        "Gen: generated by the book at /g",
    ]


def test_announce_verbose_false_prints_nothing(data, capsys):
    announce("Toy", "real", "/a", verbose=False)
    assert capsys.readouterr().out == ""
    announce("Toy", "real", "/a")  # a quiet call does not use up the line
    assert capsys.readouterr().out == "Toy: real data at /a\n"
