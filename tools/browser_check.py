"""Open the built site in headless Chromium: images render, no internal link is broken, a screenshot.

    python tools/browser_check.py                       # checks build/site, writes build/site-screenshot.png
    python tools/browser_check.py build/site --page 01_sklearn/01-1_datasets_and_classification.html

It serves the site on 127.0.0.1 (a free port, stopped at the end), opens the landing page and one chapter
page (by default the first page with a figure), and in each checks that every image has a non-zero natural
size and that every link to the site answers 200. The chapter page's screenshot goes to
``build/site-screenshot.png``.

The browser is the one already installed (Debian's ``chromium`` package, or ``$CHROMIUM``); nothing is
downloaded. It is driven over the Chrome DevTools Protocol through a pipe (``--remote-debugging-pipe``),
with the standard library only: no Selenium, no Playwright, no driver binary. POSIX only.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

# Runs in the page: wait for images, then list each image's natural size and each same-site link's status.
CHECK_JS = """(async () => {
  const imgs = [...document.images];
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  const here = location.origin;
  const links = [...new Set([...document.querySelectorAll('a[href]')].map(a => a.href.split('#')[0])
                 .filter(h => h.startsWith(here)))];
  const status = {};
  for (const h of links) { status[h] = (await fetch(h, {method: 'HEAD'})).status; }
  return {title: document.title, height: document.documentElement.scrollHeight,
          images: imgs.map(i => ({src: i.src.slice(0, 60), local: !/^https?:/.test(i.src) || i.src.startsWith(here),
                                  width: i.naturalWidth, height: i.naturalHeight})),
          links: status};
})()"""


def find_chromium() -> str | None:
    """The Chromium (or Chrome) binary: ``$CHROMIUM``, else the first of the usual names on the PATH
    (None on Windows, where the pipe set-up used here does not work)."""
    if os.name != "posix":
        return None
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 and a free port; yield the base URL; stop on exit."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: D102 - no request log on stderr
        pass


def _move_up(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or more (not inherited); the original is closed."""
    import fcntl  # POSIX only, like the whole pipe set-up

    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


class Browser:
    """A headless Chromium driven over CDP through a pipe: open a page, evaluate JS, take a screenshot."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900, timeout: float = 60.0) -> None:
        self.timeout, self._id, self._buf = timeout, 0, b""
        self._profile = tempfile.mkdtemp(prefix="book-chromium-")
        to_child, self._send_fd = os.pipe()
        self._recv_fd, from_child = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4. Its ends are moved to fd >= 10 first,
        # so that placing them on 3 and 4 in the child cannot overwrite one with the other.
        to_child, from_child = (_move_up(fd) for fd in (to_child, from_child))

        def child_fds() -> None:  # in the child, before exec: dup2 makes 3 and 4 inheritable
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        args = [binary, "--headless", "--remote-debugging-pipe", f"--user-data-dir={self._profile}",
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", "--mute-audio", f"--window-size={width},{height}", "about:blank"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox (containers, CI)
        # close_fds=False: with it, fds 3 and 4 would be closed after child_fds ran (and pass_fds=(3, 4)
        # fails when the parent has no fd 3). Python's own descriptors are not inherited anyway (PEP 446).
        self.proc = subprocess.Popen(args, close_fds=False, preexec_fn=child_fds,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in (to_child, from_child):
            os.close(fd)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)

    def call(self, method: str, session: bool = False, **params) -> dict:
        """Send one CDP command and return its result (raises on a CDP error or a timeout)."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._send_fd, json.dumps(msg).encode() + b"\0")
        reply = self._wait(lambda m: m.get("id") == self._id, method)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _wait(self, match, what: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                msg = json.loads(raw)
                if match(msg):
                    return msg
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._recv_fd], [], [], left)[0]:
                raise TimeoutError(f"Chromium did not answer {what} within {self.timeout:.0f} s")
            chunk = os.read(self._recv_fd, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium exited while waiting for {what}")
            self._buf += chunk

    def open(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        self.call("Page.navigate", session=True, url=url)
        self._wait(lambda m: m.get("method") == "Page.loadEventFired", f"the load of {url}")

    def evaluate(self, expression: str):
        """The JSON value of a JavaScript expression (promises awaited)."""
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, height: int) -> None:
        """Save the top ``height`` CSS pixels of the page as a PNG."""
        width = self.evaluate("document.documentElement.clientWidth")
        shot = self.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        """Close the browser and delete its temporary profile."""
        with contextlib.suppress(Exception):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._send_fd, self._recv_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)


def problems(report: dict) -> list[str]:
    """What is wrong on a page, from :data:`CHECK_JS`'s report: local images of zero size, links not 200."""
    bad = [f"image {i['src']}... has no size" for i in report["images"] if i["local"] and not i["width"]]
    bad += [f"link {url} answers {code}" for url, code in report["links"].items() if code != 200]
    return bad


def first_page_with_figure(site: Path) -> str:
    """The first chapter page (in book order) that holds an embedded PNG, else the first chapter page."""
    pages = sorted(p for p in site.rglob("*.html") if p.parent != site)
    if not pages:
        raise SystemExit(f"no chapter pages in {site}")
    with_png = [p for p in pages if 'src="data:image/png' in p.read_text(encoding="utf-8")]
    return (with_png or pages)[0].relative_to(site).as_posix()


def check_site(site: Path, page: str | None = None, screenshot: Path | None = None,
               binary: str | None = None) -> dict[str, dict]:
    """Open ``index.html`` and one chapter page of ``site``; return each page's report (see CHECK_JS) with
    its ``problems``, and save the chapter page's screenshot (its top 2,400 pixels) to ``screenshot``."""
    binary = binary or find_chromium()
    if binary is None:
        raise FileNotFoundError("no Chromium found: install Debian's `chromium` package or set $CHROMIUM")
    page = page or first_page_with_figure(site)
    reports = {}
    with serve(site) as base:
        browser = Browser(binary)
        try:
            for name in ("index.html", page):
                browser.open(base + name)
                report = browser.evaluate(CHECK_JS)
                report["problems"] = problems(report)
                reports[name] = report
            if screenshot is not None:
                browser.screenshot(screenshot, min(2400, reports[page]["height"]))
        finally:
            browser.close()
    return reports


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", nargs="?", type=Path, default=ROOT / "build" / "site")
    ap.add_argument("--page", help="the chapter page to open, relative to the site (default: first with a figure)")
    ap.add_argument("--screenshot", type=Path, default=ROOT / "build" / "site-screenshot.png")
    args = ap.parse_args(argv)
    reports = check_site(args.site, args.page, args.screenshot)
    bad = 0
    for name, r in reports.items():
        local = [i for i in r["images"] if i["local"]]
        print(f"{name}: {len(local)} images, {len(r['links'])} site links, {len(r['problems'])} problems")
        for p in r["problems"]:
            print(f"  {p}")
        bad += len(r["problems"])
    print(f"screenshot: {args.screenshot}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
