"""Tests of the notebook tools: percent-script round trip, output stripping, results and chapter map."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import chapter_map  # noqa: E402
import execute  # noqa: E402
import nbtool  # noqa: E402

SCRIPT = """\
# %% [markdown]
# # Chapter 9.9: Demo
# {colab_badge}

# %% [setup]

# %% tags=["nbval-check-output"]
print(1 + 1)

# %%
x = 3
"""


def test_script_round_trip(tmp_path):
    path = tmp_path / "notebooks" / "09_demo" / "09-9_demo.ipynb"
    nb = nbtool.script_to_notebook(SCRIPT, path)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "code"]
    assert "colab.research.google.com/github/" in nb.cells[0].source
    assert "notebooks/09_demo/09-9_demo.ipynb" in nb.cells[0].source
    assert nb.cells[1].source == nbtool.SETUP_SOURCE
    assert nb.cells[2].metadata["tags"] == ["nbval-check-output"]
    back = nbtool.notebook_to_script(nb)
    again = nbtool.script_to_notebook(back, path)
    assert [c.source for c in again.cells] == [c.source for c in nb.cells]


def test_strip_keeps_only_tagged_outputs():
    nb = nbtool.script_to_notebook(SCRIPT, Path("notebooks/09_demo/09-9_demo.ipynb"))
    out = nbformat.v4.new_output("stream", name="stdout", text="2\n")
    for cell in nb.cells[1:]:
        cell.outputs = [out]
        cell.execution_count = 1
    assert nbtool.strip_outputs(nb)
    assert [len(c.outputs) for c in nb.cells[1:]] == [0, 1, 0]
    assert [c.execution_count for c in nb.cells[1:]] == [None, 1, None]  # nbval needs counts on kept cells
    assert not nbtool.strip_outputs(nb)


def test_merge_results_writes_json_and_markdown(tmp_path):
    results = tmp_path / "results.json"
    row = {"median_s": 12.34, "times_s": [12.34], "machine": "2 cpu", "date": "2026-01-01",
           "checks": [{"name": "acc", "value": 0.91}]}
    execute.merge_results(results, "lite", {"notebooks/a.ipynb": row})
    execute.merge_results(results, "smoke", {"notebooks/a.ipynb": row})
    data = json.loads(results.read_text())
    assert set(data) == {"lite", "smoke"}
    md = (tmp_path / "RESULTS.md").read_text()
    assert "| notebooks/a.ipynb | 12.3 | 1 | acc = 0.91 | 2 cpu | 2026-01-01 |" in md
    results.write_text(json.dumps({**data, "notes": ["drawing took 19 s"]}))
    execute.merge_results(results, "lite", {})
    md = (tmp_path / "RESULTS.md").read_text()
    assert md.endswith("## Other measurements\n\n- drawing took 19 s\n") and "## notes mode" not in md


def test_chapter_map_lists_every_notebook():
    table = chapter_map.render({})
    for nb in ROOT.glob("notebooks/*/*.ipynb"):
        assert f"[{nb.name}]" in table


def test_chapter_map_titles_drop_the_chapter_or_appendix_prefix():
    for nb in ROOT.glob("notebooks/*/*.ipynb"):
        title = chapter_map.notebook_row(nb, {}).split(" | ")[1]
        assert not title.startswith(("#", "Chapter", "Appendix")), title


def test_chapter_map_keeps_a_wrapped_book_section_whole():
    header = ("# Chapter 9.9: Demo\nBook section: §9.1 (one thing) and §9.2 (another,\n"
              "which wraps | here).\n\nWhat you will learn:\n- nothing")
    assert chapter_map.book_section(header) == "§9.1 (one thing) and §9.2 (another, which wraps \\| here)"
    assert chapter_map.book_section("# Chapter 9.9: Demo\nWhat you will learn:") == ""


def test_build_carries_kept_outputs_of_unchanged_cells():
    path = Path("notebooks/09_demo/09-9_demo.ipynb")
    old = nbtool.script_to_notebook(SCRIPT, path)
    old.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    old.cells[2].metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    new = nbtool.script_to_notebook(SCRIPT, path)
    nbtool.carry_outputs(old, new)
    assert new.cells[2].outputs[0]["text"] == "2\n"
    changed = nbtool.script_to_notebook(SCRIPT.replace("1 + 1", "2 + 2"), path)
    nbtool.carry_outputs(old, changed)
    assert changed.cells[2].outputs == []
    assert nbtool.strip_outputs(old) and "execution" not in old.cells[2].metadata


def test_sanitizer_path_does_not_depend_on_the_working_folder(tmp_path, monkeypatch):
    """`pytest` started in another folder must still find tests/nbval_sanitize.cfg (a relative addopt)."""
    import importlib.util
    import types

    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)

    monkeypatch.chdir(tmp_path)
    config = types.SimpleNamespace(option=types.SimpleNamespace(nbval_sanitize_with="tests/nbval_sanitize.cfg"))
    conftest.pytest_configure(config)
    assert config.option.nbval_sanitize_with == str(ROOT / "tests" / "nbval_sanitize.cfg")
    assert Path(config.option.nbval_sanitize_with).is_file()
