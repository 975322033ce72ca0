"""The CIFAR-10 stand-in: procedurally drawn look-alikes of the ten classes, written in the real file layout.

:func:`render_cifar10` draws images, labels and object masks in memory; :func:`write_cifar10` writes the
real ``cifar-10-batches-py`` pickles (Python-2 style, see :mod:`book_utils.standins.formats`) plus
``masks.npz``. NumPy-only and seeded per chunk of :data:`CHUNK` images: the same NumPy version gives the
same bytes, whatever the number of worker processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from book_utils._validate import require_choice, require_int
from book_utils.standins.cifar10_scene import render_chunk
from book_utils.standins.formats import write_npz, write_py2_pickle

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# 3: the first version in this layout; 4: objects placed and scaled more freely (off-centre, sometimes smaller or
# partly cut by the border: the centre pixel lies on about a third of the objects instead of 82 %) and outlined
VERSION = 4
N_TRAIN = 50_000
N_TEST = 10_000
SPLITS = ("train", "test")
BATCH_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
FILES = (*BATCH_FILES, "test_batch", "batches.meta")
CHUNK = 2_000  # images drawn per vectorised chunk; each chunk has its own seed (the bytes depend on it)
Split = tuple[np.ndarray, np.ndarray, np.ndarray]  # uint8 images, int64 labels, bool masks
Job = tuple[int, int, int, int]  # split index, chunk index, first row, end row


def chunk_rng(seed: int, split: int, chunk: int) -> np.random.Generator:
    """The random generator of one chunk of one split (0 train, 1 test)."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(split, chunk)))


def split_labels(n: int, seed: int, split: int) -> np.ndarray:
    """``n`` balanced labels (each class ``n/10`` times, give or take one), shuffled: int64 (n,)."""
    return chunk_rng(seed, split, 10_000_000).permutation(np.arange(n) % 10)


def plan_jobs(sizes: list[int], chunk: int) -> list[Job]:
    """Every chunk of every split, in order: (split, chunk index, first row, end row)."""
    return [(split, ci, a, min(a + chunk, n)) for split, n in enumerate(sizes) for ci, a in enumerate(range(0, n, chunk))]


def default_workers() -> int:
    """Processes used by default: 2 on a machine with 2 or more cores, else 1."""
    return max(1, min(2, os.cpu_count() or 1))


def render_cifar10(n: int, seed: int = 0, split: str = "train") -> Split:
    """Draw a ``split`` ("train" or "test") of ``n`` images in memory: uint8 (n, 32, 32, 3), int64 labels (n,),
    bool masks (n, 32, 32); the same images :func:`write_cifar10` writes for that split size and seed."""
    n = require_int("n", n, 1)
    seed = require_int("seed", seed, 0)
    si = SPLITS.index(require_choice("split", split, SPLITS))
    labels = split_labels(n, seed, si)
    parts = [render_chunk(labels[a:b], chunk_rng(seed, si, ci)) for _, ci, a, b in plan_jobs([n], CHUNK)]
    return np.concatenate([p[0] for p in parts]), labels, np.concatenate([p[1] for p in parts])


def worker_main(seed: int, sizes: list[int], worker: int, workers: int, out: str, chunk: int) -> None:
    """Entry point of a helper process: draw every ``workers``-th chunk (from ``worker``) into ``out``."""
    labels = [split_labels(n, seed, split) for split, n in enumerate(sizes)]
    for split, ci, a, b in plan_jobs(sizes, chunk)[worker::workers]:
        img, mask = render_chunk(labels[split][a:b], chunk_rng(seed, split, ci))
        tmp = Path(out) / f".{split}_{ci}.npz"
        np.savez(tmp, img=img, mask=mask)
        os.replace(tmp, Path(out) / f"{split}_{ci}.npz")


def helper_command(seed: int, sizes: list[int], worker: int, workers: int, out: Path, chunk: int) -> list[str]:
    """The ``python -c`` command line of one helper; it imports :func:`worker_main` from this very module, with
    this package's root first on ``sys.path`` (so the helper runs this copy, whatever its working folder)."""
    root = str(Path(__file__).resolve().parents[__name__.count(".")])
    args = f"{int(seed)}, {[int(n) for n in sizes]}, {int(worker)}, {int(workers)}, {str(Path(out).resolve())!r}, {int(chunk)}"
    name = worker_main.__name__
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {root!r}); from {__name__} import {name}; {name}({args})"]


def _helper_failed(worker: int, workers: int, code: int, err: Path) -> RuntimeError:
    tail = err.read_text(errors="replace")[-3000:].strip() if err.is_file() else ""
    return RuntimeError(
        f"CIFAR-10 stand-in: helper process {worker} of {workers - 1} failed with exit code {code}. "
        f"Its stderr ends with:\n{tail or '(nothing)'}"
    )


