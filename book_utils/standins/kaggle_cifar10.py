"""The Kaggle CIFAR-10 stand-in: images of the CIFAR-10 stand-in written as the competition's raw files.

Notebook 04-7 (the raw-file workflow of d2l §13.13) needs the layout of Kaggle's "CIFAR-10 - Object
Recognition in Images" competition, which :func:`write_kaggle_cifar10` writes::

    train/1.png ... train/N.png     32×32 RGB PNGs
    trainLabels.csv                 id,label    (label: a class name such as "frog")
    test/1.png ... test/M.png       32×32 RGB PNGs, unlabelled
    sampleSubmission.csv            id,label    (every label "cat", as in the competition's file)

The images and labels are those of :func:`book_utils.standins.cifar10.render_cifar10` for the same sizes and
seed (train image ``k`` is row ``k - 1`` of the "train" split, test image ``k`` row ``k - 1`` of the "test"
split). Kaggle keeps the test labels secret; :func:`answer_key` gives the stand-in's, so a notebook can score
its submission the way the leaderboard would.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from book_utils._validate import require_int
from book_utils.standins.cifar10 import CIFAR10_CLASSES, render_cifar10, split_labels

VERSION = 1
N_TRAIN, N_TEST = 2_000, 300  # like d2l's tiny demo set (the competition has 50,000 and 300,000)
LABELS_CSV, SAMPLE_CSV = "trainLabels.csv", "sampleSubmission.csv"
HEADER = ("id", "label")
SAMPLE_LABEL = "cat"  # the competition's sampleSubmission.csv says "cat" on every row


def write_pngs(folder: Path, images: np.ndarray) -> None:
    """Write ``images`` (uint8 N×H×W×3) as ``folder/1.png`` ... ``folder/N.png`` (ids start at 1, like Kaggle's)."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, img in enumerate(images, start=1):
        Image.fromarray(img).save(folder / f"{k}.png", optimize=False)


def write_csv(path: Path, rows: list[tuple[int, str]]) -> None:
    """Write ``id,label`` rows with the header line, in the competition's plain CSV format."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)


def answer_key(n_test: int = N_TEST, seed: int = 0) -> list[str]:
    """The hidden class name of stand-in test image ``k`` at index ``k - 1`` (Kaggle's secret labels)."""
    labels = split_labels(require_int("n_test", n_test, 1), require_int("seed", seed, 0), 1)
    return [CIFAR10_CLASSES[int(k)] for k in labels]


def write_kaggle_cifar10(dest: Path | str, n_train: int = N_TRAIN, n_test: int = N_TEST, seed: int = 0) -> dict:
    """Write the competition layout (module docstring) into ``dest``; returns ``{"train", "test"}`` counts."""
    n_train, n_test = require_int("n_train", n_train, 10), require_int("n_test", n_test, 1)
    seed = require_int("seed", seed, 0)
    dest = Path(dest)
    train_img, train_lab, _ = render_cifar10(n_train, seed, "train")
    test_img, _, _ = render_cifar10(n_test, seed, "test")
    write_pngs(dest / "train", train_img)
    write_pngs(dest / "test", test_img)
    write_csv(dest / LABELS_CSV, [(k, CIFAR10_CLASSES[int(y)]) for k, y in enumerate(train_lab, start=1)])
    write_csv(dest / SAMPLE_CSV, [(k, SAMPLE_LABEL) for k in range(1, n_test + 1)])
    return {"train": n_train, "test": n_test}
