"""Tests of book_utils.checkpoint: atomic save/load, clear errors, the cache path and train_once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from book_utils import checkpoint
from book_utils.checkpoint import (
    CheckpointError,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
    stored_tag,
    train_once,
)


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))


def trained(seed: int = 0) -> tuple[nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """A model, an SGD optimizer with momentum buffers and a scheduler, all a few steps in."""
    torch.manual_seed(seed)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(4, 2)).sum().backward()
        opt.step()
        sched.step()
    return model, opt, sched


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


# ----------------------------------------------------------------------------------------- save and load
def test_round_trip_with_optimizer_scheduler_and_extras(tmp_path):
    model, opt, sched = trained()
    path = save_checkpoint(tmp_path / "sub" / "run.pt", model, opt, sched, epoch=3, note="hi",
                           history={"loss": [1.0, 0.5]}, weights=torch.arange(3))
    assert path == tmp_path / "sub" / "run.pt" and path.is_file()  # the folder is created
    model2, opt2, sched2 = trained(seed=1)
    assert not same_weights(model, model2)
    extra = load_checkpoint(path, model2, opt2, sched2)
    assert same_weights(model, model2)
    assert extra["epoch"] == 3 and extra["note"] == "hi" and extra["history"] == {"loss": [1.0, 0.5]}
    assert torch.equal(extra["weights"], torch.arange(3))
    assert sched2.last_epoch == sched.last_epoch == 3 and opt2.param_groups[0]["lr"] == pytest.approx(0.0125)
    for p, q in zip(model.parameters(), model2.parameters()):
        assert torch.equal(opt.state[p]["momentum_buffer"], opt2.state[q]["momentum_buffer"])


def test_model_only_checkpoint_loads_into_an_optimizer_too(tmp_path):
    model, _, _ = trained()
    path = save_checkpoint(tmp_path / "m.pt", model)
    model2, opt2, sched2 = trained(seed=1)
    lr = opt2.param_groups[0]["lr"]
    assert load_checkpoint(path, model2, opt2, sched2) == {}
    assert same_weights(model, model2) and opt2.param_groups[0]["lr"] == lr  # nothing saved: left alone


def test_save_is_atomic(tmp_path, monkeypatch):
    model, _, _ = trained()
    path = save_checkpoint(tmp_path / "run.pt", model, step=1)
    before = path.read_bytes()

    def crash(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, mlp(), step=2)
    assert path.read_bytes() == before, "a failed save leaves the previous file untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"], "and no temporary file behind"
    monkeypatch.undo()
    save_checkpoint(path, model, step=3)
    assert load_checkpoint(path, mlp())["step"] == 3  # overwriting works
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at .*missing.pt"):
        load_checkpoint(tmp_path / "missing.pt", mlp())


@pytest.mark.parametrize("content", [b"this is not a checkpoint", b""])
def test_corrupted_checkpoint_says_delete_it(tmp_path, content):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"cannot read checkpoint .*bad.pt.*corrupted.*delete it"):
        load_checkpoint(bad, mlp())


def test_truncated_checkpoint_says_delete_it(tmp_path):
    path = save_checkpoint(tmp_path / "t.pt", mlp())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="delete it"):
        load_checkpoint(path, mlp())


def test_foreign_torch_file_is_rejected(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a book_utils checkpoint"):
        load_checkpoint(tmp_path / "other.pt", mlp())


def test_mismatched_model_or_optimizer(tmp_path):
    model, opt, _ = trained()
    path = save_checkpoint(tmp_path / "ok.pt", model, opt)
    with pytest.raises(CheckpointError, match=r"(?s)does not fit this model.*different setup"):
        load_checkpoint(path, nn.Linear(2, 2))
    other = nn.Linear(2, 2)
    with pytest.raises(CheckpointError, match="different setup"):  # the model fits, the optimizer does not
        load_checkpoint(path, mlp(), torch.optim.SGD(other.parameters(), lr=0.1, momentum=0.9))


# -------------------------------------------------------------------------------------- path and stored tag
def test_checkpoint_path(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    assert checkpoint_path("cifar10_resnet18", "lite") == tmp_path.resolve() / "checkpoints" / "cifar10_resnet18_lite.pt"
    assert checkpoint_path("x", "smoke").name == "x_smoke.pt"


@pytest.mark.parametrize(("name", "mode", "match"), [
    ("model", "fast", "mode must be one of 'smoke', 'lite', 'full'"),
    ("model", "Lite", "mode must be one of"),
    ("", "lite", "plain file stem"),
    ("a/b", "lite", "plain file stem"),
    ("a\\b", "lite", "plain file stem"),
])
def test_checkpoint_path_rejects_bad_arguments(tmp_path, monkeypatch, name, mode, match):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=match):
        checkpoint_path(name, mode)


def test_stored_tag(tmp_path):
    assert stored_tag(save_checkpoint(tmp_path / "a.pt", mlp(), tag="standin-v4")) == "standin-v4"
    assert stored_tag(save_checkpoint(tmp_path / "b.pt", mlp())) == "unknown"
    assert stored_tag(tmp_path / "missing.pt") is None
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    assert stored_tag(tmp_path / "bad.pt") is None


# ------------------------------------------------------------------------------------------------ train_once
class Trainer:
    """A fake training run that counts its calls; each run gives other weights."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls, self.delay = 0, delay

    def __call__(self) -> tuple[nn.Module, dict]:
        self.calls += 1
        time.sleep(self.delay)
        with torch.random.fork_rng(devices=[]):  # a real run seeds itself; this one leaves the stream alone
            model = mlp()
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float(self.calls))
        return model, {"history": {"val_acc": [0.5, 0.75]}, "width": 8}


