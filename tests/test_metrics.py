"""Tests of book_utils.metrics: top-1 and top-k accuracy, and the captcha per-character/whole accuracies."""

from __future__ import annotations

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
