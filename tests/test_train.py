"""Tests for book_utils.train on tiny synthetic data (two Gaussian blobs, a 2-layer MLP), CPU only."""

from __future__ import annotations

import importlib.util

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from book_utils import train
from book_utils.checkpoint import CheckpointError
from book_utils.train import History

CPU = torch.device("cpu")


def blobs(n: int = 128, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.cat([torch.randn(n // 2, 2, generator=g) + 1.5, torch.randn(n // 2, 2, generator=g) - 1.5])
    y = torch.cat([torch.zeros(n // 2), torch.ones(n // 2)]).long()
    return TensorDataset(x, y)


def loader(shuffle: bool = True, n: int = 128) -> DataLoader:
    return DataLoader(blobs(n), batch_size=16, shuffle=shuffle)


def mlp(dropout: float = 0.0) -> nn.Module:
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 2))


def sgd(model: nn.Module, lr: float = 0.05) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def quiet_fit(model: nn.Module, data: DataLoader, **kwargs) -> History:
    kwargs.setdefault("optimizer", sgd(model))
    kwargs.setdefault("epochs", 1)
    kwargs.setdefault("live", False)
    return train.fit(model, data, device=CPU, **kwargs)


def test_loss_falls_and_accuracy_rises():
    torch.manual_seed(0)
    model = mlp()
    hist = quiet_fit(model, loader(), epochs=4, val_loader=loader(shuffle=False))
    h = hist.history
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert h["val_acc"][-1] >= 0.9
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time"):
        assert len(h[key]) == 4, key
    assert hist.epochs == 4
    assert hist.best("val_acc") == max(h["val_acc"])
    assert hist.best("val_loss", mode="min") == min(h["val_loss"])
    assert 1 <= hist.best_epoch("val_loss", mode="min") <= 4
    assert hist.to_dict() == h and hist.to_dict() is not h
    assert "4 epochs" in repr(hist)


def test_history_bad_keys():
    hist = History({"train_loss": [1.0, 0.5]})
    with pytest.raises(KeyError, match="val_acc"):
        hist.best("val_acc")
    with pytest.raises(ValueError, match="mode"):
        hist.best("train_loss", mode="lowest")


def test_evaluate_and_predict_restore_modes():
    model = mlp()
    model.train()
    model[2].eval()  # a frozen submodule must stay frozen
    result = train.evaluate(model, loader(shuffle=False))
    assert set(result) == {"loss", "acc"} and 0.0 <= result["acc"] <= 1.0
    assert model.training and not model[2].training
    logits = train.predict(model, loader(shuffle=False))
    assert logits.shape == (128, 2) and logits.device == CPU
    assert model.training
    model.eval()
    train.evaluate(model, loader(), metric=None)
    assert not model.training
    bare = DataLoader(blobs().tensors[0], batch_size=32)  # batches of inputs only
    assert torch.allclose(train.predict(model, bare), logits)


class AutocastRecorder:
    """Stands in for train._autocast: records each resolved setting (enabled, dtype) and whether it came from
    evaluation (which runs in inference mode) or from a training step, then returns the real context manager."""

    def __init__(self) -> None:
        self.real = train._autocast
        self.calls: list[tuple[str, bool, torch.dtype | None]] = []

    def __call__(self, device: torch.device, amp):
        phase = "eval" if torch.is_inference_mode_enabled() else "train"
        self.calls.append((phase, amp.enabled, amp.dtype if amp.enabled else None))
        return self.real(device, amp)

    def seen(self, phase: str) -> set[tuple[bool, torch.dtype | None]]:
        return {(on, dtype) for where, on, dtype in self.calls if where == phase}


@pytest.fixture
def autocast(monkeypatch) -> AutocastRecorder:
    recorder = AutocastRecorder()
    monkeypatch.setattr(train, "_autocast", recorder)
    return recorder


OFF = (False, None)
BF16, FP16 = (True, torch.bfloat16), (True, torch.float16)
# On a CPU: None and False are off, True means bfloat16, a dtype means that dtype.
CPU_AMP = [(False, OFF), (None, OFF), (True, BF16), (torch.bfloat16, BF16), (torch.float16, FP16)]


@pytest.mark.parametrize(("amp", "expected"), CPU_AMP)
def test_evaluate_and_predict_pass_amp_to_autocast(autocast, amp, expected):
    """Regression: evaluate and predict once used autocast on CUDA even with amp=False (they always asked)."""
    model, data = mlp(), loader(shuffle=False)
    train.evaluate(model, data, device=CPU, amp=amp)
    assert autocast.seen("eval") == {expected} and len(autocast.calls) == len(data)
    autocast.calls.clear()
    train.predict(model, data, device=CPU, amp=amp)
    assert autocast.seen("eval") == {expected} and len(autocast.calls) == len(data)


@pytest.mark.parametrize(("amp", "expected"), CPU_AMP)
def test_fit_passes_its_amp_to_training_and_validation(autocast, amp, expected):
    """fit's amp decides both the training steps and its validation pass."""
    quiet_fit(mlp(), loader(n=32), epochs=2, amp=amp, val_loader=loader(n=32, shuffle=False))
    assert autocast.seen("eval") == {expected} and autocast.seen("train") == {expected}
    assert len(autocast.calls) == 2 * (len(loader(n=32)) + len(loader(n=32)))


class DtypeRecorder(nn.Module):
    """An MLP whose second layer records the dtype of the activations it receives (what autocast produced)."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = nn.Linear(2, 16), nn.Linear(16, 2)
        self.seen: set[torch.dtype] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.first(x))
        self.seen.add(hidden.dtype)
        return self.second(hidden)


@pytest.mark.parametrize(
    ("amp", "dtype"),
    [(None, torch.float32), (False, torch.float32), (True, torch.bfloat16), (torch.bfloat16, torch.bfloat16),
     (torch.float16, torch.float16)],
)  # fmt: skip
def test_amp_decides_the_activation_dtype_on_the_cpu(amp, dtype):
    """Real autocast on a CPU: bf16 (and fp16) activations inside the model, float32 without AMP; predict
    still hands back float32, and the weights stay float32 (autocast casts copies, never the parameters)."""
    data = loader(n=32, shuffle=False)
    model = DtypeRecorder()
    hist = quiet_fit(model, data, epochs=1, amp=amp, val_loader=data)
    assert model.seen == {dtype} and hist.history["train_loss"][0] > 0
    model.seen.clear()
    train.evaluate(model, data, device=CPU, amp=amp)
    out = train.predict(model, data, device=CPU, amp=amp)
    assert model.seen == {dtype} and out.dtype == torch.float32
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_amp_settings_resolution():
    """What each amp value means on each device (resolution only: no GPU is needed to check CUDA's table)."""
    cuda = torch.device("cuda")
    resolve = train._amp_settings
    assert (
        resolve(cuda, None)
        == resolve(cuda, True)
        == resolve(cuda, torch.float16)
        == (True, torch.float16, True)
    )
    assert resolve(cuda, torch.bfloat16) == (True, torch.bfloat16, False)  # bf16 needs no loss scaling
    assert resolve(cuda, False) == resolve(CPU, False) == resolve(CPU, None) == (False, None, False)
    assert resolve(CPU, True) == resolve(CPU, torch.bfloat16) == (True, torch.bfloat16, False)
    assert resolve(CPU, torch.float16) == (True, torch.float16, True)  # fp16 always comes with a GradScaler


@pytest.mark.parametrize("amp", ["bf16", 1, 0, torch.float32, torch.float64, torch.int8])
def test_bad_amp_values_raise(amp):
    model, data = mlp(), loader(n=32)
    with pytest.raises(ValueError, match="amp"):
        quiet_fit(model, data, amp=amp)
    with pytest.raises(ValueError, match="amp"):
        train.evaluate(model, data, device=CPU, amp=amp)
    with pytest.raises(ValueError, match="amp"):
        train.predict(model, data, device=CPU, amp=amp)


def test_cpu_fp16_needs_a_torch_that_supports_it(monkeypatch):
    """Older torch releases only autocast to bfloat16 on the CPU: asking for float16 there is a clear error."""
    monkeypatch.setattr(train, "_cpu_fp16_autocast", lambda: False)
    with pytest.raises(ValueError, match="bfloat16"):
        train.evaluate(mlp(), loader(n=32), device=CPU, amp=torch.float16)
    assert train._amp_settings(CPU, True).dtype == torch.bfloat16  # the CPU's default is unaffected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize(
    ("amp", "dtype"), [(False, torch.float32), (None, torch.float16), (torch.bfloat16, torch.bfloat16)]
)
def test_amp_on_cuda_decides_the_output_dtype(amp, dtype):
    """On a GPU, evaluate/predict/fit's validation run in float16 by default and in float32 with amp=False."""
    cuda = torch.device("cuda")
    seen: list[torch.dtype] = []

    def metric(out, target):
        seen.append(out.dtype)
        return 0.0

    model = mlp().to(cuda)
    data = loader(n=32, shuffle=False)
    train.evaluate(model, data, device=cuda, metric=metric, amp=amp)
    assert set(seen) == {dtype}
    seen.clear()
    train.fit(
        model,
        data,
        epochs=1,
        optimizer=sgd(model),
        device=cuda,
        metric=metric,
        val_loader=data,
        amp=amp,
        live=False,
    )
    assert set(seen) == {dtype}, "training and validation both follow amp"
    raw = []
    hook = model.register_forward_hook(lambda mod, inp, out: raw.append(out.dtype))
    out = train.predict(model, data, device=cuda, amp=amp)
    hook.remove()
    assert set(raw) == {dtype} and out.dtype == torch.float32  # predict hands back float32 on the CPU


def _run(epochs: int, ckpt=None, seed: int = 0, amp=None) -> tuple[nn.Module, History, int]:
    torch.manual_seed(seed)
    model = mlp(dropout=0.2)
    opt = sgd(model)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    calls = []

    def loss_fn(out, target):
        calls.append(1)
        return nn.functional.cross_entropy(out, target)

    hist = quiet_fit(
        model,
        loader(),
        epochs=epochs,
        optimizer=opt,
        scheduler=sched,
        loss_fn=loss_fn,
        checkpoint=ckpt,
        amp=amp,
    )
    return model, hist, len(calls)


@pytest.mark.parametrize("amp", [None, torch.bfloat16, torch.float16])
def test_checkpoint_resume_matches_straight_run(tmp_path, capsys, amp):
    """Also with mixed precision: on the CPU, float16 trains with a GradScaler whose state the checkpoint keeps."""
    straight, straight_hist, _ = _run(3, amp=amp)
    ckpt = tmp_path / "run.pt"
    _run(2, ckpt, amp=amp)
    assert ckpt.is_file()
    scaler = torch.load(ckpt, weights_only=False)["extra"]["scaler"]
    assert (scaler is not None) == (amp == torch.float16)
    resumed, hist, calls = _run(
        3, ckpt, seed=123, amp=amp
    )  # a different init: everything must come from the file
    assert "resuming from epoch 2" in capsys.readouterr().out
    assert calls == len(loader())  # exactly one more epoch
    assert hist.epochs == 3
    assert hist.history["lr"] == straight_hist.history["lr"] == [0.05, 0.025, 0.0125]
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    _, again, calls = _run(3, ckpt)  # already finished: nothing to train
    assert calls == 0 and again.epochs == 3
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_corrupted_checkpoint_stops_fit(tmp_path):
    """fit resumes from an existing checkpoint file; a damaged one is an error, not a silent restart.
    (Saving and loading themselves are tested in test_checkpoint.py.)"""
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="delete it"):
        quiet_fit(mlp(), loader(), checkpoint=bad)
    assert bad.read_bytes() == b"this is not a checkpoint", "the damaged file is left for the user to inspect"


def test_checkpoint_of_another_model_stops_fit(tmp_path):
    ckpt = tmp_path / "run.pt"
    quiet_fit(nn.Linear(2, 2), loader(), checkpoint=ckpt)
    with pytest.raises(CheckpointError, match="different setup"):
        quiet_fit(mlp(), loader(), checkpoint=ckpt)


def test_non_finite_loss_stops_with_message():
    def exploding(out, target):
        return nn.functional.cross_entropy(out, target) * float("inf")

    with pytest.raises(FloatingPointError, match=r"epoch 1, batch 1.*lower learning rate"):
        quiet_fit(mlp(), loader(), loss_fn=exploding)


@pytest.mark.parametrize("epochs", [0, -1, 2.0, True])
def test_bad_epochs(epochs):
    with pytest.raises(ValueError, match="epochs"):
        quiet_fit(mlp(), loader(), epochs=epochs)


def test_detection_style_targets():
    """Targets may be any structure (here a list of dicts) when loss_fn knows how to read them."""
    x, y = blobs(32).tensors
    batches = [(x[i : i + 8], [{"label": t} for t in y[i : i + 8]]) for i in range(0, 32, 8)]

    def loss_fn(out, targets):
        return nn.functional.cross_entropy(out, torch.stack([t["label"] for t in targets]))

    hist = quiet_fit(mlp(), batches, epochs=1, loss_fn=loss_fn, metric=None, val_loader=batches)
    assert hist.epochs == 1 and hist.history["val_loss"][0] > 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="empty"):
        quiet_fit(mlp(), DataLoader(TensorDataset(torch.zeros(0, 2), torch.zeros(0).long()), batch_size=4))
    with pytest.raises(ValueError, match=r"\(inputs, targets\) pair"):
        quiet_fit(mlp(), DataLoader(blobs().tensors[0], batch_size=16))
    with pytest.raises(ValueError, match="metric"):
        quiet_fit(mlp(), loader(), metric="f1")
    with pytest.raises(ValueError, match="scheduler_step"):
        quiet_fit(mlp(), loader(), scheduler_step="step")
    with pytest.raises(ValueError, match="scalar"):
        quiet_fit(mlp(), loader(), loss_fn=nn.CrossEntropyLoss(reduction="none"))


def test_scheduler_stepping():
    model = mlp()
    opt = sgd(model, lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    quiet_fit(model, loader(), epochs=2, optimizer=opt, scheduler=sched, scheduler_step="batch")
    assert sched.last_epoch == 2 * len(loader())
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    hist = quiet_fit(model, loader(), epochs=2, optimizer=opt, scheduler=plateau, val_loader=loader())
    assert len(hist.history["lr"]) == 2


def test_custom_metric_and_no_metric_regression():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    data = DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=16)
    model = nn.Linear(3, 1)

    def mae(out, target):
        return (out - target).abs().mean().item()

    hist = quiet_fit(model, data, epochs=3, loss_fn=nn.L1Loss(), metric=mae, val_loader=data)
    assert hist.history["train_acc"] and hist.history["val_acc"][-1] == pytest.approx(
        hist.history["val_loss"][-1]
    )
    hist = quiet_fit(model, data, epochs=1, loss_fn=nn.L1Loss(), metric=None, val_loader=data)
    assert "train_acc" not in hist.history and "val_acc" not in hist.history
    assert set(train.evaluate(model, data, loss_fn=nn.L1Loss(), metric=None)) == {"loss"}


def test_tuple_inputs():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, a, b):
            return self.fc(torch.cat([a, b], dim=1))

    x, y = blobs().tensors
    pairs = [((xi, xi * 2), yi) for xi, yi in zip(x, y)]
    hist = quiet_fit(TwoInputs(), DataLoader(pairs, batch_size=16), epochs=1)
    assert hist.epochs == 1


def test_default_metric_is_accuracy():
    """fit and evaluate report book_utils.metrics.accuracy as "acc" (the metric itself: test_metrics.py)."""
    from book_utils.metrics import accuracy

    model = mlp()
    data = loader(shuffle=False)
    x, y = blobs().tensors
    with torch.no_grad():
        expected = accuracy(model(x), y)
    assert train.evaluate(model, data)["acc"] == pytest.approx(expected)
    assert train.evaluate(model, data, metric="accuracy")["acc"] == pytest.approx(expected)


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="tensorboard is not installed")
def test_tensorboard_writes_events(tmp_path):
    quiet_fit(mlp(), loader(), epochs=1, tensorboard_dir=tmp_path / "tb")
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_live_false_draws_nothing():
    plt.close("all")
    quiet_fit(mlp(), loader(), epochs=1)
    model = mlp()
    train.fit(model, loader(), epochs=1, optimizer=sgd(model), device=CPU)  # live=None outside Jupyter
    assert plt.get_fignums() == []


class FakeHandle:
    def __init__(self, log):
        self.log = log

    def update(self, fig):
        self.log.append("update")


@pytest.mark.parametrize(
    "mode, expected", [("lite", ["display", "update", "update"]), ("smoke", ["display"])]
)
def test_live_curve_in_jupyter(monkeypatch, mode, expected):
    import IPython.display

    log: list[str] = []

    def fake_display(fig, display_id=False):
        log.append("display")
        return FakeHandle(log)

    monkeypatch.setenv("BOOK_MODE", mode)
    monkeypatch.setattr(train, "in_jupyter", lambda: True)
    monkeypatch.setattr(IPython.display, "display", fake_display)
    plt.close("all")
    quiet_fit(mlp(), loader(n=32), epochs=3, live=True, val_loader=loader(n=32))
    assert log == expected  # one output updated per epoch, or drawn once at the end in smoke mode
    assert plt.get_fignums() == []  # closed after display: not drawn a second time
