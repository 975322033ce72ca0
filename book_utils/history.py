"""What :func:`book_utils.train.fit` records, :class:`History`, and where it shows it: live learning curves in
Jupyter (:func:`show_curves`) and TensorBoard scalars.

Re-exported by :mod:`book_utils.train`, so ``from book_utils.train import History`` works as before.
"""

from __future__ import annotations

import os
from typing import Any


class History:
    """Per-epoch values recorded by :func:`~book_utils.train.fit`: ``history["train_loss"]``, ``"val_acc"``,
    ``"lr"``...

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


def show_curves(history: History, handle: Any = None, *, notebook: bool) -> Any:
    """Draw the curves into the notebook output ``handle`` (created on the first call) and return it; outside
    a ``notebook`` the figure is left open for ``plt.show()`` and ``None`` is returned."""
    import matplotlib.pyplot as plt

    fig = history.plot()
    if not notebook:
        return None
    from IPython.display import display

    if handle is None:
        handle = display(fig, display_id=True)
    else:
        handle.update(fig)
    plt.close(fig)  # already displayed: stop the inline backend from drawing it a second time
    return handle


def in_jupyter() -> bool:
    """True inside a Jupyter/Colab kernel (not in a plain Python or IPython terminal)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and (
        type(shell).__name__ == "ZMQInteractiveShell" or "IPKernelApp" in getattr(shell, "config", {})
    )


def tensorboard_writer(log_dir: str | os.PathLike) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise ImportError("tensorboard_dir needs the tensorboard package: pip install tensorboard") from exc
    return SummaryWriter(log_dir=str(log_dir))


def tb_tag(key: str) -> str:
    """``train_loss`` -> ``loss/train`` so TensorBoard overlays train and val curves in one chart."""
    split, _, name = key.partition("_")
    return f"{name}/{split}" if split in ("train", "val") and name else key
