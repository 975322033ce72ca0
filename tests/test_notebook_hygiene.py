"""Hygiene of the committed notebooks: standard header, clean outputs, README map, named skips."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from nbtool import KEEP_TAG, NB_METADATA, REPO, SETUP_SOURCE, colab_badge, find_notebooks  # noqa: E402

NOTEBOOKS = find_notebooks()
IDS = [p.relative_to(ROOT / "notebooks").as_posix() for p in NOTEBOOKS]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.fixture(params=NOTEBOOKS, ids=IDS)
def nb_path(request) -> Path:
    return request.param


def read(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    return nb


def test_name_follows_convention(nb_path):
    folder, name = nb_path.parent.name, nb_path.name
    if folder == "appendix":  # appendix/A-1_topic.ipynb, titled "# Appendix A-1: ..."
        assert re.fullmatch(r"[A-Z]-\d+_[a-z0-9_]+\.ipynb", name), f"{name} should be A-M_section.ipynb"
        return
    assert re.fullmatch(r"\d\d_[a-z0-9_]+", folder), f"folder {folder} should be NN_topic"
    assert re.fullmatch(r"\d\d-\d+_[a-z0-9_]+\.ipynb", name), f"{name} should be NN-M_section.ipynb"
    assert name[:2] == folder[:2], f"{name} is in the wrong chapter folder {folder}"


def test_standard_header(nb_path):
    cells = read(nb_path).cells
    first, second = cells[0], cells[1]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "first cell: a markdown title"
    assert colab_badge(nb_path) in first.source, "first cell must hold this notebook's Colab badge"
    assert "What you will learn" in first.source
    assert second.cell_type == "code" and second.source == SETUP_SOURCE, (
        "second cell must be the standard setup cell (tools/nbtool.py SETUP_SOURCE)"
    )


def test_ends_with_summary_and_exercises(nb_path):
    headings = [ln for c in read(nb_path).cells if c.cell_type == "markdown" for ln in c.source.splitlines()
                if ln.startswith("#")]
    assert any("Summary" in h for h in headings), "missing a Summary section"
    assert any("Exercises" in h for h in headings), "missing an Exercises section"


def test_no_volatile_metadata(nb_path):
    """Saved widget state and version strings change on every run: a committed notebook has neither."""
    assert dict(read(nb_path).metadata) == NB_METADATA, "run `python tools/nbtool.py strip` on it"


def test_only_tagged_cells_keep_outputs(nb_path):
    for i, cell in enumerate(read(nb_path).cells):
        if cell.cell_type != "code":
            continue
        assert "execution" not in cell.metadata, f"cell {i} has execution timestamps: run nbtool.py strip"
        if KEEP_TAG not in cell.metadata.get("tags", []):
            assert not cell.outputs, f"cell {i} has stray outputs: run `python tools/nbtool.py strip {nb_path}`"
            assert cell.get("execution_count") is None, f"cell {i} has an execution count: run nbtool.py strip"
        elif "raises-exception" not in cell.metadata.get("tags", []):
            assert cell.outputs, f"cell {i} is tagged {KEEP_TAG} but has no stored output to compare"


def test_one_way_to_mark_an_expected_error(nb_path):
    """The `raises-exception` tag (JupyterLab's, which nbval reads too); a comment as well makes nbval warn."""
    for i, cell in enumerate(read(nb_path).cells):
        assert "NBVAL_RAISES_EXCEPTION" not in cell.source, f"cell {i}: use the raises-exception tag instead"


def test_skips_have_reasons(nb_path):
    for i, cell in enumerate(read(nb_path).cells):
        for line in cell.source.splitlines():
            if "NBVAL_SKIP" in line:
                reason = line.split("NBVAL_SKIP", 1)[1].strip(" :-")
                assert len(reason) > 10, f"cell {i}: NBVAL_SKIP needs a written reason on the same line"


def test_listed_in_readme_chapter_map(nb_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert nb_path.name in readme, f"{nb_path.name} is missing from the README chapter map"


def _run_setup_cell(monkeypatch, in_colab: bool, returncode: int = 0) -> list:
    calls: list = []

    def fake_run(cmd, **kw):
        calls.append((cmd, kw))
        return subprocess.CompletedProcess(cmd, returncode, "", "ERROR: network is unreachable\n")

    monkeypatch.setattr("subprocess.run", fake_run)
    if in_colab:
        google = types.ModuleType("google")
        colab = types.ModuleType("google.colab")
        google.colab = colab
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", colab)
    else:
        monkeypatch.setitem(sys.modules, "google.colab", None)  # import raises ImportError
    namespace: dict = {}
    exec(compile(SETUP_SOURCE, "<setup cell>", "exec"), namespace)
    assert namespace["IN_COLAB"] is in_colab
    assert namespace["cfg"].mode == "smoke"
    return calls


def test_setup_cell_installs_only_on_colab(monkeypatch, capsys):
    assert _run_setup_cell(monkeypatch, in_colab=False) == []
    calls = _run_setup_cell(monkeypatch, in_colab=True)
    assert len(calls) == 1
    cmd, kwargs = calls[0]
    assert cmd[1:4] == ["-m", "pip", "install"] and cmd[-1] == f"git+https://github.com/{REPO}.git"
    assert kwargs["capture_output"] is True
    assert capsys.readouterr().out.count("mode=smoke") == 2


def test_setup_cell_explains_a_failed_install_in_one_line(monkeypatch):
    with pytest.raises(SystemExit) as err:
        _run_setup_cell(monkeypatch, in_colab=True, returncode=1)
    message = str(err.value)
    assert "Could not install book_utils" in message and "network is unreachable" in message
    assert "\n" not in message


def test_repository_is_named_once():
    """The badge and the install line take the repository from pyproject.toml, nowhere else."""
    hits = [p for p in [*ROOT.glob("tools/*.py"), *ROOT.glob("book_utils/**/*.py")] if REPO in p.read_text()]
    assert hits == [], f"{REPO} is written in {hits}; read it from pyproject.toml instead"
