"""Build the book as a static website, with every output, to read without running: `make site`.

    python tools/build_site.py                                  # lite runs, every notebook -> build/site/index.html
    python tools/build_site.py --mode smoke                     # quick: smoke runs (tiny data; `make site MODE=smoke`)
    python tools/build_site.py --mode smoke notebooks/01_sklearn   # some notebooks only (`make site NB=...`)

Three steps:

1. *Execute.* Every notebook is run by ``tools/execute.py --out`` (two at a time, ``--jobs``) into
   ``build/`` (lite, the copies `make book` writes) or ``build/<mode>/`` (smoke, full); the runner records
   mode, device, date and seconds in the copy's ``metadata["book"]``. A copy newer than its notebook and run in the requested mode is reused;
   delete ``build/`` to force new runs. Executed copies live in ``build/`` only and are never committed.
2. *Render.* One page per notebook, ``build/site/<chapter folder>/<notebook>.html``, with nbconvert's
   HTML exporter (JupyterLab look) extended by the small template below: a bar with the chapter and
   previous/next links, the run's mode, device and date, the Colab badge and a "run it yourself" line.
   Figures are PNGs embedded in the page (data URIs); widgets appear in the static state that headless
   runs give them (a figure and a one-line note, see ``book_utils.interactive``).
3. *Index and link check.* ``build/site/index.html`` holds the chapter map (lite times and checked values
   from ``benchmarks/results.json``); then every internal link and image of every page must resolve to a
   file, or the build fails.

Why nbconvert's HTML exporter: it is Jupyter's own converter (maintained with nbformat and JupyterLab),
already installed with the book's Jupyter stack (no new dependency), and it builds offline: its templates
and CSS ship in the wheel (verified with the network cut, see README "Read the book as a website").
mkdocs-jupyter and nbsphinx render through nbconvert too but add a site generator (and nbsphinx needs
pandoc); Jupyter Book 2 (mystmd) downloads its theme at build time and needs Node.js. The pages here load
nothing from the network to show text and figures: CSS and the badge are local files, require.js and
mermaid are left out, and MathJax (from a CDN, only on pages with formulas) is loaded last, so offline a
formula stays readable TeX source.
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path, PurePosixPath

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chapter_map import book_section  # noqa: E402
from nbtool import REPO, ROOT, colab_badge, find_notebooks  # noqa: E402

MODES = ("smoke", "lite", "full")
MARKER = ".book-site"  # marks a folder this tool made, so a rebuild may empty it
GITHUB = f"https://github.com/{REPO}/blob/main/"
COLAB_SVG = "https://colab.research.google.com/assets/colab-badge.svg"


# --------------------------------------------------------------------------------------- executed copies
def executed_dir(build: Path, mode: str) -> Path:
    """Where ``tools/execute.py --out`` puts executed copies: ``build/`` for lite (`make book`'s copies),
    ``build/<mode>/`` for the other modes, so a quick smoke site never overwrites the lite copies."""
    return build if mode == "lite" else build / mode


def executed_path(notebook: Path, build: Path, mode: str) -> Path:
    """The executed copy of one of the book's notebooks, e.g. ``build/smoke/01_sklearn/01-1_x.ipynb``."""
    return executed_dir(build, mode) / notebook.resolve().relative_to(ROOT / "notebooks")


def run_info(nb: nbformat.NotebookNode) -> dict:
    """The run recorded in an executed copy (mode, device, date, seconds), or ``{}``."""
    return dict(nb.metadata.get("book", {}))


def reusable(notebook: Path, copy: Path, mode: str) -> bool:
    """True if ``copy`` exists, is newer than ``notebook`` and was executed in ``mode``."""
    if not copy.is_file() or copy.stat().st_mtime <= notebook.stat().st_mtime:
        return False
    try:
        return run_info(nbformat.read(copy, as_version=4)).get("mode") == mode
    except Exception:  # a half-written or foreign file: run again
        return False


def split_work(notebooks: list[Path], jobs: int, seconds: dict[Path, float]) -> list[list[Path]]:
    """Share notebooks among ``jobs`` runners so they finish together: longest first, each to the runner
    with the least work so far (``seconds``: expected time per notebook; unknown ones count 30 s)."""
    groups: list[list[Path]] = [[] for _ in range(max(1, min(jobs, len(notebooks))))]
    load = [0.0] * len(groups)
    for nb in sorted(notebooks, key=lambda p: -seconds.get(p, 30.0)):
        i = load.index(min(load))
        groups[i].append(nb)
        load[i] += seconds.get(nb, 30.0)
    return [sorted(g) for g in groups if g]


def execute(notebooks: list[Path], build: Path, mode: str, jobs: int, seconds: dict[Path, float]) -> list[Path]:
    """Run the notebooks that have no reusable copy, ``jobs`` at a time (one ``tools/execute.py --out``
    process each, one BLAS thread per kernel when several run); return the ones that failed."""
    todo = [nb for nb in notebooks if not reusable(nb, executed_path(nb, build, mode), mode)]
    print(f"site: {len(notebooks) - len(todo)} executed copies reused, {len(todo)} to run in {mode} mode"
          + (f", {jobs} at a time" if len(todo) > 1 and jobs > 1 else ""), flush=True)
    groups = split_work(todo, jobs, seconds)
    env = dict(os.environ)
    if len(groups) > 1:
        env.setdefault("OMP_NUM_THREADS", "1")
    runner = Path(__file__).resolve().parent / "execute.py"
    out = str(executed_dir(build, mode))
    procs = [subprocess.Popen([sys.executable, str(runner), "--mode", mode, "--out", out, *map(str, g)], env=env)
             for g in groups]
    try:
        for proc in procs:
            proc.wait()
    finally:  # on an error or Ctrl-C here, stop the runners as Ctrl-C would (each then stops its kernel)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return [nb for nb in todo if not reusable(nb, executed_path(nb, build, mode), mode)]


# -------------------------------------------------------------------------------------- names and labels
def page_name(notebook: Path) -> str:
    """The page of a notebook, relative to the site root: ``01_sklearn/01-1_x.html``."""
    return notebook.resolve().relative_to(ROOT / "notebooks").with_suffix(".html").as_posix()


def chapter_label(folder: str) -> str:
    """``01_sklearn`` -> ``Chapter 1``; ``appendix`` -> ``Appendix``; anything else unchanged."""
    m = re.match(r"(\d+)_", folder)
    return f"Chapter {int(m.group(1))}" if m else folder.replace("_", " ").capitalize()


def chapter_topics(readme: str) -> dict[str, str]:
    """Folder -> topics, from the README's chapter table rows such as "| 1 | `01_sklearn` | datasets, ... |"."""
    rows = re.findall(r"^\|\s*[\w ]+\s*\|\s*`([\w-]+)`\s*\|\s*(.+?)\s*\|\s*$", readme, re.MULTILINE)
    return dict(rows)


def notebook_title(nb: nbformat.NotebookNode) -> str:
    """The notebook's first heading without the ``#``: "Chapter 1.1: Datasets and a first classifier"."""
    first = nb.cells[0].source.splitlines()[0] if nb.cells and nb.cells[0].source else ""
    return first.lstrip("#").strip() or "Untitled"


def colab_url(notebook: Path) -> str:
    """The notebook's "Open in Colab" address (the one its badge in the notebook uses)."""
    return re.search(r"\]\((https://colab[^)]+)\)$", colab_badge(notebook)).group(1)


def format_checks(checks: list[dict], limit: int = 3) -> str:
    """Checked values as short text: ``acc = 0.973 (≥ 0.97); ...``, at most ``limit`` of them, asserted first."""
    shown = sorted(checks, key=lambda c: c.get("threshold") is None)[:limit]
    parts = []
    for c in shown:
        text = f"{c['name']} = {c['value']:.3g}"
        if c.get("threshold") is not None:
            text += f" ({'≥' if c.get('higher_is_better', True) else '≤'} {c['threshold']:.3g})"
        parts.append(text)
    more = len(checks) - len(shown)
    return "; ".join(parts) + (f"; +{more} more" if more > 0 else "")


def run_line(info: dict) -> str:
    """"lite mode · 2 cpu · 2026-12-02 · 42 s", or a warning when the notebook was not executed."""
    if not info:
        return "not executed: the run failed, so this page shows the notebook without outputs"
    return f"{info['mode']} mode · {info['device']} · {info['date']} · {info['seconds']:.0f} s"


# ------------------------------------------------------------------------------------------------- links
_URL_ATTR = re.compile(r'(\s(?:href|src)=")([^"]*)(")')


def is_internal(url: str) -> bool:
    """A relative address inside the site (not ``http:``, ``data:``, ``mailto:``, nor a bare ``#anchor``)."""
    return bool(url) and not re.match(r"^[a-zA-Z][\w+.-]*:|^//|^#", url)


def rewrite_links(page_html: str, page: str, files: set[str], source_dir: str) -> str:
    """Make a rendered notebook's addresses work on the site.

    ``page`` is this page's site path, ``files`` every file on the site (pages, index, assets),
    ``source_dir`` the notebook's folder in the repository (e.g. ``notebooks/01_sklearn``). A link to a
    notebook on the site points to its page, one to a site file stays; any other relative link (a
    repository file, a notebook left out with ``NB=``) points to GitHub. The Colab badge image is the
    local copy.
    """
    page_dir = PurePosixPath(page).parent

    def fix(m: re.Match) -> str:
        url = html.unescape(m.group(2))
        if url == COLAB_SVG:
            url = _relative("assets/colab-badge.svg", page_dir)
        elif is_internal(url):
            path, sep, frag = url.partition("#")
            if path:
                in_repo = os.path.normpath(f"{source_dir}/{path}").replace(os.sep, "/")
                in_site = os.path.normpath(f"{page_dir}/{path}").replace(os.sep, "/")
                if path.endswith(".ipynb") and in_site[:-6] + ".html" in files:
                    url = path[:-6] + ".html" + sep + frag
                elif in_site not in files and not in_repo.startswith("../"):
                    url = GITHUB + in_repo + sep + frag
        return m.group(1) + html.escape(url) + m.group(3)

    return _URL_ATTR.sub(fix, page_html)


def _relative(target: str, page_dir: PurePosixPath) -> str:
    return os.path.relpath(target, page_dir.as_posix() or ".").replace(os.sep, "/")


def broken_links(site: Path) -> list[str]:
    """Every ``href``/``src`` in the site's pages that is relative and names no file: ``page: address``."""
    broken = []
    for page in sorted(site.rglob("*.html")):
        for m in _URL_ATTR.finditer(page.read_text(encoding="utf-8")):
            url = html.unescape(m.group(2))
            path = url.split("#", 1)[0].split("?", 1)[0]
            if is_internal(url) and path and not (page.parent / path).is_file():
                broken.append(f"{page.relative_to(site).as_posix()}: {url}")
    return broken


# ------------------------------------------------------------------------------------------------- pages
PAGE_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{% from 'mathjax.html.j2' import mathjax %}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{% block notebook_css %}
<link rel="stylesheet" href="{{ resources.site.root }}assets/notebook.css">
<link rel="stylesheet" href="{{ resources.site.root }}assets/site.css">
{% endblock notebook_css %}
{% macro nav(s) -%}
<nav class="site-nav">
  {% if s.prev %}<a href="{{ s.prev.href }}" rel="prev">&larr; {{ s.prev.title }}</a>{% else %}<span></span>{% endif %}
  <a href="{{ s.root }}index.html">Contents</a>
  {% if s.next %}<a href="{{ s.next.href }}" rel="next">{{ s.next.title }} &rarr;</a>{% else %}<span></span>{% endif %}
</nav>
{%- endmacro %}
{%- block body_header -%}
{{ super() }}
{% set s = resources.site %}
<header class="site-header">
  <p class="site-crumb"><a href="{{ s.root }}index.html">{{ s.book }}</a> &rsaquo; {{ s.chapter }}</p>
  {{ nav(s) }}
  <p class="site-run{{ ' site-failed' if not s.info }}">Executed: <strong>{{ s.run }}</strong>.
    {% if s.info and s.info.mode == 'smoke' %}Smoke runs use tiny data: the numbers prove the code runs,
    not the lesson (<code>make site</code> builds the lite edition).{% endif %}</p>
  <p class="site-yourself"><a href="{{ s.colab }}"><img src="{{ s.root }}assets/colab-badge.svg"
    alt="Open In Colab" width="117" height="20"></a> Run it yourself: <code>make lab</code> and open
    <code>{{ s.source }}</code>, or run it headless with
    <code>python tools/execute.py --mode lite {{ s.source }}</code>.</p>
</header>
{%- endblock body_header -%}
{% block body_footer %}
<footer class="site-footer">{{ nav(resources.site) }}</footer>
{{ super() }}
{% endblock body_footer %}
{% block footer_js %}
{% if resources.site.math %}{{ mathjax(resources.mathjax_url) }}{% endif %}
{% endblock footer_js %}
"""

SITE_CSS = """\
body { max-width: 1100px; margin: 0 auto; padding: 0 1rem; }
a.anchor-link { display: none; }
.jp-InputArea, .jp-InputArea-editor { overflow: hidden; }
.jp-OutputArea-output pre { line-height: inherit; font-family: inherit; }
.jp-Collapser { display: none; }
.site-header, .site-footer, .site-index { font-family: system-ui, sans-serif; font-size: 15px; }
.site-header { border-bottom: 1px solid #ddd; padding: .5rem 0 .75rem; margin-bottom: 1rem; }
.site-footer { border-top: 1px solid #ddd; padding: .75rem 0 2rem; margin-top: 2rem; }
.site-nav { display: flex; justify-content: space-between; gap: 1rem; }
.site-run { background: #f3f6fa; padding: .4rem .6rem; border-left: 4px solid #4a7ab5; }
.site-failed { background: #fdf0f0; border-left-color: #b54a4a; }
.site-yourself img { vertical-align: middle; }
.site-index table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
.site-index th, .site-index td { border-bottom: 1px solid #e3e3e3; padding: .35rem .5rem; text-align: left;
  vertical-align: top; }
.site-index td.num { text-align: right; white-space: nowrap; }
.site-index .checks { font-size: 13px; color: #444; }
"""

# A local "Open in Colab" badge: pages must not need the network to look whole.
COLAB_BADGE = """\
<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20" role="img" aria-label="Open in Colab">
<rect width="117" height="20" rx="3" fill="#555"/><rect x="57" width="60" height="20" rx="3" fill="#f9ab00"/>
<rect x="57" width="6" height="20" fill="#f9ab00"/>
<g font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" lengthAdjust="spacingAndGlyphs">
<text x="6" y="14" fill="#fff" textLength="45">Open in</text>
<text x="68" y="14" fill="#222" textLength="36">Colab</text></g></svg>
"""

INDEX_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{book}</title><link rel="stylesheet" href="assets/site.css"></head>
<body><main class="site-index">
<h1>{book}</h1>
<p>Every notebook of the book, executed, with all its outputs: read it here, run it yourself with
<code>make lab</code> (or the Colab badge on each page). {edition}</p>
{chapters}
<p>Built by <code>make site</code> (tools/build_site.py) with nbconvert. "lite s" and "checked values" are the
lite-mode medians and values in <code>benchmarks/results.json</code> (<code>make lessons</code>, <code>make
bench</code>); "this run" is the run whose outputs the page shows.</p>
</main></body></html>
"""


def _needs_math(nb: nbformat.NotebookNode) -> bool:
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return bool(re.search(r"\$[^$\n]+\$|\\\(|\\\[", text))


def make_exporter():
    """nbconvert's HTML exporter, lab template, extended by :data:`PAGE_TEMPLATE`."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", template_file="site.html.j2", embed_images=True,
                        extra_loaders=[DictLoader({"site.html.j2": PAGE_TEMPLATE})])


@functools.cache
def _process_exporter():
    return make_exporter()


def render_page(nb: nbformat.NotebookNode, site: dict, page: str, files: set[str], source_dir: str) -> str:
    """One notebook page's HTML, its links rewritten (run in a worker process by :func:`build_site`)."""
    body, _ = _process_exporter().from_notebook_node(nb, resources={"site": site})
    return rewrite_links(body, page, files, source_dir)


def write_assets(site: Path) -> None:
    """The CSS (JupyterLab's, from nbconvert's lab template, written once) and the local Colab badge."""
    from jupyter_core.paths import jupyter_path

    assets = site / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    css = []
    for name in ("index.css", "theme-light.css"):
        found = [Path(d) / name for d in jupyter_path("nbconvert", "templates", "lab", "static")]
        css.append(next(p for p in found if p.is_file()).read_text(encoding="utf-8"))
    (assets / "notebook.css").write_text("\n".join(css), encoding="utf-8")
    (assets / "site.css").write_text(SITE_CSS, encoding="utf-8")
    (assets / "colab-badge.svg").write_text(COLAB_BADGE, encoding="utf-8")


def render_index(entries: list[dict], results: dict, readme: str, mode: str) -> str:
    """The landing page: one section per chapter, one row per notebook."""
    topics = chapter_topics(readme)
    lite = results.get("lite", {})
    sections, by_folder = [], {}
    for e in entries:
        by_folder.setdefault(e["folder"], []).append(e)
    for folder, items in by_folder.items():
        rows = []
        for e in items:
            row = lite.get(e["source"], {})
            lite_s = f"{row['median_s']:.0f}" if row else "n/a"
            this_run = run_line(e["info"]) if e["info"] else "not executed"
            rows.append(
                f"<tr><td><a href=\"{e['page']}\">{html.escape(e['title'])}</a></td>"
                f"<td>{html.escape(e['section'])}</td><td class=\"num\">{lite_s}</td>"
                f"<td class=\"checks\">{html.escape(format_checks(row.get('checks', [])) or '-')}</td>"
                f"<td class=\"checks\">{html.escape(this_run)}</td></tr>")
        topic = f": {html.escape(topics[folder])}" if folder in topics else ""
        sections.append(
            f"<section id=\"{folder}\"><h2>{chapter_label(folder)}{topic}</h2>\n<table><tr><th>Notebook</th>"
            "<th>Book section</th><th>lite s</th><th>checked values (lite)</th><th>this run</th></tr>\n"
            + "\n".join(rows) + "</table></section>")
    edition = {"lite": "This edition shows lite-mode runs: every lesson visibly true, on a laptop CPU.",
               "smoke": "This edition shows smoke-mode runs (tiny data): it proves every notebook runs; "
                        "<code>make site</code> builds the lite edition, whose numbers show the lessons.",
               "full": "This edition shows full-mode runs: the book's schedules, on a GPU."}[mode]
    return INDEX_TEMPLATE.format(book=html.escape(BOOK_TITLE), edition=edition, chapters="\n".join(sections))


BOOK_TITLE = "Deep learning for computer vision with scikit-learn and PyTorch"


def build_site(targets: list[Path] | None, mode: str, build: Path, out: Path, jobs: int = 1) -> int:
    """Execute (or reuse, ``jobs`` at a time) and render the notebooks in ``targets`` into ``out``;
    return the exit status."""
    notebooks = find_notebooks(targets)
    if not notebooks:
        raise SystemExit("site: no notebooks found")
    if out.exists() and not (out / MARKER).exists() and any(out.iterdir()):
        raise SystemExit(f"site: {out} exists and was not made by this tool; pick another --out")
    res_file = ROOT / "benchmarks" / "results.json"
    results = json.loads(res_file.read_text()) if res_file.exists() else {}
    timed = results.get(mode, {})
    seconds = {p: timed[k]["median_s"] for p in notebooks if (k := p.resolve().relative_to(ROOT).as_posix()) in timed}
    start = time.perf_counter()
    failed = execute(notebooks, build, mode, jobs, seconds)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / MARKER).write_text("made by tools/build_site.py; emptied on every build\n")
    write_assets(out)

    entries = []
    for path in notebooks:
        copy = executed_path(path, build, mode)
        nb = nbformat.read(copy if path not in failed else path, as_version=4)
        source = path.resolve().relative_to(ROOT).as_posix()
        entries.append({"path": path, "nb": nb, "page": page_name(path), "source": source,
                        "folder": path.parent.name, "title": notebook_title(nb),
                        "section": book_section(nb.cells[0].source) if nb.cells else "",
                        "info": {} if path in failed else run_info(nb)})
    files = {e["page"] for e in entries} | {"index.html"}
    files |= {p.relative_to(out).as_posix() for p in (out / "assets").iterdir()}
    jobs_args = []
    for i, e in enumerate(entries):
        page_dir = PurePosixPath(e["page"]).parent
        near = {k: entries[j] for k, j in (("prev", i - 1), ("next", i + 1)) if 0 <= j < len(entries)}
        site = {"root": _relative(".", page_dir) + "/", "book": BOOK_TITLE, "chapter": chapter_label(e["folder"]),
                "info": e["info"], "run": run_line(e["info"]), "colab": colab_url(e["path"]),
                "source": e["source"], "math": _needs_math(e["nb"]),
                **{k: {"href": _relative(v["page"], page_dir), "title": v["title"]} for k, v in near.items()}}
        e["nb"].metadata["title"] = e["title"]
        jobs_args.append((e["nb"], site, e["page"], files, PurePosixPath(e["source"]).parent.as_posix()))
    # Rendering (syntax highlighting, embedding figures) is CPU work: spread it over the same `jobs` processes.
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        pages = list(pool.map(render_page, *zip(*jobs_args)))
    for e, page_html in zip(entries, pages):
        target = out / e["page"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page_html, encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (out / "index.html").write_text(render_index(entries, results, readme, mode), encoding="utf-8")

    broken = broken_links(out)
    for item in broken:
        print(f"site: broken link {item}")
    print(f"site: {len(entries)} pages in {out}/index.html ({mode} mode) in {time.perf_counter() - start:.0f} s"
          + (f"; {len(failed)} notebook(s) failed to run: " + ", ".join(map(str, failed)) if failed else ""))
    return 1 if failed or broken else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", type=Path, help="notebooks or folders (default: every notebook)")
    ap.add_argument("--mode", choices=MODES, default="lite")
    ap.add_argument("--build", type=Path, default=ROOT / "build", help="where executed copies go")
    ap.add_argument("--out", type=Path, help="the site folder (default: <build>/site)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="notebooks run at once (default: 2, or 1 on a 1-core machine)")
    args = ap.parse_args(argv)
    return build_site(args.targets or None, args.mode, args.build, args.out or args.build / "site", args.jobs)


if __name__ == "__main__":
    sys.exit(main())
