"""Notebook 10-6's upload page in a real browser: the service cell of the notebook (tagged ``serving-app``) is
run here, served by uvicorn on 127.0.0.1 (port 0), and ``GET /`` is opened once in headless Chromium, which
saves a screenshot to ``build/serving/upload_page.png`` and reads the form from the page it rendered.

Chromium is driven by ``tools/browser_check.py`` (the DevTools protocol over a pipe, standard library only,
shared with the test of ``make site``), so no driver library and no browser download is needed; the test
skips, saying why, where no Chromium binary is found.
The notebook itself tests the service's replies with real HTTP requests (nbval runs it); nothing is
uploaded here.
"""

from __future__ import annotations

import struct
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "10_deployment" / "10-6_serving.ipynb"
SCREENSHOT = ROOT / "build" / "serving" / "upload_page.png"
sys.path.insert(0, str(ROOT / "tools"))
import browser_check  # noqa: E402

FORM = """(() => {
  const form = document.querySelector("form");
  const file = form && form.querySelector("input[type=file]");
  return form && {action: form.getAttribute("action"), method: form.method, enctype: form.enctype,
                  field: file && file.name, title: document.querySelector("h1").textContent};
})()"""


class _NoModel:
    """Stands in for the ONNX Runtime session: ``GET /`` and ``/health`` never run the model."""

    def get_inputs(self) -> list[Any]:
        return [types.SimpleNamespace(name="image")]

    def run(self, *args: Any) -> Any:  # pragma: no cover - this test uploads nothing
        raise AssertionError("the upload page test must not run the model")


def _service_cell() -> dict[str, Any]:
    """Run the notebook's service cell (the one tagged ``serving-app``) and return its namespace."""
    cells = [c for c in nbformat.read(NOTEBOOK, as_version=4).cells if "serving-app" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{NOTEBOOK.name} needs exactly one cell tagged serving-app, found {len(cells)}"
    namespace: dict[str, Any] = {"__name__": "serving_app_10_6"}
    exec(compile(cells[0].source, f"{NOTEBOOK.name}:serving-app", "exec"), namespace)
    return namespace


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_upload_page_in_headless_chromium() -> None:
    binary = browser_check.find_chromium()
    if binary is None:
        pytest.skip("no Chromium binary found ($CHROMIUM, or chromium / chromium-browser / google-chrome on the "
                    "PATH); on Debian/Ubuntu: apt-get install chromium")  # fmt: skip
    pytest.importorskip("fastapi", reason="the 'deploy' extra is not installed")
    uvicorn = pytest.importorskip("uvicorn", reason="the 'deploy' extra is not installed")

    service = _service_cell()
    app = service["make_app"](_NoModel(), [f"class {i}" for i in range(10)], model_name="no model (browser test)")
    before = set(threading.enumerate())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", http="h11",
                                           ws="none", lifespan="off"))  # fmt: skip
    thread = threading.Thread(target=server.run, name="uvicorn-browser-test", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/"
        SCREENSHOT.unlink(missing_ok=True)
        browser = browser_check.Browser(binary, width=800, height=600)
        try:
            browser.open(url)
            form = browser.evaluate(FORM)
            browser.screenshot(SCREENSHOT, 600)
        finally:
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    assert not thread.is_alive(), "the server thread did not stop"
    deadline = time.monotonic() + 10  # the worker threads that ran the plain `def` routes end shortly after
    while (left := [t.name for t in set(threading.enumerate()) - before if t.is_alive()]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"threads left behind: {left}"

    assert form == {"action": "/image_classification", "method": "post", "enctype": "multipart/form-data",
                    "field": "image", "title": "CIFAR-10 classifier"}  # fmt: skip
    assert _png_size(SCREENSHOT)[1] == 600
    assert SCREENSHOT.stat().st_size > 5000, "the screenshot looks blank"
