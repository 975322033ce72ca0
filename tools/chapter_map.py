"""Regenerate the README's chapter map from the notebooks' titles and the benchmark medians.

    python tools/chapter_map.py          # rewrites the table between the chapter-map markers in README.md

Titles come from each notebook's first heading ("# Chapter N.M: Title", or "# Appendix A-1: Title" for the
notebooks in ``notebooks/appendix/``), the book section from its
"Book section:" line, and the times from benchmarks/results.json (written by `make bench`).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtool import ROOT, find_notebooks  # noqa: E402

START, END = "<!-- chapter-map:start -->", "<!-- chapter-map:end -->"


def book_section(header: str) -> str:
    """The "Book section:" text of a notebook's first cell, whole even when it wraps over several lines
    (it ends at a blank line or at "What you will learn")."""
    lines = header.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Book section:")), None)
    if start is None:
        return ""
    parts = [lines[start].removeprefix("Book section:").strip()]
    for line in lines[start + 1:]:
        if not line.strip() or line.startswith(("What you will learn", "[![", "#")):
            break
        parts.append(line.strip())
    return " ".join(parts).rstrip(".").replace("|", "\\|")


def notebook_row(path: Path, results: dict) -> str:
    """One Markdown table row for a notebook."""
    first = nbformat.read(path, as_version=4).cells[0].source
    title = re.sub(r"^#\s*(Chapter\s*[\d.]+|Appendix\s*[A-Z]-\d+):\s*", "", first.splitlines()[0]).strip()
    section = book_section(first)
    rel = path.relative_to(ROOT).as_posix()

    def t(mode: str) -> str:
        row = results.get(mode, {}).get(rel)
        return f"{row['median_s']:.0f}" if row else "n/a"

    return f"| [{path.name}]({rel}) | {title} | {section} | {t('smoke')} | {t('lite')} |"


def render(results: dict) -> str:
    """The whole table, one row per notebook, chapters in order."""
    lines = ["| Notebook | Topic | Book section | smoke s | lite s |", "|---|---|---|---|---|"]
    for path in find_notebooks():
        lines.append(notebook_row(path, results))
    return "\n".join(lines)


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"README.md lacks the {START} / {END} markers")
        return 1
    res_file = ROOT / "benchmarks" / "results.json"
    results = json.loads(res_file.read_text()) if res_file.exists() else {}
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    readme.write_text(f"{head}{START}\n{render(results)}\n{END}{tail}", encoding="utf-8")
    print("README chapter map updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
