"""Tests of book_utils.metrics: top-1 and top-k accuracy, and the captcha per-character/whole accuracies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from book_utils.metrics import CAPTCHA_CLASSES, accuracy, per_char_accuracy, topk_accuracy, whole_accuracy

LOGITS = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 2.0], [0.5, 0.2, 0.1]])
LABELS = torch.tensor([0, 2, 2, 1])  # argmax is [0, 1, 2, 0]: two right


def test_accuracy_class_indices():
    assert accuracy(LOGITS, LABELS) == pytest.approx(0.5)
    assert accuracy(LOGITS, torch.tensor([0, 1, 2, 0])) == 1.0
    assert isinstance(accuracy(LOGITS, LABELS), float)


def test_accuracy_one_hot_and_soft_targets():
    one_hot = torch.nn.functional.one_hot(LABELS, 3).float()
    assert accuracy(LOGITS, one_hot) == pytest.approx(0.5)
    soft = torch.tensor([[0.8, 0.1, 0.1], [0.1, 0.7, 0.2], [0.0, 0.0, 1.0], [0.6, 0.3, 0.1]])
    assert accuracy(LOGITS, soft) == 1.0


def test_accuracy_single_logit_is_binary():
    assert accuracy(torch.tensor([2.0, -1.0]), torch.tensor([1, 1])) == 0.5  # positive means class 1
    assert accuracy(torch.tensor([[2.0], [-1.0], [0.0]]), torch.tensor([1, 0, 0])) == 1.0  # N×1, 0 is class 0
    assert accuracy(torch.tensor([0.3, -0.3]), torch.tensor([1.0, 0.0])) == 1.0  # float labels


def test_accuracy_errors():
    with pytest.raises(ValueError, match="metric=None"):
        accuracy(LOGITS, torch.tensor([0, 1]))  # 4 predictions, 2 targets
    with pytest.raises(ValueError, match="N×C or N"):
        accuracy(torch.zeros(2, 3, 4), torch.zeros(2))


def test_topk_accuracy():
    assert topk_accuracy(LOGITS, LABELS, k=1) == accuracy(LOGITS, LABELS)
    # top-2 of each row: {0,1}, {1,2}, {2,0}, {0,1}: labels 0, 2, 2, 1 are all in
    assert topk_accuracy(LOGITS, LABELS, k=2) == 1.0
    assert topk_accuracy(LOGITS, torch.tensor([2, 0, 1, 2]), k=2) == 0.0
    assert topk_accuracy(LOGITS, torch.tensor([2, 0, 1, 2]), k=3) == 1.0  # k = C: always right
    scores = torch.randn(50, 10, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 10, (50,), generator=torch.Generator().manual_seed(1))
    accs = [topk_accuracy(scores, labels, k) for k in range(1, 11)]
    assert accs == sorted(accs) and accs[0] == accuracy(scores, labels) and accs[-1] == 1.0


@pytest.mark.parametrize("k", [0, 4, -1])
def test_topk_rejects_bad_k(k):
    with pytest.raises(ValueError, match="1 <= k <= C"):
        topk_accuracy(LOGITS, LABELS, k=k)


def test_topk_rejects_bad_shapes():
    with pytest.raises(ValueError, match="N×C"):
        topk_accuracy(torch.zeros(4), LABELS, k=1)
    with pytest.raises(ValueError, match="N class indices"):
        topk_accuracy(LOGITS, torch.nn.functional.one_hot(LABELS, 3), k=1)
    with pytest.raises(ValueError, match="N class indices"):
        topk_accuracy(LOGITS, LABELS[:3], k=1)


def one_hot_text(text: str) -> torch.Tensor:
    """The 4×36 one-hot target of a captcha text, flattened (written here so the metrics are tested alone)."""
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    target = torch.zeros(len(text), CAPTCHA_CLASSES)
    for pos, ch in enumerate(text):
        target[pos, chars.index(ch)] = 1.0
    return target.reshape(-1)


def test_per_char_and_whole_accuracy():
    targets = torch.stack([one_hot_text("abcd"), one_hot_text("0123")])
    outputs = targets.clone()
    assert per_char_accuracy(outputs, targets) == 1.0 and whole_accuracy(outputs, targets) == 1.0
    outputs[0] = one_hot_text("abcx")
    assert per_char_accuracy(outputs, targets) == pytest.approx(7 / 8)
    assert whole_accuracy(outputs, targets) == pytest.approx(0.5)
    outputs[1] = one_hot_text("3210")  # every character of the second one wrong
    assert per_char_accuracy(outputs, targets) == pytest.approx(3 / 8)
    assert whole_accuracy(outputs, targets) == 0.0


def test_captcha_accuracies_read_logits_by_argmax():
    targets = torch.stack([one_hot_text("z9a0")])
    logits = targets * 5 + torch.randn(1, 144, generator=torch.Generator().manual_seed(0)) * 0.1
    assert per_char_accuracy(logits, targets) == 1.0 and whole_accuracy(logits, targets) == 1.0


def test_captcha_accuracies_other_length():
    targets = torch.stack([one_hot_text("abcdef"), one_hot_text("012345")])
    outputs = torch.stack([one_hot_text("abcdef"), one_hot_text("012344")])
    assert per_char_accuracy(outputs, targets, length=6) == pytest.approx(11 / 12)
    assert whole_accuracy(outputs, targets, length=6) == pytest.approx(0.5)


@pytest.mark.parametrize("fn", [per_char_accuracy, whole_accuracy])
def test_captcha_accuracies_reject_bad_shapes(fn):
    targets = torch.stack([one_hot_text("abcd"), one_hot_text("0123")])
    with pytest.raises(ValueError, match="shape"):
        fn(targets[:, :100], targets[:, :100])
    with pytest.raises(ValueError, match="shape"):
        fn(targets, targets[:1])
    with pytest.raises(ValueError, match="shape"):
        fn(targets[0], targets[0])  # one sample must still be N×144


# ------------------------------------------------------------------------------------ segmentation (06-x)
def test_binary_iou_dice():
    from book_utils.metrics import binary_iou_dice

    a = torch.zeros(4, 4, dtype=torch.bool)
    b = a.clone()
    a[:2, :2] = True  # 4 pixels
    b[:2, :3] = True  # 6 pixels, 4 shared
    iou, dice = binary_iou_dice(a, b)
    assert iou == pytest.approx(4 / 6) and dice == pytest.approx(8 / 10)
    assert binary_iou_dice(torch.zeros(2, 2), torch.zeros(2, 2)) == (1.0, 1.0)
    with pytest.raises(ValueError, match="shapes"):
        binary_iou_dice(a, b[:3])


def test_confusion_matrix_and_scores_skip_void():
    from book_utils.metrics import confusion_matrix, segmentation_scores

    target = torch.tensor([[0, 0, 1, 255], [2, 2, 1, 255]])
    pred = torch.tensor([[0, 1, 1, 0], [2, 0, 1, 2]])
    cm = confusion_matrix(pred, target, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]] and cm.sum() == 6  # the two 255 pixels skipped
    scores = segmentation_scores(cm)
    assert scores["pixel_accuracy"] == pytest.approx(4 / 6)
    assert scores["iou"] == pytest.approx([1 / 3, 2 / 3, 1 / 2])
    assert scores["miou"] == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    with pytest.raises(ValueError, match="class indices"):
        confusion_matrix(torch.tensor([5]), torch.tensor([0]), 3)
    absent = segmentation_scores(confusion_matrix(torch.tensor([0, 0]), torch.tensor([0, 0]), 2))
    assert absent["iou"][0] == 1.0 and absent["miou"] == 1.0  # class 1 absent everywhere: NaN, ignored


def test_psnr_and_ssim():
    from book_utils.metrics import psnr, ssim

    rng = np.random.default_rng(0)
    ref = rng.random((32, 32))
    noisy = np.clip(ref + rng.normal(0, 0.3, ref.shape), 0, 1)
    assert psnr(noisy, ref) == pytest.approx(10 * np.log10(1 / np.mean((noisy - ref) ** 2)))
    assert ssim(ref, ref) == pytest.approx(1.0) and ssim(noisy, ref) < 0.9
    rgb = torch.rand(3, 16, 16)
    assert ssim(rgb, rgb) == pytest.approx(1.0) and psnr(rgb, rgb.numpy().transpose(1, 2, 0) * 0.5) < 20
    with pytest.raises(ValueError, match="shapes"):
        psnr(ref, ref[:10])


def test_log_likelihood_and_negative_mse():
    from book_utils.metrics import log_likelihood, negative_mse

    logits = torch.tensor([[10.0, -10.0], [0.0, 0.0]])
    assert log_likelihood(logits, torch.tensor([0, 1])) == pytest.approx(-np.log(2) / 2, abs=1e-6)
    assert log_likelihood(logits[:1], torch.tensor([0])) == pytest.approx(0.0, abs=1e-6)
    assert negative_mse(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 1.0])) == pytest.approx(-2.0)


# --------------------------------------------------------------------------------- CTC sequences (09-4)
def _scores(paths: list[list[int]], classes: int = 4) -> torch.Tensor:
    """(T, N, C) log-probabilities whose argmax at step t of sample n is paths[n][t]."""
    from torch.nn.functional import one_hot

    return torch.log_softmax(5.0 * one_hot(torch.tensor(paths).T, classes).float(), dim=2)


def test_ctc_greedy_decode_collapses_repeats_then_drops_blanks():
    from book_utils.metrics import ctc_greedy_decode

    paths = [[1, 1, 0, 1, 2, 2],  # a blank between repeats keeps both: 1 1 2
             [0, 0, 0, 0, 0, 0],  # all blank: empty
             [3, 3, 3, 3, 3, 3],  # one long repeat: one symbol
             [0, 2, 0, 2, 2, 0]]  # 2 _ 2 2 -> 2 2
    assert ctc_greedy_decode(_scores(paths)) == [[1, 1, 2], [], [3], [2, 2]]
    assert ctc_greedy_decode(_scores([[1, 1, 0, 3, 3, 1]]), blank=1) == [[0, 3]]
    with pytest.raises(ValueError):
        ctc_greedy_decode(torch.zeros(3, 4))


def test_edit_distance():
    from book_utils.metrics import edit_distance

    assert edit_distance([], []) == 0
    assert edit_distance([1, 2, 3], []) == 3 and edit_distance([], [1, 2]) == 2
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance([1, 2, 3], [1, 3]) == 1 and edit_distance([1, 2], [2, 1]) == 2


def test_sequence_accuracy_and_cer_with_ctc_targets():
    from book_utils.metrics import char_error_rate, sequence_accuracy

    scores = _scores([[1, 1, 0, 1, 2, 2], [0, 0, 0, 0, 0, 0], [3, 3, 3, 3, 3, 3]])  # reads [1 1 2], [], [3]
    targets = (torch.tensor([1, 1, 2, 2, 3, 1]), torch.tensor([3, 1, 2]))  # [1 1 2], [2], [3 1]
    assert sequence_accuracy(scores, targets) == pytest.approx(1 / 3)
    assert char_error_rate(scores, targets) == pytest.approx((0 + 1 + 1) / 6)  # one deletion each in 2 and 3
    # decoded lists and lists of sequences are accepted as well
    assert sequence_accuracy([[1, 1, 2], [2], [3, 1]], targets) == 1.0
    assert char_error_rate([[1, 1, 2], [2], [3, 1]], [torch.tensor([1, 1, 2]), [2], (3, 1)]) == 0.0
    assert char_error_rate([[1, 2, 3, 4]], [[1]]) == 3.0  # insertions can push CER above 1
    assert char_error_rate([[]], [[]]) == 0.0 and char_error_rate([[1]], [[]]) == 1.0
    with pytest.raises(ValueError, match="sum"):
        sequence_accuracy(scores, (torch.tensor([1, 2]), torch.tensor([1, 1, 1])))
    with pytest.raises(ValueError, match="3 predicted"):
        char_error_rate(scores, [[1]])
