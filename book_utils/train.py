"""The training loop used from notebook 03-3 on: :func:`fit`, :func:`evaluate`, :func:`predict` and :class:`History`.

One plain loop, written to be read: move a batch to the device, forward, loss, backward, step. Around it:
mixed precision on CUDA only, a progress bar (a final text line when run headless), a live learning curve in Jupyter, per-epoch checkpoints
that a later call resumes from (:mod:`book_utils.checkpoint`), and optional TensorBoard scalars. Batches are ``(inputs, targets)`` pairs;
``inputs`` may be a tensor or a tuple of tensors (passed as ``model(*inputs)``).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from book_utils._validate import require_int
from book_utils.checkpoint import load_checkpoint, save_checkpoint
from book_utils.config import get_mode
from book_utils.metrics import accuracy

Metric = Callable[[torch.Tensor, Any], float]


class History:
    """Per-epoch values recorded by :func:`fit`: ``history["train_loss"]``, ``"val_acc"``, ``"lr"``...

    ``*_acc`` holds whatever ``metric`` computed (accuracy by default).
    """

    def __init__(self, history: dict[str, list[float]] | None = None) -> None:
        items = (history or {}).items()
        self.history: dict[str, list[float]] = {k: [float(v) for v in vs] for k, vs in items}

    def append(self, **values: float) -> None:
        """Add one epoch's values, e.g. ``append(train_loss=0.3, lr=0.1)``."""
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    @property
    def epochs(self) -> int:
        """How many epochs have been recorded."""
        return len(self.history.get("train_loss", []))

    def _values(self, key: str) -> list[float]:
        if not self.history.get(key):
            raise KeyError(f"History has no values for {key!r}; recorded keys: {sorted(self.history)}")
        return self.history[key]

    def best_epoch(self, key: str, mode: str = "max") -> int:
        """The 1-based epoch with the best ``key`` (``mode="max"`` or ``"min"``)."""
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        values = self._values(key)
        pick = max if mode == "max" else min
        return values.index(pick(values)) + 1

    def best(self, key: str, mode: str = "max") -> float:
        """The best value of ``key`` over all epochs, e.g. ``best("val_acc")`` or ``best("val_loss", "min")``."""
        return self._values(key)[self.best_epoch(key, mode) - 1]

    def plot(self, **kwargs: Any) -> Any:
        """Draw the curves with :func:`book_utils.plot.plot_history` (keyword arguments go to it)."""
        from book_utils.plot import plot_history

        return plot_history(self.history, **kwargs)

    def to_dict(self) -> dict[str, list[float]]:
        """A plain ``dict`` of lists of floats (what checkpoints store)."""
        return {k: list(v) for k, v in self.history.items()}

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v and k != "epoch_time")
        return f"History({self.epochs} epochs{': ' + last if last else ''})"


def _move(x: Any, device: torch.device) -> Any:
    """Move a tensor, or tensors nested in tuples/lists/dicts, to ``device``."""
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=True)
    if isinstance(x, (tuple, list)):
        return type(x)(_move(v, device) for v in x)
    if isinstance(x, dict):
        return {k: _move(v, device) for k, v in x.items()}
    return x


