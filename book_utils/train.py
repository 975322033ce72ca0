"""The training loop used from notebook 03-3 on: :func:`fit`, :func:`evaluate`, :func:`predict` (and :class:`History`).

One plain loop, written to be read: move a batch to the device, forward, loss, backward, step. Around it:
mixed precision (``amp``: fp16 with a gradient scaler by default on CUDA, bf16 on request on the CPU; notebook
10-4), a progress bar (a final text line when run headless), a live learning curve in Jupyter, per-epoch checkpoints
that a later call resumes from (:mod:`book_utils.checkpoint`), and optional TensorBoard scalars. Batches are ``(inputs, targets)`` pairs;
``inputs`` may be a tensor or a tuple of tensors (passed as ``model(*inputs)``).
"""

from __future__ import annotations

import functools
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from book_utils._validate import require_int
from book_utils.checkpoint import load_checkpoint, save_checkpoint
from book_utils.config import get_mode
from book_utils.history import History, in_jupyter, show_curves, tb_tag, tensorboard_writer
from book_utils.metrics import accuracy

__all__ = ["History", "Metric", "evaluate", "fit", "predict"]

Metric = Callable[[torch.Tensor, Any], float]
Amp = bool | torch.dtype | None


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


class _AmpSettings(NamedTuple):
    enabled: bool
    dtype: torch.dtype | None
    scaler: bool  # a GradScaler for the training steps (fp16 only: bf16 has float32's range)


@functools.cache
def _cpu_fp16_autocast() -> bool:
    """Whether this torch runs float16 autocast on the CPU (older releases only allowed bfloat16)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # older torch warns and disables autocast instead of failing
        with torch.autocast("cpu", dtype=torch.float16):
            return (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float16


def _amp_settings(device: torch.device, amp: Amp) -> _AmpSettings:
    """Resolve ``amp`` on ``device``: None = the default (CUDA fp16, off elsewhere), True = the device's
    default dtype (CUDA fp16, CPU bf16), a dtype = that dtype, False = off."""
    if amp is None:
        amp = device.type == "cuda"
    if amp is False:
        return _AmpSettings(False, None, False)
    if amp is not True and not isinstance(amp, torch.dtype):
        raise ValueError(f"amp must be None, True, False, torch.float16 or torch.bfloat16; got {amp!r}")
    if not torch.amp.autocast_mode.is_autocast_available(device.type):
        raise ValueError(f"amp: torch has no autocast for {device.type!r} devices; use amp=False")
    default = {"cuda": torch.float16, "cpu": torch.bfloat16}.get(device.type)
    dtype = amp if amp is not True else default or torch.get_autocast_dtype(device.type)
    if dtype not in (torch.float16, torch.bfloat16):
        raise ValueError(f"amp: mixed precision runs in torch.float16 or torch.bfloat16, not {dtype}")
    if device.type == "cpu" and dtype == torch.float16 and not _cpu_fp16_autocast():
        raise ValueError(
            f"amp: torch {torch.__version__} has no float16 autocast on the CPU; use torch.bfloat16"
        )
    return _AmpSettings(True, dtype, dtype == torch.float16)


def _autocast(device: torch.device, amp: _AmpSettings) -> Any:
    return torch.autocast(device_type=device.type, dtype=amp.dtype, enabled=amp.enabled)


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
    amp: Amp = None,
) -> dict[str, float]:
    """Mean loss (and metric, as ``"acc"``) over ``loader`` in eval mode without gradients.

    ``device`` defaults to where the model's parameters are; each module's train/eval flag is restored.
    ``amp``: mixed precision as in :func:`fit` (``fit`` passes its own setting).
    """
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    metric_fn = _metric_fn(metric)
    device = torch.device(device) if device is not None else _model_device(model)
    settings = _amp_settings(device, amp)
    _check_loader(loader, "the evaluation loader")
    total_loss = total_metric = 0.0
    seen = 0
    with _eval_mode(model, device):
        for batch in loader:
            inputs, targets = _move(_split(batch), device)
            with _autocast(device, settings):
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
    model: nn.Module, loader: Iterable, device: torch.device | str | None = None, amp: Amp = None
) -> torch.Tensor:
    """The model's outputs (logits) for every batch, concatenated on the CPU as float32, in loader order.

    Batches may be ``(inputs, targets)`` pairs (targets are ignored) or bare input tensors. ``amp`` as in
    :func:`evaluate`.
    """
    device = torch.device(device) if device is not None else _model_device(model)
    settings = _amp_settings(device, amp)
    outputs = []
    with _eval_mode(model, device):
        for batch in loader:
            inputs = batch if isinstance(batch, torch.Tensor) else _split(batch)[0]
            with _autocast(device, settings):
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


def _train_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable,
    metric_fn: Metric | None,
    device: torch.device,
    amp: _AmpSettings,
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
            with _autocast(device, amp):
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
            scaler.scale(loss).backward()  # a disabled scaler (no fp16) changes nothing
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
    amp: Amp = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs and return its :class:`History`.

    ``loss_fn`` defaults to cross-entropy; ``metric`` is "accuracy", None or ``f(outputs, targets) -> float``.
    ``scheduler`` steps once per epoch (``ReduceLROnPlateau`` gets the validation loss) or, with
    ``scheduler_step="batch"``, after every batch (e.g. ``OneCycleLR``). ``checkpoint``: a file saved after
    every epoch; if it exists, training resumes from it and runs only the remaining epochs. ``live``: redraw
    the learning curves in Jupyter (default there; drawn once at the end in smoke mode). ``amp``: mixed precision
    (autocast): None = the default (CUDA: float16 with a GradScaler; elsewhere off), True = on in the device's
    default dtype (CUDA float16, CPU bfloat16), ``torch.float16``/``torch.bfloat16`` = that dtype (float16 always
    with a GradScaler), False = off. Progress bars: ``TQDM_DISABLE=1`` hides them.
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
    settings = _amp_settings(device, amp)
    scaler = torch.amp.GradScaler(device.type, enabled=settings.scaler)

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

    notebook = in_jupyter()
    live = notebook if live is None else live
    per_epoch = live and get_mode() != "smoke"  # nbval ignores clear_output: smoke mode draws once at the end
    handle = None
    writer = tensorboard_writer(tensorboard_dir) if tensorboard_dir is not None else None
    is_plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    batch_scheduler = scheduler if scheduler_step == "batch" else None
    bar = progress(range(start, epochs), desc=desc or "fit", initial=start, total=epochs, unit="epoch")
    try:
        for epoch in bar:
            t0 = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            scores = _train_epoch(
                model, train_loader, optimizer, loss_fn, metric_fn, device, settings, scaler, grad_clip,
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
                    writer.add_scalar(tb_tag(key), value, epoch + 1)
                writer.flush()
            if checkpoint is not None:
                save_checkpoint(
                    checkpoint, model, optimizer, scheduler, epoch=epoch + 1, history=history.to_dict(),
                    scaler=scaler.state_dict() if scaler.is_enabled() else None, rng=_rng_state(train_loader),
                )  # fmt: skip
            if per_epoch:
                handle = show_curves(history, handle, notebook=notebook)
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    if live and not per_epoch:
        show_curves(history, notebook=notebook)
    return history
