"""Notebook 10-6's upload page in a real browser: the service cell of the notebook (tagged ``serving-app``) is
run here, served by uvicorn on 127.0.0.1 (port 0), and ``GET /`` is opened once in headless Chromium, which
saves a screenshot to ``build/serving/upload_page.png`` and dumps the DOM it rendered.

Chromium is driven through its own command line (``--headless --screenshot`` / ``--dump-dom``), so no driver
library and no browser download is needed; the test skips, saying why, where no Chromium binary is found.
The notebook itself tests the service's replies with real HTTP requests (nbval runs it); nothing is
uploaded here.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
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
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str | None:
    """Path of a Chromium (or Chrome) binary: ``$CHROMIUM`` if set, else the first of :data:`BROWSERS` on PATH."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


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


def _browser(binary: str, url: str, *options: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """One headless Chromium run on ``url`` with a throwaway profile; killed after ``timeout`` seconds."""
    profile = SCREENSHOT.parent / "chromium-profile"
    args = [binary, "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=800,600", *options, url]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_upload_page_in_headless_chromium() -> None:
    binary = _chromium()
    if binary is None:
        pytest.skip(f"no Chromium binary found (looked for {', '.join(BROWSERS)} on PATH and $CHROMIUM); "
                    "on Debian/Ubuntu: apt-get install chromium")  # fmt: skip
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
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        SCREENSHOT.unlink(missing_ok=True)
        shot = _browser(binary, url, f"--screenshot={SCREENSHOT}")
        dom = _browser(binary, url, "--dump-dom")
    finally:
        server.should_exit = True
        thread.join(10)
    assert not thread.is_alive(), "the server thread did not stop"
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()], "threads left behind"

    assert shot.returncode == 0 and SCREENSHOT.exists(), f"no screenshot: {shot.stderr[-2000:]}"
    assert _png_size(SCREENSHOT) == (800, 600)
    assert SCREENSHOT.stat().st_size > 5000, "the screenshot looks blank"
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "<h1>CIFAR-10 classifier</h1>" in html
    assert 'action="/image_classification"' in html and 'enctype="multipart/form-data"' in html
    assert 'type="file"' in html and 'name="image"' in html
