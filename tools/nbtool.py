"""Write and edit the book's notebooks as plain "percent" scripts, and keep their header standard.

A percent script is a ``.py`` file whose cells start with ``# %%`` lines:

    # %% [markdown]
    # # Chapter 1.2 - Classification (book §1.3)
    # {colab_badge}
    # %% [setup]
    # %% tags=["nbval-check-output"]
    print(clf.score(x, y))

``{colab_badge}`` is replaced by the notebook's Colab badge and ``# %% [setup]`` by the standard setup
cell (the same in every notebook; a hygiene test enforces it). Usage:

    python tools/nbtool.py build notebooks/01_x/01-1_y.py     # -> notebooks/01_x/01-1_y.ipynb
    python tools/nbtool.py unbuild notebooks/01_x/01-1_y.ipynb # -> the .py script, to edit it again
    python tools/nbtool.py strip notebooks                     # drop outputs of untagged cells

Keep only the ``.ipynb`` in git: the script is a scratch copy for editing.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
KEEP_TAG = "nbval-check-output"
#: The only notebook-level metadata a committed notebook keeps.
NB_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def repository() -> str:
    """``owner/name`` of the book's GitHub repository, read from pyproject.toml's ``[project.urls]``
    ``Repository`` entry: the one place the Colab badge and the Colab install line take it from."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    m = re.search(r'^Repository\s*=\s*"https://github\.com/([^/"]+/[^/"]+?)(?:\.git)?/?"', text, re.MULTILINE)
    if m is None:
        raise SystemExit('pyproject.toml needs [project.urls] Repository = "https://github.com/<owner>/<name>"')
    return m.group(1)


REPO = repository()


def find_notebooks(targets: list[Path] | None = None) -> list[Path]:
    """The book's notebooks (sorted, checkpoints skipped): all under ``notebooks/``, or those in ``targets``
    (files or folders). The one place notebooks are discovered (tests, tools, the chapter map)."""
    found: list[Path] = []
    for t in [ROOT / "notebooks"] if targets is None else [Path(t) for t in targets]:
        items = [t] if t.suffix == ".ipynb" else sorted(t.rglob("*.ipynb"))
        found += [p for p in items if ".ipynb_checkpoints" not in p.parts]
    return found

SETUP_SOURCE = f"""\
# Setup: on Google Colab, install the book's helper package first; anywhere else this only imports it.
import subprocess
import sys

try:
    import google.colab  # noqa: F401

    IN_COLAB = True
except ImportError:
    IN_COLAB = False
if IN_COLAB:
    url = "git+https://github.com/{REPO}.git"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", url], capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise SystemExit(f"Could not install book_utils from {{url}} ({{why}}). Is the runtime online? "
                         "Check the URL in a browser, then run this cell again.")

import book_utils

cfg = book_utils.setup()"""


def colab_badge(nb_path: Path) -> str:
    """The markdown 'Open in Colab' badge for a notebook under ``notebooks/``."""
    parts = Path(nb_path).with_suffix(".ipynb").parts
    rel = "/".join(parts[parts.index("notebooks"):])
    url = f"https://colab.research.google.com/github/{REPO}/blob/main/{rel}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


_CELL = re.compile(r"^# %%(?P<rest>.*)$")


def _parse_header(rest: str) -> tuple[str, list[str]]:
    rest = rest.strip()
    kind = "code"
    tags: list[str] = []
    m = re.match(r"\[(\w+)\]", rest)
    if m:
        kind = m.group(1)
        rest = rest[m.end():].strip()
    m = re.search(r"tags=(\[.*\])", rest)
    if m:
        tags = list(ast.literal_eval(m.group(1)))
    return kind, tags


