"""A small, bounded web server for the generated PubFig web: the lists, the photos, and their designed failures.

Introduced in notebook 07-1. PubFig's site serves two URL lists whose photos live on thousands of other hosts,
many of them dead or changed today. :class:`PubFigServer` plays all of them at once from a folder written by
:func:`book_utils.standins.pubfig.write_web` (the ``web/`` folder of ``load_pubfig(...).root``):

- ``/dev_urls.txt`` and ``/eval_urls.txt``: the lists, with the host ``pubfig.example`` replaced by the
  server's own ``127.0.0.1:<port>``, so every URL in them points back here;
- ``/photos/<list>/<id>.jpg``: the photos, each served according to its fate in ``fates.json``: fine
  (``image/jpeg``), ``"404"``, ``"html"`` (status 200 with a web page), ``"truncated"`` (the full
  ``Content-Length`` but half the body, then the connection closes), ``"slow"`` (an answer only after
  ``slow_seconds``, longer than any sensible client timeout), ``"redirect"`` (a 302 to ``/moved/...``,
  which serves the right bytes) and ``"placeholder"`` (status 200, ``image/jpeg``, but the host's "photo not
  available" picture: a wrong md5 and no face).

The server listens on the loopback interface only, on a free port (port 0), in a daemon thread; it is bounded:
after ``max_requests`` requests it answers 503, and after ``max_seconds`` it stops by itself. Use it as a
context manager so that it always stops::

    with PubFigServer(web_dir) as server:
        text = requests.get(server.url("dev_urls.txt"), timeout=5).text

``server.log`` records ``(path, status, fate)`` for every request. Nothing is printed.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from book_utils.standins.pubfig import FAILURES, HOST, LISTS

LOOPBACK = "127.0.0.1"
#: The fates a photo URL can have (anything not listed in ``fates.json`` is "ok").
FATES = ("ok", *FAILURES, "redirect")
_PHOTO = re.compile(r"^/(moved/)?photos/(dev|eval)/[A-Za-z0-9_.-]+\.jpg$")
_HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Photo gallery</title></head>\n"
              b"<body><h1>Sorry!</h1><p>This photo has moved or was removed by its owner.</p>"
              b"<p><a href=\"/\">Back to the gallery</a></p></body></html>\n")


class _Server(ThreadingHTTPServer):
    """The socket server: carries the state the handlers share; quiet about clients that hang up."""

    daemon_threads = True  # request threads never keep the interpreter alive...
    block_on_close = True  # ...but server_close() still joins them (stop() must leave no thread behind)
    request_queue_size = 128  # many parallel downloaders: a full backlog would delay connects by a second

    def __init__(self, owner: PubFigServer) -> None:
        self.owner = owner
        super().__init__((LOOPBACK, 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out or hung up (broken pipe, reset) is part of the game: say nothing."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 5  # a client that connects but never sends a request cannot hold a thread forever
    server_version = "PubFigStandIn/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - name fixed by http.server
        """No access log on stderr (the server's ``log`` keeps what happened)."""

    def do_GET(self) -> None:  # noqa: N802 - name fixed by http.server
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        if not owner._admit():
            owner._note(path, 503, "over limit")
            self._send(503, b"too many requests for this test server\n", "text/plain; charset=utf-8")
            return
        if path in ("/dev_urls.txt", "/eval_urls.txt"):
            text = (owner.web_dir / path.lstrip("/")).read_text().replace(f"//{HOST}/", f"//{owner.host}/")
            owner._note(path, 200, "list")
            self._send(200, text.encode(), "text/plain; charset=utf-8")
            return
        match = _PHOTO.match(path)
        file = owner.web_dir / path.removeprefix("/moved").lstrip("/") if match else None
        if file is None or not file.is_file():
            owner._note(path, 404, "unknown")
            self.send_error(404, "Not Found")
            return
        if match.group(1):  # /moved/...: where a redirect leads
            owner._note(path, 200, "moved")
            self._send(200, file.read_bytes(), "image/jpeg")
            return
        self._serve(owner.fates.get(path, "ok"), path, file)

    def _serve(self, fate: str, path: str, file: Path) -> None:
        """Answer a photo request as its fate says; the log entry is written before the answer, so a client
        that has its answer always finds it in ``server.log``."""
        owner = self.server.owner
        if fate == "404":
            owner._note(path, 404, fate)
            self.send_error(404, "Not Found")
            return
        if fate == "html":
            owner._note(path, 200, fate)
            self._send(200, _HTML_PAGE, "text/html; charset=utf-8")
            return
        if fate == "redirect":
            owner._note(path, 302, fate)
            self.send_response(302)
            self.send_header("Location", owner.url("moved" + path))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if fate == "placeholder":
            owner._note(path, 200, fate)
            self._send(200, (owner.web_dir / "placeholder.jpg").read_bytes(), "image/jpeg")
            return
        data = file.read_bytes()
        if fate == "slow" and owner._stopping.wait(owner.slow_seconds):
            owner._note(path, 0, fate)
            self.close_connection = True  # stopping: hang up without an answer
            return
        owner._note(path, 200, fate)
        if fate == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data)))  # promises the whole file...
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])  # ...delivers half, then closes
            self.close_connection = True
            return
        self._send(200, data, "image/jpeg")  # "ok", and "slow" once its wait is over

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class PubFigServer:
    """Serve a generated PubFig web (lists, photos, designed failures) on ``127.0.0.1`` and a free port.

    The server starts at once, in a daemon thread. ``max_requests`` bounds the requests it answers (later ones
    get 503), ``max_seconds`` its life (then it stops by itself), ``slow_seconds`` how long a "slow" photo
    makes its client wait (choose it longer than the client's timeout). ``stop()`` (or leaving the ``with``
    block) wakes any waiting request, joins every thread and closes the socket; calling it twice is fine.
    """

    def __init__(self, web_dir: Path | str, *, max_requests: int = 20_000, max_seconds: float = 600.0,
                 slow_seconds: float = 5.0) -> None:
        web = Path(web_dir)
        missing = [n for n in ("fates.json", "placeholder.jpg", *(f"{k}_urls.txt" for k in LISTS))
                   if not (web / n).is_file()]
        if missing:
            raise FileNotFoundError(f"{web} is not a generated PubFig web (missing {', '.join(missing)}); "
                                    "write one with book_utils.standins.pubfig.write_web(folder) or use "
                                    "load_pubfig(...).root / 'web'")
        if not isinstance(max_requests, int) or isinstance(max_requests, bool) or max_requests < 1:
            raise ValueError(f"max_requests must be a positive int, got {max_requests!r}")
        for name, value in (("max_seconds", max_seconds), ("slow_seconds", slow_seconds)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        self.web_dir = web
        self.fates: dict[str, str] = json.loads((web / "fates.json").read_text())
        self.max_requests, self.max_seconds, self.slow_seconds = max_requests, float(max_seconds), float(slow_seconds)
        #: One ``(path, status, fate)`` per request, in the order they finished (status 0: hung up unanswered).
        self.log: list[tuple[str, int, str]] = []
        self.expired = False  # True once max_seconds ran out
        self._lock = threading.Lock()
        self._count = 0
        self._stopping = threading.Event()
        self._closed = False
        self._httpd = _Server(self)
        self.port: int = self._httpd.server_address[1]
        self.host = f"{LOOPBACK}:{self.port}"
        self.base_url = f"http://{self.host}"
        self._deadline = time.monotonic() + self.max_seconds
        self._thread = threading.Thread(target=self._run, name=f"PubFigServer:{self.port}", daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        """The full URL of ``path`` on this server (``"dev_urls.txt"`` -> ``http://127.0.0.1:<port>/dev_urls.txt``)."""
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def running(self) -> bool:
        """Whether the server still accepts requests."""
        return self._thread.is_alive()

    @property
    def requests_seen(self) -> int:
        """How many requests arrived (including those answered 503)."""
        return self._count

    def _admit(self) -> bool:
        with self._lock:
            self._count += 1
            return self._count <= self.max_requests

    def _note(self, path: str, status: int, fate: str) -> None:
        with self._lock:
            self.log.append((path, status, fate))

    def _run(self) -> None:
        self._httpd.timeout = 0.05  # how often the loop looks at the clock and the stop flag
        try:
            while not self._stopping.is_set():
                if time.monotonic() >= self._deadline:
                    self.expired = True
                    self._stopping.set()  # wake "slow" requests too
                    break
                self._httpd.handle_request()
        finally:
            self._close()

    def _close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._httpd.server_close()  # closes the socket and joins the request threads

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving: wake waiting requests, join the server and its request threads, close the socket."""
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"the PubFig test server did not stop within {timeout} s")
        self._close()

    def __enter__(self) -> PubFigServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"PubFigServer({self.base_url}, {state}, {self._count} requests)"
