"""Progress bars and widgets that also read well when nobody is watching.

A notebook runs in two worlds. In JupyterLab, VS Code or Colab a person is looking: progress bars move and
ipywidgets controls redraw a figure. Run headless by nbconvert, papermill, ``make book`` or a CI runner
(all of which execute through nbclient), nobody is: a saved notebook shows a bar frozen at ``0%`` and a
widget as ``interactive(children=(...`` text, and one nbclient bug can even stall on a displayed
``interactive``. :func:`frontend_attached` tells the two apart; :func:`progress` and :func:`interact` do
the right thing in each. Introduced in notebook 00-1; ``fit`` and the data generators use them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any


def frontend_attached() -> bool:
    """True when a person's frontend runs this kernel; False in a plain script and in headless runs.

    nbclient (behind nbconvert, papermill and ``tools/execute.py``) sends every cell with
    ``allow_stdin=False``, since nobody could answer an ``input()``; JupyterLab, the classic notebook, VS Code
    and Colab allow it. ``BOOK_STATIC=1`` forces the headless behaviour (the tests set it).
    """
    if os.environ.get("BOOK_STATIC", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel/ipywidgets
        return False
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:  # a terminal IPython or a script
        return False
    return bool(getattr(kernel, "_allow_stdin", True))


class LineProgress:
    """A stand-in for a tqdm bar that prints one summary line when it closes (``leave=False``: nothing).

    Supports what the book uses: iteration, ``update``, ``set_postfix``, ``close`` and ``with``.
    """

    def __init__(self, iterable: Iterable | None = None, desc: str | None = None, total: int | None = None,
                 initial: int = 0, unit: str = "it", leave: bool = True, disable: bool = False, **_: Any) -> None:
        self.iterable, self.desc, self.unit, self.leave = iterable, desc or "progress", unit, leave and not disable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total, self.n, self.postfix = total, initial, ""
        self._start, self._closed = time.perf_counter(), False

    def __iter__(self) -> Iterator:
        for item in () if self.iterable is None else self.iterable:  # `or` would fail on NumPy arrays
            yield item
            self.n += 1
        self.close()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps."""
        self.n += n

    def set_postfix(self, values: dict | None = None, refresh: bool = True, **kwargs: Any) -> None:
        """Remember the values shown after the count (numbers are written with 4 significant digits)."""
        items = {**(values or {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in items.items())

    def close(self) -> None:
        """Print the summary line once (unless ``leave=False``)."""
        if self._closed:
            return
        self._closed = True
        if self.leave:
            count = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
            tail = f", {self.postfix}" if self.postfix else ""
            print(f"{self.desc}: {count} {self.unit} in {time.perf_counter() - self._start:.1f} s{tail}",
                  file=sys.stdout, flush=True)


def progress(iterable: Iterable | None = None, **kwargs: Any) -> Any:
    """A live tqdm bar (``tqdm.auto``) when a person watches, else a :class:`LineProgress` (one final line).

    Takes tqdm's keyword arguments (``desc``, ``total``, ``initial``, ``unit``, ``leave``...).
    ``TQDM_DISABLE=1`` hides bars of both kinds.
    """
    if frontend_attached():
        from tqdm.auto import tqdm

        return tqdm(iterable, **kwargs)  # tqdm reads TQDM_DISABLE itself
    if os.environ.get("TQDM_DISABLE", "").strip().lower() in {"1", "true", "yes", "on"}:
        kwargs["leave"] = False
    return LineProgress(iterable, **kwargs)


def _default(control: Any) -> Any:
    """The value ipywidgets would start a control at: a widget's ``value``, the middle of a ``(min, max)``
    range (rounded like ipywidgets for ints), the first item of a list, or the value itself."""
    if hasattr(control, "value"):
        return control.value
    if isinstance(control, tuple) and len(control) in (2, 3) and all(isinstance(v, (int, float)) for v in control):
        lo, hi = control[:2]
        mid = (lo + hi) / 2
        return int(mid) if all(isinstance(v, int) for v in control) else mid
    if isinstance(control, (list, tuple)):
        first = control[0]
        return first[1] if isinstance(first, tuple) and len(first) == 2 else first
    if isinstance(control, dict):
        return next(iter(control.values()))
    return control


def interact(fn: Callable[..., Any], static: dict[str, Any] | None = None, **controls: Any) -> None:
    """Show ``fn``'s figure with ipywidgets controls when a person watches; otherwise draw it once.

    ``controls`` are ipywidgets abbreviations (``(0, 10)``, ``[...]``, a widget). Headless, ``fn`` is called
    with each control's starting value (or ``static``'s) and a one-line note names the controls that
    would appear in Jupyter, so a saved or HTML notebook shows a real figure instead of widget text.
    """
    if frontend_attached():
        import ipywidgets as widgets
        from IPython.display import display

        display(widgets.interactive(fn, **controls))
        return
    import matplotlib.pyplot as plt

    values = {name: _default(c) for name, c in controls.items()}
    values.update(static or {})
    fn(**values)
    plt.show()
    shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
    print(f"(Static view, {shown}: run the notebook in Jupyter to change {', '.join(controls)} with sliders.)")