def script_to_notebook(text: str, nb_path: Path) -> nbformat.NotebookNode:
    """Convert a percent script to a notebook (badge and setup cell filled in)."""
    cells = []
    kind, tags, lines = None, [], []

    def flush() -> None:
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(re.sub(r"^# ?", "", ln) for ln in body.splitlines())
            body = body.replace("{colab_badge}", colab_badge(nb_path))
            cell = nbformat.v4.new_markdown_cell(body)
        elif kind == "setup":
            cell = nbformat.v4.new_code_cell(SETUP_SOURCE)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in text.splitlines():
        m = _CELL.match(line)
        if m:
            flush()
            kind, tags = _parse_header(m.group("rest"))
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells, metadata=nbformat.from_dict(NB_METADATA))
    for cell in nb.cells:  # stable ids keep diffs small
        cell.pop("id", None)
    nb.nbformat_minor = 4
    return nb


def notebook_to_script(nb: nbformat.NotebookNode) -> str:
    """Convert a notebook back to a percent script (the inverse of :func:`script_to_notebook`)."""
    out = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        suffix = f" tags={json.dumps(tags)}" if tags else ""
        if cell.cell_type == "markdown":
            out.append(f"# %% [markdown]{suffix}")
            out.extend(("# " + ln).rstrip() for ln in cell.source.splitlines())
        elif cell.source == SETUP_SOURCE:
            out.append("# %% [setup]")
        else:
            out.append(f"# %%{suffix}")
            out.append(cell.source)
        out.append("")
    return "\n".join(out)


def strip_outputs(nb: nbformat.NotebookNode) -> bool:
    """Keep outputs only in cells tagged ``nbval-check-output``; True if anything changed.

    Notebook metadata is reset to the kernel spec (no saved widget state, no version strings). Untagged
    cells lose outputs and execution counts. Tagged cells are numbered 1, 2, 3... (nbval refuses
    a reference cell with outputs but no execution count), so re-running a notebook leaves a clean diff.
    """
    changed, kept = False, 0
    clean = {"kernelspec": NB_METADATA["kernelspec"], "language_info": NB_METADATA["language_info"]}
    if dict(nb.metadata) != clean:  # saved widget state, kernel versions, editor settings: all volatile
        nb.metadata = nbformat.from_dict(clean)
        changed = True
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.get("metadata", {}).pop("execution", None) is not None:  # nbclient's timestamps
            changed = True
        keep = KEEP_TAG in cell.get("metadata", {}).get("tags", [])
        kept += keep
        count = kept if keep else None
        if cell.get("execution_count") != count:
            cell.execution_count = count
            changed = True
        if not keep and cell.get("outputs"):
            cell.outputs = []
            changed = True
        for out in cell.get("outputs", []):
            if "execution_count" in out and out["execution_count"] != count:
                out["execution_count"] = count
                changed = True
    return changed


def carry_outputs(old: nbformat.NotebookNode, new: nbformat.NotebookNode) -> None:
    """Copy kept outputs from ``old`` to the cells of ``new`` whose source is unchanged (used by build)."""
    saved = {c.source: c.outputs for c in old.cells if c.cell_type == "code" and c.get("outputs")}
    for cell in new.cells:
        if cell.cell_type == "code" and KEEP_TAG in cell.metadata.get("tags", []) and cell.source in saved:
            cell.outputs = saved[cell.source]


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write ``nb`` to ``path`` in nbformat 4."""
    with open(path, "w", encoding="utf-8") as fh:
        nbformat.write(nb, fh)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in {"build", "unbuild", "strip"}:
        print(__doc__)
        return 2
    cmd, targets = argv[0], [Path(a) for a in argv[1:]]
    if cmd == "build":
        for src in targets:
            dst = src.with_suffix(".ipynb")
            nb = script_to_notebook(src.read_text(encoding="utf-8"), dst)
            if dst.exists():
                carry_outputs(nbformat.read(dst, as_version=4), nb)
            strip_outputs(nb)
            write_notebook(nb, dst)
            print(f"wrote {dst}")
    elif cmd == "unbuild":
        for src in targets:
            dst = src.with_suffix(".py")
            dst.write_text(notebook_to_script(nbformat.read(src, as_version=4)), encoding="utf-8")
            print(f"wrote {dst}")
    else:
        for path in find_notebooks(targets):
            nb = nbformat.read(path, as_version=4)
            if strip_outputs(nb):
                write_notebook(nb, path)
                print(f"stripped {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