def render_splits(sizes: list[int], seed: int, workers: int, scratch: Path) -> tuple[list[Split], dict]:
    """Render every split in ``sizes``, sharing the chunks between this process and ``workers - 1`` helpers.

    Helpers are plain ``python -c`` subprocesses (no multiprocessing), so scripts without a ``__main__``
    guard and notebooks work alike. A helper that fails raises ``RuntimeError`` with the end of its stderr.
    Returns the splits and ``{"chunks", "chunks_by_helpers", "workers"}``.
    """
    chunk = CHUNK
    jobs = plan_jobs(sizes, chunk)
    workers = max(1, min(workers, len(jobs)))
    labels = [split_labels(n, seed, split) for split, n in enumerate(sizes)]
    procs: list[tuple[int, subprocess.Popen, Path]] = []
    results: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    try:
        if workers > 1:
            scratch.mkdir(parents=True, exist_ok=True)
            for w in range(1, workers):
                err = scratch / f"helper{w}.stderr"
                with open(err, "wb") as fh:
                    cmd = helper_command(seed, sizes, w, workers, scratch, chunk)
                    procs.append((w, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=fh), err))
        for split, ci, a, b in jobs[0::workers]:
            results[split, ci] = render_chunk(labels[split][a:b], chunk_rng(seed, split, ci))
            for w, p, err in procs:  # stop early when a helper has already failed
                if p.poll():
                    raise _helper_failed(w, workers, p.returncode, err)
        for w, p, err in procs:
            if p.wait():
                raise _helper_failed(w, workers, p.returncode, err)
        by_helpers = 0
        for split, ci, _, _ in jobs:
            if (split, ci) not in results:
                path = scratch / f"{split}_{ci}.npz"
                if not path.is_file():
                    raise RuntimeError(f"CIFAR-10 stand-in: a helper exited normally but did not write {path}")
                with np.load(path) as z:
                    results[split, ci] = (z["img"], z["mask"])
                by_helpers += 1
    finally:
        for _, p, _ in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    out = []
    for split in range(len(sizes)):
        parts = [results[s, ci] for s, ci, _, _ in jobs if s == split]
        out.append((np.concatenate([p[0] for p in parts]), labels[split], np.concatenate([p[1] for p in parts])))
    return out, {"chunks": len(jobs), "chunks_by_helpers": by_helpers, "workers": workers}


def to_rows(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) HWC -> (N, 3072) rows: the R plane, then G, then B, each row-major."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), -1))


def write_cifar10(dest: Path | str, n_train: int = N_TRAIN, n_test: int = N_TEST, seed: int = 0,
                  workers: int | None = None) -> dict:
    """Write ``dest/cifar-10-batches-py`` (the real pickle layout, :data:`FILES`) and ``dest/masks.npz``.

    ``n_train`` is split over the five ``data_batch_*`` files like the real 50,000; ``workers`` processes
    draw (default :func:`default_workers`), without changing the bytes. Returns
    ``{"chunks", "chunks_by_helpers", "workers", "seconds"}``.
    """
    t0 = time.perf_counter()
    n_train = require_int("n_train", n_train, 5)
    n_test = require_int("n_test", n_test, 1)
    seed = require_int("seed", seed, 0)
    workers = default_workers() if workers is None else require_int("workers", workers, 1)
    dest = Path(dest)
    folder = dest / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    scratch = dest / ".parts"
    try:
        ((tr_img, tr_lab, tr_mask), (te_img, te_lab, te_mask)), stats = render_splits(
            [n_train, n_test], seed, workers, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    bounds = np.linspace(0, n_train, 6).astype(int)
    for b, fname in enumerate(BATCH_FILES):
        lo, hi = bounds[b], bounds[b + 1]
        write_py2_pickle(folder / fname, {
            b"batch_label": f"training batch {b + 1} of 5".encode(),
            b"labels": [int(x) for x in tr_lab[lo:hi]],
            b"data": to_rows(tr_img[lo:hi]),
            b"filenames": [f"standin_{CIFAR10_CLASSES[int(k)]}_s_{i:06d}.png".encode()
                           for i, k in zip(range(lo, hi), tr_lab[lo:hi])],
        })
    write_py2_pickle(folder / "test_batch", {
        b"batch_label": b"testing batch 1 of 1",
        b"labels": [int(x) for x in te_lab],
        b"data": to_rows(te_img),
        b"filenames": [f"standin_{CIFAR10_CLASSES[int(k)]}_t_{i:06d}.png".encode() for i, k in enumerate(te_lab)],
    })
    write_py2_pickle(folder / "batches.meta", {
        b"num_cases_per_batch": int(bounds[1] - bounds[0]),
        b"label_names": [c.encode() for c in CIFAR10_CLASSES],
        b"num_vis": 3072,
    })
    write_npz(dest / "masks.npz", {"train": tr_mask, "test": te_mask})
    return {**stats, "seconds": round(time.perf_counter() - t0, 2)}
