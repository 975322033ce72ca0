"""Tests of `make site` (tools/build_site.py) and its browser check (tools/browser_check.py).

The pure helpers are tested on small inputs; then a smoke-mode site of two notebooks (00-1: a widget in its
static state; 01-1: figures) is built, link-checked and opened in headless Chromium when one is installed.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import browser_check  # noqa: E402
import build_site as site  # noqa: E402
import execute  # noqa: E402

SUBSET = [ROOT / "notebooks" / "00_setup" / "00-1_check_your_setup.ipynb",
          ROOT / "notebooks" / "01_sklearn" / "01-1_datasets_and_classification.ipynb"]


# ----------------------------------------------------------------------------------------- pure helpers
def test_executed_copies_of_lite_are_make_books_and_other_modes_have_their_own_folder(tmp_path):
    nb = SUBSET[1]
    assert site.executed_path(nb, tmp_path, "lite") == tmp_path / "01_sklearn" / nb.name
    assert site.executed_path(nb, tmp_path, "smoke") == tmp_path / "smoke" / "01_sklearn" / nb.name
    assert site.page_name(nb) == "01_sklearn/01-1_datasets_and_classification.html"


def test_a_copy_is_reused_only_when_newer_and_run_in_the_same_mode(tmp_path):
    src, copy = tmp_path / "a.ipynb", tmp_path / "build" / "a.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), src)
    assert not site.reusable(src, copy, "smoke")  # no copy
    copy.parent.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["book"] = execute.run_metadata("smoke", 1.23)
    nbformat.write(nb, copy)
    os.utime(src, (1_000_000, 1_000_000))
    assert site.reusable(src, copy, "smoke")
    assert not site.reusable(src, copy, "lite")  # another mode
    os.utime(copy, (999_999, 999_999))
    assert not site.reusable(src, copy, "smoke")  # the notebook changed after the run
    os.utime(copy, (1_000_001, 1_000_001))
    copy.write_text("{not json")
    os.utime(copy, (1_000_001, 1_000_001))
    assert not site.reusable(src, copy, "smoke")  # a broken copy is run again


def test_split_work_balances_expected_times_longest_first():
    a, b, c, d, e = (Path(f"{x}.ipynb") for x in "abcde")
    groups = site.split_work([a, b, c, d, e], 2, {a: 100, b: 60, c: 50, d: 10})  # e: unknown, 30 s
    assert groups == [[a, e], [b, c, d]]  # 130 s and 120 s; one runner would take 250 s
    assert site.split_work([a, b], 4, {}) == [[a], [b]]
    assert site.split_work([a, b], 1, {}) == [[a, b]]
    assert site.split_work([], 2, {}) == []


def test_run_metadata_records_mode_device_date_and_seconds():
    info = execute.run_metadata("lite", 42.04)
    assert info == {"mode": "lite", "device": execute.machine(), "date": date.today().isoformat(),
                    "seconds": 42.0}
    assert site.run_line(info) == f"lite mode · {execute.machine()} · {info['date']} · 42 s"
    assert site.run_line({}).startswith("not executed")


def test_labels_titles_and_topics():
    assert site.chapter_label("01_sklearn") == "Chapter 1"
    assert site.chapter_label("10_deployment") == "Chapter 10"
    assert site.chapter_label("appendix") == "Appendix"
    readme = "| Chapter | Folder | Topics |\n|---|---|---|\n| 1 | `01_sklearn` | datasets, PCA |\n| A | `appendix` | graphs |\n"
    assert site.chapter_topics(readme) == {"01_sklearn": "datasets, PCA", "appendix": "graphs"}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Chapter 1.1: Data\nBook section: §1")])
    assert site.notebook_title(nb) == "Chapter 1.1: Data"
    assert site.colab_url(SUBSET[0]).endswith("/blob/main/notebooks/00_setup/00-1_check_your_setup.ipynb")


def test_format_checks_puts_asserted_values_first_and_counts_the_rest():
    checks = [{"name": "t", "value": 12.345, "threshold": None},
              {"name": "acc", "value": 0.97333, "threshold": 0.97, "higher_is_better": True},
              {"name": "loss", "value": 0.1, "threshold": 0.2, "higher_is_better": False},
              {"name": "x", "value": 1.0, "threshold": 0.5}]
    assert site.format_checks(checks) == "acc = 0.973 (≥ 0.97); loss = 0.1 (≤ 0.2); x = 1 (≥ 0.5); +1 more"
    assert site.format_checks([]) == ""


def test_rewrite_links_points_notebooks_to_pages_and_repository_files_to_github():
    files = {"01_sklearn/01-1_a.html", "02_cv/02-1_b.html", "index.html", "assets/site.css"}
    page = ('<a href="../02_cv/02-1_b.ipynb#Part-2">next</a> <a href="../03_x/03-1_c.ipynb">left out</a> '
            '<a href="../../data/README.md">data</a> <a href="../index.html">home</a> '
            '<link href="../assets/site.css"> <a href="#Summary">s</a> <a href="https://example.org/x">ext</a> '
            f'<img src="{site.COLAB_SVG}">')
    out = site.rewrite_links(page, "01_sklearn/01-1_a.html", files, "notebooks/01_sklearn")
    assert 'href="../02_cv/02-1_b.html#Part-2"' in out
    assert f'href="{site.GITHUB}notebooks/03_x/03-1_c.ipynb"' in out
    assert f'href="{site.GITHUB}data/README.md"' in out
    for kept in ('href="../index.html"', 'href="../assets/site.css"', 'href="#Summary"',
                 'href="https://example.org/x"'):
        assert kept in out
    assert 'src="../assets/colab-badge.svg"' in out


def test_broken_links_finds_relative_addresses_without_a_file(tmp_path):
    (tmp_path / "ch").mkdir()
    (tmp_path / "index.html").write_text('<a href="ch/p.html">p</a> <a href="ch/gone.html#x">gone</a>')
    (tmp_path / "ch" / "p.html").write_text(
        '<a href="../index.html">i</a> <img src="data:image/png;base64,AAAA"> <img src="missing.png"> '
        '<a href="https://example.org">e</a> <a href="#top">t</a>')
    assert site.broken_links(tmp_path) == ["ch/p.html: missing.png", "index.html: ch/gone.html#x"]


def test_browser_problems_lists_empty_local_images_and_failing_links():
    report = {"images": [{"src": "data:a", "local": True, "width": 10, "height": 5},
                         {"src": "http://127.0.0.1/x.png", "local": True, "width": 0, "height": 0},
                         {"src": "https://far.away/b.svg", "local": False, "width": 0, "height": 0}],
              "links": {"http://127.0.0.1/a.html": 200, "http://127.0.0.1/b.html": 404}}
    assert browser_check.problems(report) == ["image http://127.0.0.1/x.png... has no size",
                                              "link http://127.0.0.1/b.html answers 404"]


def test_a_folder_the_tool_did_not_make_is_never_emptied(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit, match="not made by this tool"):
        site.build_site(SUBSET[:1], "smoke", tmp_path / "build", out)
    assert (out / "keep.txt").exists()


def test_a_notebook_that_fails_to_run_gets_a_page_that_says_so_and_the_build_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(site, "execute", lambda notebooks, *args: list(notebooks))  # every run fails
    assert site.build_site(SUBSET[:1], "smoke", tmp_path, tmp_path / "site") == 1
    page = (tmp_path / "site" / site.page_name(SUBSET[0])).read_text(encoding="utf-8")
    assert "not executed: the run failed" in page and "site-failed" in page
    assert site.broken_links(tmp_path / "site") == []
    assert "1 notebook(s) failed to run" in capsys.readouterr().out


# ---------------------------------------------------------------------------------- a two-notebook site
@pytest.fixture(scope="module")
def smoke_site(tmp_path_factory) -> Path:
    """A smoke-mode site of 00-1 and 01-1, built from fresh runs, in a temporary build folder."""
    build = tmp_path_factory.mktemp("build")
    assert site.build_site(SUBSET, "smoke", build, build / "site") == 0
    return build / "site"


def test_site_pages_show_their_run_and_every_link_resolves(smoke_site):
    assert site.broken_links(smoke_site) == []
    today = date.today().isoformat()
    for nb in SUBSET:
        page = (smoke_site / site.page_name(nb)).read_text(encoding="utf-8")
        assert f"smoke mode · {execute.machine()} · {today}" in page
        assert "Run it yourself" in page and site.colab_url(nb) in page
        assert "assets/colab-badge.svg" in page and site.COLAB_SVG not in page
        assert "require.min.js" not in page and "unpkg.com" not in page  # nothing fetched to show the page
    first = (smoke_site / site.page_name(SUBSET[0])).read_text(encoding="utf-8")
    assert 'rel="next"' in first and "01-1_datasets_and_classification.html" in first
    assert "(Static view, n=5" in first  # the widget in its static state, with its note
    assert first.count('src="data:image/png;base64,') == 0
    second = (smoke_site / site.page_name(SUBSET[1])).read_text(encoding="utf-8")
    assert second.count('src="data:image/png;base64,') >= 3  # the figures, embedded


def test_site_index_lists_chapters_with_times_and_checked_values(smoke_site):
    index = (smoke_site / "index.html").read_text(encoding="utf-8")
    assert "<h2>Chapter 0" in index and "<h2>Chapter 1" in index
    for nb in SUBSET:
        assert f'href="{site.page_name(nb)}"' in index
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    row = results["lite"].get(SUBSET[1].relative_to(ROOT).as_posix())
    if row and row["checks"]:
        assert row["checks"][0]["name"] in index
    assert "smoke-mode runs" in index


def test_site_reuses_executed_copies(smoke_site, capsys):
    build = smoke_site.parent
    assert site.build_site(SUBSET, "smoke", build, smoke_site) == 0
    assert "2 executed copies reused, 0 to run" in capsys.readouterr().out


def test_site_in_headless_chromium(smoke_site):
    """Images render and links answer in a real browser; the screenshot is build/site-screenshot.png.

    Run alone: ``.venv/bin/pytest -n 0 tests/test_site.py -k chromium``; needs Debian's ``chromium``
    (or ``$CHROMIUM``), else it is skipped.
    """
    if browser_check.find_chromium() is None:
        pytest.skip("no Chromium binary found (install Debian's `chromium` package or set $CHROMIUM)")
    shot = ROOT / "build" / "site-screenshot.png"
    shot.unlink(missing_ok=True)
    page = site.page_name(SUBSET[1])
    reports = browser_check.check_site(smoke_site, page=page, screenshot=shot)
    for name, report in reports.items():
        assert report["problems"] == [], name
    images = [i for i in reports[page]["images"] if i["local"]]
    assert len(images) >= 4 and all(i["width"] > 0 and i["height"] > 0 for i in images)
    assert reports["index.html"]["links"] and reports[page]["links"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
