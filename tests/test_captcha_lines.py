"""Tests of the variable-length captchas (notebook 09-4): the text-line renderer
(book_utils.standins.captcha), the loader, label coding, CTC collate and CTC loss
(book_utils.datasets.captcha_lines). The metrics are in test_metrics.py, the loader contract in
test_dataset_contract.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from book_utils.datasets.captcha_lines import (
    CTCLoss,
    ctc_collate,
    decode_text,
    encode_text,
    load_captcha_lines,
    resolve_chars,
)
from book_utils.metrics import char_error_rate, sequence_accuracy
from book_utils.standins.captcha import line_text, render_line, render_lines


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOOK_OFFLINE", "1")
    return tmp_path / "data"


def test_line_texts_are_seeded_and_cover_the_lengths():
    texts = [line_text(i, seed=4, chars="0123456789") for i in range(300)]
    assert texts == [line_text(i, seed=4, chars="0123456789") for i in range(300)]
    assert texts != [line_text(i, seed=5, chars="0123456789") for i in range(300)]
    assert {len(t) for t in texts} == set(range(1, 10))
    assert set("".join(texts)) == set("0123456789")
    assert all(2 <= len(line_text(i, 0, "ab", 2, 3)) <= 3 for i in range(20))
    for bad in ({"chars": ""}, {"chars": "AB"}, {"min_len": 0}, {"min_len": 3, "max_len": 2}):
        with pytest.raises(ValueError):
            line_text(0, **bad)


def test_render_line_is_the_books_drawing_resized():
    img = render_line("123", seed=1, index=7)
    assert img.mode == "L" and img.size == (100, 32)
    assert np.array_equal(np.asarray(img), np.asarray(render_line("123", seed=1, index=7)))
    assert not np.array_equal(np.asarray(img), np.asarray(render_line("123", seed=1, index=8)))  # keyed by index
    assert render_line("5", size=(16, 40)).size == (40, 16)


def test_render_lines_does_not_depend_on_the_number_of_processes():
    texts = [line_text(i, 3, "0123456789") for i in range(210)]
    one = render_lines(texts, seed=3, workers=1)
    assert one.shape == (210, 32, 100) and one.dtype == np.uint8
    assert np.array_equal(one, render_lines(texts, seed=3, workers=2))
    assert np.array_equal(one[5], np.asarray(render_line(texts[5], 3, 5)))


def test_label_coding_is_one_based():
    assert encode_text("0a9", resolve_chars("all")).tolist() == [1, 11, 10]
    assert encode_text("307", "0123456789").tolist() == [4, 1, 8]
    assert decode_text([4, 1, 8], "0123456789") == "307" and decode_text(torch.tensor([]), "01") == ""
    assert resolve_chars("digits") == "0123456789" and len(resolve_chars("all")) == 36
    for bad in ("aa", "AB", ""):
        with pytest.raises(ValueError):
            resolve_chars(bad)
    with pytest.raises(ValueError):
        encode_text("a", "0123456789")
    with pytest.raises(ValueError):
        decode_text([0], "01")  # 0 is the blank, never a character


def test_loader_items_cache_and_on_demand_agree(data_dir):
    cached = load_captcha_lines("val", n=6, chars="digits", verbose=False)
    fresh = load_captcha_lines("val", n=6, chars="digits", cache=False, verbose=False)
    assert cached.targets == fresh.targets and cached.classes == list("0123456789")
    for i in range(6):
        x, y = cached[i]
        assert x.shape == (1, 32, 100) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
        assert decode_text(y, cached.chars) == cached.targets[i]
        assert torch.equal(x, fresh[i][0])
    assert load_captcha_lines("train", n=6, chars="digits", verbose=False).targets != cached.targets
    with pytest.raises(ValueError, match="root"):
        load_captcha_lines("val", n=2, root="somewhere")


def test_ctc_collate_loss_and_metrics_work_with_fit(data_dir):
    from book_utils.train import evaluate, fit

    ds = load_captcha_lines("train", n=8, chars="01", max_len=3, verbose=False)
    images, (targets, lengths) = ctc_collate([ds[i] for i in range(4)])
    assert images.shape == (4, 1, 32, 100) and targets.dtype == lengths.dtype == torch.int64
    assert lengths.tolist() == [len(t) for t in ds.targets[:4]] and len(targets) == int(lengths.sum())
    assert torch.equal(targets, torch.cat([encode_text(t, "01") for t in ds.targets[:4]]))

    class Tiny(nn.Module):  # 8 steps of 3 classes (blank, 0, 1) from the pooled image
        def __init__(self):
            super().__init__()
            self.pool, self.fc = nn.AdaptiveAvgPool2d((1, 8)), nn.Linear(1, 3)

        def forward(self, x):
            return self.fc(self.pool(x).flatten(1).T.unsqueeze(-1)).log_softmax(2)  # (8, N, 3)

    torch.manual_seed(0)
    loader = DataLoader(ds, batch_size=4, collate_fn=ctc_collate)
    history = fit(Tiny(), loader, epochs=2, optimizer=torch.optim.SGD(Tiny().parameters(), lr=0.0),
                  loss_fn=CTCLoss(), val_loader=loader, metric=sequence_accuracy, device="cpu", live=False)
    assert np.isfinite(history["train_loss"]).all() and 0 <= history["val_acc"][-1] <= 1
    model = Tiny()
    scores = evaluate(model, loader, CTCLoss(), "cpu", metric=char_error_rate)
    assert scores["loss"] > 0 and scores["acc"] >= 0


def test_ctc_loss_per_sample_is_the_summed_loss_over_n():
    torch.manual_seed(0)
    log_probs = torch.randn(6, 3, 4).log_softmax(2)
    targets, lengths = torch.tensor([1, 2, 3, 3, 1]), torch.tensor([2, 2, 1])
    full = torch.full((3,), 6, dtype=torch.int64)
    summed = nn.functional.ctc_loss(log_probs, targets, full, lengths, reduction="sum")
    assert CTCLoss()(log_probs, (targets, lengths)).item() == pytest.approx(summed.item() / 3, rel=1e-5)
    mean = nn.functional.ctc_loss(log_probs, targets, full, lengths, reduction="mean")
    assert CTCLoss("mean")(log_probs, (targets, lengths)).item() == pytest.approx(mean.item(), rel=1e-5)
    # an impossible alignment (4 repeated labels need 7 steps, there are 6) costs 0, not infinity
    impossible = CTCLoss()(log_probs[:, :1], (torch.tensor([1, 1, 1, 1]), torch.tensor([4])))
    assert impossible.item() == 0.0
    with pytest.raises(ValueError):
        CTCLoss("sum")
    with pytest.raises(ValueError, match="T, N, C"):
        CTCLoss()(log_probs[0], (targets, lengths))
