"""book_utils.learning.learning_check: passes on a pipeline that learns, fails on the two classic breakages."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from book_utils import config
from book_utils.config import CheckFailed
from book_utils.learning import PermutedTargets, learning_check


def blobs(n: int, seed: int) -> TensorDataset:
    """Four well-separated Gaussian blobs in 8-D: easy to learn, impossible to guess."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 4, (n,), generator=g)
    centres = torch.eye(4, 8) * 3
    return TensorDataset(centres[y] + torch.randn(n, 8, generator=g), y)


class Misaligned(Dataset):
    """A data bug: every image gets the label of the next one (the blobs come in random order; on data
    sorted by class this would change almost nothing, so the notebooks re-pair labels at random)."""

    def __init__(self, data: Dataset) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int):
        return self.data[i][0], self.data[(i + 1) % len(self.data)][1]


@pytest.fixture
def cfg(monkeypatch):
    monkeypatch.setenv("BOOK_MODE", "smoke")
    monkeypatch.delenv("BOOK_RESULTS", raising=False)
    return config.setup(quiet=True, device="cpu")


def fast(params):
    return torch.optim.Adam(params, lr=1e-2)


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))


def test_a_working_pipeline_passes_and_the_model_is_untouched(cfg):
    net = model()
    before = [p.detach().clone() for p in net.parameters()]
    scores = learning_check(cfg, net, blobs(400, 0), blobs(200, 1), epochs=5, optimizer=fast)
    assert scores["real_loss_ratio"] < 0.3 and scores["gain"] > 0.5
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert [c["passed"] for c in cfg.checks] == [True, True]
    assert repr(scores).startswith("learning check: real_loss_ratio=") and len(repr(scores)) < 200


def test_an_optimizer_that_never_steps_fails(cfg, monkeypatch):
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, closure=None: None)
    with pytest.raises(CheckFailed, match="loss ratio"):
        learning_check(cfg, model(), blobs(400, 0), blobs(200, 1), epochs=5, optimizer=fast)


def bn_model() -> nn.Module:
    """With BatchNorm, whose running statistics move during training even when the optimizer never steps."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 4))


def shifted_blobs(n: int, seed: int) -> TensorDataset:
    """The blobs far from the origin: fresh BatchNorm running statistics (mean 0, variance 1) fit them badly."""
    x, y = blobs(n, seed).tensors
    return TensorDataset(x * 5 + 20, y)


def test_a_frozen_optimizer_fails_with_batchnorm_too(cfg, monkeypatch):
    """The loss is measured as training sees it (batch statistics): measured in eval mode, the running
    statistics that one epoch updates make the loss fall about fourfold here with no step at all."""
    from book_utils.learning import fitting_loss
    from book_utils.train import evaluate

    net, loader = bn_model(), torch.utils.data.DataLoader(shifted_blobs(256, 0), batch_size=32)
    eval_before, fit_before = evaluate(net, loader, metric=None)["loss"], fitting_loss(net, loader)
    net.train()
    with torch.no_grad():
        for x, _ in loader:  # what fit does to BatchNorm when the optimizer never steps
            net(x)
    assert evaluate(net, loader, metric=None)["loss"] < eval_before / 2  # the trap
    assert fitting_loss(net, loader) == pytest.approx(fit_before, rel=1e-5)  # no step, no change
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, closure=None: None)
    with pytest.raises(CheckFailed, match="loss ratio"):
        learning_check(cfg, bn_model(), shifted_blobs(400, 0), shifted_blobs(200, 1), epochs=5, optimizer=fast)


def test_misaligned_labels_fail(cfg):
    with pytest.raises(CheckFailed, match="held-out gain"):
        learning_check(cfg, model(), Misaligned(blobs(400, 0)), blobs(200, 1), epochs=5, optimizer=fast,
                       max_loss_ratio=1.0)


def test_permuted_targets_keep_inputs_and_shuffle_targets():
    data = blobs(50, 0)
    perm = PermutedTargets(data, seed=3)
    assert len(perm) == 50
    assert all(torch.equal(perm[i][0], data[i][0]) for i in range(50))
    assert sorted(int(perm[i][1]) for i in range(50)) == sorted(int(data[i][1]) for i in range(50))
    assert [int(perm[i][1]) for i in range(50)] != [int(data[i][1]) for i in range(50)]


def test_bad_arguments(cfg):
    with pytest.raises(ValueError, match="n_train"):
        learning_check(cfg, model(), blobs(40, 0), blobs(40, 1), n_train=2)


def test_min_gain_none_records_the_gain_and_still_checks_the_loss(cfg):
    scores = learning_check(cfg, model(), Misaligned(blobs(400, 0)), blobs(200, 1), epochs=5, optimizer=fast,
                            max_loss_ratio=1.0, min_gain=None)
    gain = [c for c in cfg.checks if "gain" in c["name"]]
    assert len(gain) == 1 and gain[0]["threshold"] is None and gain[0]["value"] == pytest.approx(scores["gain"])


def test_amp_reaches_the_training_loop(cfg):
    seen: list[torch.dtype] = []

    class Recorder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = model()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.net(x)
            seen.append(out.dtype)
            return out.float()

    scores = learning_check(cfg, Recorder(), blobs(400, 0), blobs(200, 1), epochs=5, optimizer=fast,
                            amp=torch.bfloat16)  # fmt: skip
    assert torch.bfloat16 in seen and scores["gain"] > 0.5
    with pytest.raises(ValueError, match="amp"):
        learning_check(cfg, model(), blobs(64, 0), blobs(64, 1), epochs=1, amp="fast")  # type: ignore[arg-type]
