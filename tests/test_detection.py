"""book_utils.detection: collate functions and average precision on cases worked out by hand."""

from __future__ import annotations

import pytest
import torch

from book_utils.detection import as_lists, average_precision, coco_map, stack_images

A = [0.0, 0.0, 10.0, 10.0]
B = [20.0, 20.0, 30.0, 30.0]


def test_collates():
    batch = [(torch.zeros(3, 4, 4), {"boxes": torch.zeros(1, 4)}), (torch.ones(3, 4, 4), {"boxes": torch.zeros(3, 4)})]
    images, targets = stack_images(batch)
    assert images.shape == (2, 3, 4, 4) and [len(t["boxes"]) for t in targets] == [1, 3]
    images, targets = as_lists(batch)
    assert isinstance(images, list) and len(images) == 2 and targets[1]["boxes"].shape == (3, 4)


def test_perfect_detections_score_one():
    dets = [([A, B], [0.9, 0.8]), ([A], [0.7])]
    gts = [[A, B], [A]]
    assert average_precision(dets, gts) == pytest.approx(1.0)
    assert average_precision(dets, gts, method="coco") == pytest.approx(1.0)
    assert coco_map(dets, gts) == pytest.approx(1.0)


def test_a_confident_false_positive_halves_precision():
    dets = [([B, A], [0.9, 0.5])]  # the best-scored box is wrong
    assert average_precision(dets, [[A]]) == pytest.approx(0.5)
    assert average_precision(dets, [[A]], method="coco") == pytest.approx(0.5)


def test_a_missed_box_caps_recall():
    dets = [([A], [0.9])]
    assert average_precision(dets, [[A, B]]) == pytest.approx(0.5)
    assert average_precision(dets, [[A, B]], method="coco") == pytest.approx(51 / 101)


def test_duplicates_count_once_and_threshold_matters():
    shifted = [2.0, 0.0, 12.0, 10.0]  # IoU with A = 80 / 120 = 0.667
    assert average_precision([([shifted, A], [0.9, 0.8])], [[A]], iou_threshold=0.5) == pytest.approx(1.0)
    assert average_precision([([shifted, A], [0.9, 0.8])], [[A]], iou_threshold=0.7) == pytest.approx(0.5)
    assert average_precision([([A, A], [0.9, 0.8])], [[A]]) == pytest.approx(1.0)  # the duplicate is a FP after


def test_bad_input():
    with pytest.raises(ValueError, match="images"):
        average_precision([([A], [1.0])], [])
    with pytest.raises(ValueError, match="scores"):
        average_precision([([A, B], [1.0])], [[A]])
    with pytest.raises(ValueError, match="undefined"):
        average_precision([([A], [1.0])], [[]])
    with pytest.raises(ValueError, match="method"):
        average_precision([([A], [1.0])], [[A]], method="x")
    assert average_precision([([], [])], [[A]]) == 0.0