def _split(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError(
        f"each batch must be an (inputs, targets) pair, got {type(batch).__name__}"
        f"{f' of length {len(batch)}' if isinstance(batch, (tuple, list)) else ''}; "
        "make the Dataset return (x, y) or wrap inputs in a tuple: ((x1, x2), y)."
    )


def _forward(model: nn.Module, inputs: Any) -> Any:
    return model(*inputs) if isinstance(inputs, (tuple, list)) else model(inputs)


def _size(inputs: Any, targets: Any) -> int:
    """Samples in a batch: from a target tensor, else an input tensor, else a list of targets (detection)."""
    for x in (targets, inputs):
        if isinstance(x, torch.Tensor) and x.ndim > 0:
            return int(x.shape[0])
    return len(targets) if isinstance(targets, (tuple, list, dict)) else 1


def _metric_fn(metric: str | Metric | None) -> Metric | None:
    if metric is None or callable(metric):
        return metric
    if metric == "accuracy":
        return accuracy
    raise ValueError(f"metric must be 'accuracy', None or a function(outputs, targets) -> float: {metric!r}")


def _autocast(device: torch.device, enabled: bool) -> Any:
    return torch.autocast(device_type=device.type, enabled=enabled and device.type == "cuda")


def _model_device(model: nn.Module) -> torch.device:
    from book_utils.config import select_device

    return next((p.device for p in model.parameters()), None) or select_device()


@contextmanager
def _eval_mode(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Eval mode without gradients; afterwards every module gets its own train/eval flag back."""
    flags = [(m, m.training) for m in model.modules()]
    model.to(device).eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        for module, flag in flags:
            module.training = flag


def _check_loader(loader: Iterable, name: str) -> None:
    if hasattr(loader, "__len__") and len(loader) == 0:  # type: ignore[arg-type]
        raise ValueError(f"{name} is empty: check the dataset size and that batch_size <= len(dataset).")


def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable | None = None,
    device: torch.device | str | None = None,
    metric: str | Metric | None = "accuracy",
    amp: bool | None = None,
) -> dict[str, float]:
    """Mean loss (and metric, as ``"acc"``) over ``loader`` in eval mode without gradients.

    ``device`` defaults to where the model's parameters are; each module's train/eval flag is restored.
    ``amp``: mixed precision, on by default on CUDA (``fit`` passes its own setting), never elsewhere.
    """
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    metric_fn = _metric_fn(metric)
    device = torch.device(device) if device is not None else _model_device(model)
    _check_loader(loader, "the evaluation loader")
    total_loss = total_metric = 0.0
    seen = 0
    with _eval_mode(model, device):
        for batch in loader:
            inputs, targets = _move(_split(batch), device)
            with _autocast(device, amp is not False):
                outputs = _forward(model, inputs)
                loss = loss_fn(outputs, targets)
            n = _size(inputs, targets)
            total_loss += loss.item() * n
            if metric_fn is not None:
                total_metric += metric_fn(outputs, targets) * n
            seen += n
    if seen == 0:
        raise ValueError("the evaluation loader produced no batches.")
    result = {"loss": total_loss / seen}
    if metric_fn is not None:
        result["acc"] = total_metric / seen
    return result


def predict(
    model: nn.Module, loader: Iterable, device: torch.device | str | None = None, amp: bool | None = None
) -> torch.Tensor:
    """The model's outputs (logits) for every batch, concatenated on the CPU as float32, in loader order.

    Batches may be ``(inputs, targets)`` pairs (targets are ignored) or bare input tensors. ``amp`` as in
    :func:`evaluate`.
    """
    device = torch.device(device) if device is not None else _model_device(model)
    outputs = []
    with _eval_mode(model, device):
        for batch in loader:
            inputs = batch if isinstance(batch, torch.Tensor) else _split(batch)[0]
            with _autocast(device, amp is not False):
                out = _forward(model, _move(inputs, device))
            if not isinstance(out, torch.Tensor):
                raise TypeError(f"predict needs a model that returns a tensor, got {type(out).__name__}")
            outputs.append(out.float().cpu())
    if not outputs:
        raise ValueError("predict: the loader produced no batches.")
    return torch.cat(outputs)


def _generators(loader: Any) -> list[torch.Generator]:
    found = [getattr(loader, "generator", None), getattr(getattr(loader, "sampler", None), "generator", None)]
    return [g for g in found if isinstance(g, torch.Generator)]


def _rng_state(loader: Any) -> dict[str, Any]:
    """Random states needed for a resumed run to shuffle and drop out exactly like an uninterrupted one."""
    state = {"torch": torch.get_rng_state(), "loader": [g.get_state() for g in _generators(loader)]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any], loader: Any) -> None:
    torch.set_rng_state(state["torch"].cpu())
    for gen, saved in zip(_generators(loader), state.get("loader", [])):
        gen.set_state(saved.cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _in_jupyter() -> bool:
    """True inside a Jupyter/Colab kernel (not in a plain Python or IPython terminal)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and (
        type(shell).__name__ == "ZMQInteractiveShell" or "IPKernelApp" in getattr(shell, "config", {})
    )


def _show_curves(history: History, handle: Any = None) -> Any:
    """Draw the curves into the notebook output ``handle`` (created on the first call); returns the handle."""
    import matplotlib.pyplot as plt

    fig = history.plot()
    if not _in_jupyter():  # a script: leave the figure open for plt.show()
        return None
    from IPython.display import display

    if handle is None:
        handle = display(fig, display_id=True)
    else:
        handle.update(fig)
    plt.close(fig)  # already displayed: stop the inline backend from drawing it a second time
    return handle


def _smoke_mode() -> bool:
    return get_mode() == "smoke"


def _train_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable,
    metric_fn: Metric | None,
    device: torch.device,
    scaler: torch.amp.GradScaler,
    grad_clip: float | None,
    batch_scheduler: Any,
    epoch: int,
) -> dict[str, float]:
    """One pass over ``loader`` with gradient updates; returns the mean training loss (and metric)."""
    from book_utils.interactive import progress

    model.train()
    total_loss = total_metric = 0.0
    seen = 0
    with progress(loader, desc=f"epoch {epoch}", leave=False, mininterval=1.0, unit="batch") as bar:
        for step, batch in enumerate(bar, 1):
            inputs, targets = _move(_split(batch), device)
            with _autocast(device, scaler.is_enabled()):
                outputs = _forward(model, inputs)
                loss = loss_fn(outputs, targets)
            if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
                raise ValueError("loss_fn must return a scalar tensor (use reduction='mean').")
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"the loss became {value} at epoch {epoch}, batch {step}: training diverged. Try a lower "
                    f"learning rate (now {optimizer.param_groups[0]['lr']:.3g}), grad_clip=1.0, or check the "
                    "inputs and targets for NaNs."
                )
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # the scaler is a no-op without AMP
            if grad_clip is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            scaler.step(optimizer)
            scaler.update()
            if batch_scheduler is not None:
                batch_scheduler.step()
            n = _size(inputs, targets)
            seen += n
            total_loss += value * n
            postfix = {"loss": total_loss / seen}
            if metric_fn is not None:
                total_metric += metric_fn(outputs.detach(), targets) * n
                postfix["acc"] = total_metric / seen
            bar.set_postfix(postfix, refresh=False)
    if seen == 0:
        raise ValueError("train_loader produced no batches.")
    result = {"loss": total_loss / seen}
    if metric_fn is not None:
        result["acc"] = total_metric / seen
    return result