def test_train_once_trains_then_loads(tmp_path, capsys):
    path, trainer = tmp_path / "ck" / "toy_smoke.pt", Trainer()
    model, extra = train_once(path, "standin-v1", mlp, trainer, what="toy model")
    assert trainer.calls == 1 and path.is_file()
    assert "The cached toy model toy_smoke.pt is missing: training it now (once)." in capsys.readouterr().out
    assert extra == {"history": {"val_acc": [0.5, 0.75]}, "width": 8, "tag": "standin-v1"}
    assert all((p == 1.0).all() for p in model.parameters()), "the trained weights, loaded from the file"
    assert next(model.parameters()).device.type == "cpu"
    again, extra2 = train_once(path, "standin-v1", mlp, trainer, what="toy model")
    assert trainer.calls == 1, "the second call loads the file without training"
    assert capsys.readouterr().out == ""
    assert same_weights(model, again) and extra2 == extra and again is not model


def test_train_once_retrains_when_the_tag_changes(tmp_path, capsys):
    path, trainer = tmp_path / "toy_lite.pt", Trainer()
    train_once(path, "standin-v1", mlp, trainer)
    capsys.readouterr()
    model, extra = train_once(path, "real", mlp, trainer)
    assert trainer.calls == 2 and extra["tag"] == "real" and stored_tag(path) == "real"
    assert "The cached model toy_lite.pt is trained on standin-v1, now real: training it now (once)." in (
        capsys.readouterr().out)
    assert all((p == 2.0).all() for p in model.parameters())
    train_once(path, "real", mlp, trainer)
    assert trainer.calls == 2


def test_train_once_replaces_an_untagged_or_unreadable_file(tmp_path, capsys):
    path, trainer = tmp_path / "toy_lite.pt", Trainer()
    save_checkpoint(path, mlp())  # no tag
    train_once(path, "real", mlp, trainer)
    assert trainer.calls == 1 and "trained on unknown, now real" in capsys.readouterr().out
    path.write_bytes(b"garbage")
    train_once(path, "real", mlp, trainer)
    assert trainer.calls == 2 and "is unreadable: training it now" in capsys.readouterr().out
    assert stored_tag(path) == "real"


def test_train_once_with_a_model_that_no_longer_fits(tmp_path):
    path = tmp_path / "toy_lite.pt"
    train_once(path, "real", mlp, Trainer())
    with pytest.raises(CheckpointError, match="different setup: delete it"):
        train_once(path, "real", lambda: nn.Linear(2, 2), Trainer())


def test_train_once_keeps_the_callers_random_stream(tmp_path):
    path = tmp_path / "toy_lite.pt"
    torch.manual_seed(7)
    expected = torch.rand(5)
    torch.manual_seed(7)
    train_once(path, "real", mlp, Trainer())  # trains (without drawing random numbers), then builds and loads
    assert torch.equal(torch.rand(5), expected)
    torch.manual_seed(7)
    train_once(path, "real", mlp, Trainer())  # loads: the build's random initialisation is thrown away
    assert torch.equal(torch.rand(5), expected)


def test_train_once_trains_once_when_asked_twice_at_the_same_time(tmp_path, capsys):
    path, trainer = tmp_path / "toy_lite.pt", Trainer(delay=0.3)
    results: list = []

    def ask() -> None:
        results.append(train_once(path, "real", mlp, trainer))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 2 and trainer.calls == 1, "the lock makes the second caller wait and load"
    assert same_weights(results[0][0], results[1][0])
    assert capsys.readouterr().out.count("training it now") == 1


def test_recipe_digest_names_a_recipe():
    import hashlib
    from dataclasses import dataclass

    from book_utils.checkpoint import recipe_digest

    @dataclass(frozen=True)
    class Recipe:
        epochs: int
        lr: float

    assert recipe_digest(Recipe(3, 0.1)) == recipe_digest(Recipe(3, 0.1))
    assert recipe_digest(Recipe(3, 0.1)) != recipe_digest(Recipe(4, 0.1))
    # the cached models' tags were written with this exact formula: changing it would retrain them all
    assert recipe_digest(Recipe(3, 0.1)) == hashlib.sha256(repr(Recipe(3, 0.1)).encode()).hexdigest()[:8]
