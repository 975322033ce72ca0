"""Execute notebooks in a chosen mode: time them, collect their ``cfg.check`` values, optionally save outputs.

    python tools/execute.py --mode lite notebooks/01_sklearn/01-1_datasets_and_classification.ipynb
    python tools/execute.py --mode smoke --inplace notebooks/03_pytorch          # refresh kept outputs
    python tools/execute.py --mode lite --out build notebooks                    # `make book`, `make site`
    python tools/execute.py --mode smoke --repeat 3 --results benchmarks/results.json notebooks  # `make bench`

``--out`` copies record their run in ``metadata["book"]`` (mode, device, date, seconds).
``--inplace`` writes the executed notebook back and strips every output except the cells tagged
``nbval-check-output`` (the committed form). ``--results`` merges per-notebook medians into a JSON file and
regenerates ``benchmarks/RESULTS.md`` beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from queue import Empty

import nbformat
from nbclient import NotebookClient
from nbclient.util import ensure_async

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtool import ROOT, find_notebooks, strip_outputs, write_notebook  # noqa: E402


class PollingClient(NotebookClient):
    """NotebookClient that polls the shell channel every 0.1 s instead of once per cell timeout.

    Works around nbclient issue #312: after a cell that displays an ipywidget, the execute reply is
    sometimes not noticed until the whole cell timeout has passed.
    """

    async def async_start_new_kernel_client(self):  # noqa: D102
        kc = await super().async_start_new_kernel_client()
        blocking_get = kc.shell_channel.get_msg

        async def get_msg(timeout: float | None = None, **kwargs):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                step = 0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic()))
                try:
                    return await ensure_async(blocking_get(timeout=step, **kwargs))
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        kc.shell_channel.get_msg = get_msg
        return kc


def run_one(path: Path, mode: str, timeout: int) -> tuple[nbformat.NotebookNode, float, list[dict]]:
    """Execute one notebook in its own folder; return the executed notebook, wall seconds and checks."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl", delete=False) as fh:
        results = Path(fh.name)
    env_before = {k: os.environ.get(k) for k in ("BOOK_MODE", "BOOK_RESULTS")}
    os.environ["BOOK_MODE"] = mode
    os.environ["BOOK_RESULTS"] = str(results)
    client = PollingClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        elapsed = time.perf_counter() - start
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        checks = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
        results.unlink(missing_ok=True)
    return nb, elapsed, checks


def merge_results(results_file: Path, mode: str, rows: dict[str, dict]) -> None:
    """Merge this run's rows into the JSON results file and rewrite the Markdown table beside it."""
    data = json.loads(results_file.read_text()) if results_file.exists() else {}
    data.setdefault(mode, {}).update(rows)
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    lines = ["# Benchmark results", "",
             "Written by `tools/execute.py --results` (`make bench`). Times are medians of the runs, in "
             "seconds, on the machine named in each row.", ""]
    for m in sorted(k for k in data if k in ("smoke", "lite", "full")):
        lines += [f"## {m} mode", "", "| notebook | median s | runs | checked values | machine | date |",
                  "|---|---|---|---|---|---|"]
        for nb_name, row in sorted(data[m].items()):
            checks = "; ".join(f"{c['name']} = {c['value']:.4g}" for c in row["checks"]) or "-"
            lines.append(f"| {nb_name} | {row['median_s']:.1f} | {len(row['times_s'])} | {checks} | "
                         f"{row['machine']} | {row['date']} |")
        total = sum(r["median_s"] for r in data[m].values())
        lines += ["", f"Sum of medians: {total:.0f} s for {len(data[m])} notebooks.", ""]
    if data.get("notes"):  # other measurements, written by hand into results.json: {"notes": ["...", ...]}
        lines += ["## Other measurements", ""] + [f"- {note}" for note in data["notes"]] + [""]
    results_file.with_name("RESULTS.md").write_text("\n".join(lines))


def relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when it lies inside it, else just its file name (a notebook elsewhere)."""
    resolved = path.resolve()
    return resolved.relative_to(base).as_posix() if base in resolved.parents else path.name


def machine() -> str:
    """A short description of this machine, e.g. '2 cpu' or '1 NVIDIA H100'."""
    try:
        import torch

        if torch.cuda.is_available():
            return f"{torch.cuda.device_count()}x {torch.cuda.get_device_name(0)}"
    except ImportError:  # pragma: no cover
        pass
    return f"{os.cpu_count()} cpu"


def run_metadata(mode: str, seconds: float) -> dict:
    """What an executed copy records about its run (``metadata["book"]``; `make site` shows it on each page)."""
    return {"mode": mode, "device": machine(), "date": date.today().isoformat(), "seconds": round(seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="+", type=Path)
    ap.add_argument("--mode", choices=("smoke", "lite", "full"), required=True)
    ap.add_argument("--inplace", action="store_true", help="write back, keeping only tagged outputs")
    ap.add_argument("--out", type=Path, help="save executed notebooks (all outputs) under this folder")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--results", type=Path, help="merge timings and checks into this JSON file")
    ap.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    args = ap.parse_args(argv)

    failures, rows = [], {}
    paths = find_notebooks(args.targets)
    if not paths:
        raise SystemExit(f"no notebooks found in {', '.join(map(str, args.targets))}")
    for path in paths:
        times, checks, nb = [], [], None
        for _ in range(args.repeat):
            try:
                nb, elapsed, checks = run_one(path, args.mode, args.timeout)
            except Exception as exc:  # report and go on with the next notebook
                print(f"FAIL {path}: {type(exc).__name__}: {str(exc)[-2000:]}", flush=True)
                failures.append(path)
                break
            times.append(elapsed)
        else:
            med = statistics.median(times)
            vals = ", ".join(f"{c['name']}={c['value']:.4g}" for c in checks)
            print(f"ok   {path}  {med:.1f}s (median of {len(times)})  {vals}", flush=True)
            rel = relative(path, ROOT)
            rows[rel] = {"median_s": round(med, 2), "times_s": [round(t, 2) for t in times], "checks": checks,
                         "machine": machine(), "date": date.today().isoformat()}
            if args.out:  # all outputs, before --inplace strips them (it also drops this metadata)
                nb.metadata["book"] = run_metadata(args.mode, med)
                dst = args.out / relative(path, ROOT / "notebooks")
                dst.parent.mkdir(parents=True, exist_ok=True)
                write_notebook(nb, dst)
            if args.inplace:
                strip_outputs(nb)
                write_notebook(nb, path)
    if args.results and rows:
        merge_results(args.results, args.mode, rows)
    if failures:
        print(f"{len(failures)} notebook(s) failed: " + ", ".join(map(str, failures)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
