"""book_utils.interactive: telling a watched notebook from a headless run, and what each one shows."""

from __future__ import annotations

import types

import matplotlib

matplotlib.use("Agg")

import pytest

from book_utils import interactive
from book_utils.interactive import LineProgress, frontend_attached, interact, progress


def fake_shell(monkeypatch, allow_stdin: bool | None) -> None:
    """Pretend to run inside a kernel whose current request allows stdin (None: no kernel at all)."""
    kernel = None if allow_stdin is None else types.SimpleNamespace(_allow_stdin=allow_stdin)
    shell = types.SimpleNamespace(kernel=kernel)
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)


@pytest.fixture(autouse=True)
def not_forced(monkeypatch):
    monkeypatch.delenv("BOOK_STATIC", raising=False)
    monkeypatch.delenv("TQDM_DISABLE", raising=False)


def test_frontend_detection(monkeypatch):
    fake_shell(monkeypatch, allow_stdin=True)  # JupyterLab, VS Code, Colab
    assert frontend_attached()
    fake_shell(monkeypatch, allow_stdin=False)  # nbclient: nbconvert, papermill, make book
    assert not frontend_attached()
    fake_shell(monkeypatch, allow_stdin=None)  # a script or terminal IPython
    assert not frontend_attached()
    fake_shell(monkeypatch, allow_stdin=True)
    monkeypatch.setenv("BOOK_STATIC", "1")
    assert not frontend_attached()


def test_headless_progress_prints_one_summary_line(monkeypatch, capsys):
    fake_shell(monkeypatch, allow_stdin=False)
    bar = progress(range(3), desc="fit", unit="epoch", total=3)
    assert isinstance(bar, LineProgress)
    for _ in bar:
        bar.set_postfix({"loss": 0.123456, "note": "ok"})
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("fit: 3/3 epoch in ") and out[0].endswith("loss=0.1235, note=ok")
    with progress(range(5), desc="inner", leave=False) as inner:
        list(inner)
    with progress(total=10, desc="bytes", disable=True) as quiet:
        quiet.update(10)
    assert capsys.readouterr().out == "", "leave=False and disable=True print nothing"
    monkeypatch.setenv("TQDM_DISABLE", "1")
    list(progress(range(2), desc="hidden"))
    assert capsys.readouterr().out == ""


def test_headless_progress_iterates_numpy_arrays(monkeypatch, capsys):
    """A NumPy array (images, as in 02-1) has no truth value: the bar must not ask it for one."""
    import numpy as np

    fake_shell(monkeypatch, allow_stdin=False)
    images = np.zeros((4, 2, 2))
    assert len(list(progress(images, desc="HOG"))) == 4
    assert capsys.readouterr().out.startswith("HOG: 4/4 it in ")


def test_watched_progress_is_tqdm(monkeypatch):
    fake_shell(monkeypatch, allow_stdin=True)
    bar = progress(range(2), desc="live", disable=True)
    assert type(bar).__module__.startswith("tqdm")


def test_headless_interact_draws_the_default_state(monkeypatch, capsys):
    fake_shell(monkeypatch, allow_stdin=False)
    monkeypatch.setattr("matplotlib.pyplot.show", lambda: None)
    calls = []
    interact(lambda k, name, flag: calls.append((k, name, flag)), k=(1, 9), name=["a", "b"], flag=True)
    assert calls == [(5, "a", True)]
    assert "Static view, k=5, name='a', flag=True" in capsys.readouterr().out
    interact(lambda k: calls.append(k), static={"k": 2}, k=(0.0, 1.0))
    assert calls[-1] == 2


def test_watched_interact_shows_the_widget(monkeypatch):
    fake_shell(monkeypatch, allow_stdin=True)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    interact(lambda k: None, k=(1, 9))
    assert type(shown[0]).__name__ == "interactive"


def test_defaults_follow_ipywidgets():
    import ipywidgets as widgets

    assert interactive._default((0, 10)) == 5 and interactive._default((0.0, 1.0)) == 0.5
    assert interactive._default([("one", 1), ("two", 2)]) == 1 and interactive._default({"x": 3}) == 3
    assert interactive._default(widgets.IntSlider(value=7)) == 7 and interactive._default("text") == "text"