def _tensorboard(log_dir: str | os.PathLike) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise ImportError("tensorboard_dir needs the tensorboard package: pip install tensorboard") from exc
    return SummaryWriter(log_dir=str(log_dir))


def _tb_tag(key: str) -> str:
    """``train_loss`` -> ``loss/train`` so TensorBoard overlays train and val curves in one chart."""
    split, _, name = key.partition("_")
    return f"{name}/{split}" if split in ("train", "val") and name else key


def fit(
    model: nn.Module,
    train_loader: Iterable,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable | None = None,
    val_loader: Iterable | None = None,
    scheduler: Any = None,
    device: torch.device | str | None = None,
    metric: str | Metric | None = "accuracy",
    checkpoint: str | os.PathLike | None = None,
    tensorboard_dir: str | os.PathLike | None = None,
    live: bool | None = None,
    desc: str | None = None,
    grad_clip: float | None = None,
    scheduler_step: str = "epoch",
    amp: bool | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs and return its :class:`History`.

    ``loss_fn`` defaults to cross-entropy; ``metric`` is "accuracy", None or ``f(outputs, targets) -> float``.
    ``scheduler`` steps once per epoch (``ReduceLROnPlateau`` gets the validation loss) or, with
    ``scheduler_step="batch"``, after every batch (e.g. ``OneCycleLR``). ``checkpoint``: a file saved after
    every epoch; if it exists, training resumes from it and runs only the remaining epochs. ``live``: redraw
    the learning curves in Jupyter (default there; drawn once at the end in smoke mode). ``amp``: mixed
    precision, on by default on CUDA and never used elsewhere. Progress bars: ``TQDM_DISABLE=1`` hides them.
    """
    from book_utils.config import select_device
    from book_utils.interactive import progress

    epochs = require_int("epochs", epochs, 1)
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    metric_fn = _metric_fn(metric)
    device = torch.device(device) if device is not None else select_device()
    _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    model.to(device)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and amp is not False)

    history, start = History(), 0
    if checkpoint is not None and Path(checkpoint).exists():
        extra = load_checkpoint(checkpoint, model, optimizer, scheduler, map_location=device)
        start, history = int(extra.get("epoch", 0)), History(extra.get("history"))
        if extra.get("scaler") and scaler.is_enabled():
            scaler.load_state_dict(extra["scaler"])
        if "rng" in extra:
            _set_rng_state(extra["rng"], train_loader)
        print(f"resuming from epoch {start} ({checkpoint})")
        if start >= epochs:
            print(f"the checkpoint already has {start} epochs >= epochs={epochs}: nothing to train.")
            return history

    live = _in_jupyter() if live is None else live
    per_epoch = live and not _smoke_mode()  # nbval ignores clear_output: smoke mode draws once at the end
    handle = None
    writer = _tensorboard(tensorboard_dir) if tensorboard_dir is not None else None
    is_plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    batch_scheduler = scheduler if scheduler_step == "batch" else None
    bar = progress(range(start, epochs), desc=desc or "fit", initial=start, total=epochs, unit="epoch")
    try:
        for epoch in bar:
            t0 = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            scores = _train_epoch(
                model, train_loader, optimizer, loss_fn, metric_fn, device, scaler, grad_clip,
                batch_scheduler, epoch + 1,
            )  # fmt: skip
            record = {f"train_{k}": v for k, v in scores.items()}
            if val_loader is not None:
                val = evaluate(model, val_loader, loss_fn, device, metric, amp=amp)
                record.update({f"val_{k}": v for k, v in val.items()})
            if scheduler is not None and scheduler_step == "epoch" and is_plateau:
                scheduler.step(record.get("val_loss", record["train_loss"]))
            elif scheduler is not None and scheduler_step == "epoch":
                scheduler.step()
            record.update(lr=lr, epoch_time=time.perf_counter() - t0)
            history.append(**record)
            bar.set_postfix({k: v for k, v in record.items() if k not in ("lr", "epoch_time")})
            if writer is not None:
                for key, value in record.items():
                    writer.add_scalar(_tb_tag(key), value, epoch + 1)
                writer.flush()
            if checkpoint is not None:
                save_checkpoint(
                    checkpoint, model, optimizer, scheduler, epoch=epoch + 1, history=history.to_dict(),
                    scaler=scaler.state_dict() if scaler.is_enabled() else None, rng=_rng_state(train_loader),
                )  # fmt: skip
            if per_epoch:
                handle = _show_curves(history, handle)
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    if live and not per_epoch:
        _show_curves(history)
    return history
