"""Tests of book_utils.download against a real HTTP server on 127.0.0.1 (no internet needed)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import time
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from book_utils import download
from book_utils.download import DownloadError, OfflineError, Resource, fetch, sha256sum, try_fetch

GOOD = bytes(range(256)) * 40  # 10 KiB of binary data
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()
WRONG_SHA = "0" * 64


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar_gz(members: dict[str, bytes], symlink: tuple[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if symlink is not None:
            info = tarfile.TarInfo(symlink[0])
            info.type, info.linkname = tarfile.SYMTYPE, symlink[1]
            tf.addfile(info)
    return buf.getvalue()


ZIP = _zip({"pack/a.txt": b"alpha", "pack/sub/b.bin": GOOD})
EVIL_ZIP = _zip({"ok.txt": b"fine", "../evil.txt": b"escaped"})
TGZ = _tar_gz({"pack/a.txt": b"alpha"})
LINK_TGZ = _tar_gz({"a.txt": b"alpha"}, symlink=("link", "/etc/passwd"))
BINARY = "application/octet-stream"

# path -> (status, content type, body, announced extra bytes, delay in seconds)
ROUTES = {
    "/good.bin": (200, BINARY, GOOD, 0, 0.0),
    "/slow.bin": (200, BINARY, GOOD, 0, 0.3),
    "/html.bin": (200, "text/html; charset=utf-8", b"<html><body>Please log in</body></html>", 0, 0.0),
    "/cut.bin": (200, BINARY, GOOD[:1000], len(GOOD) - 1000, 0.0),
    "/data.zip": (200, "application/zip", ZIP, 0, 0.0),
    "/evil.zip": (200, "application/zip", EVIL_ZIP, 0, 0.0),
    "/data.tar.gz": (200, "application/gzip", TGZ, 0, 0.0),
    "/link.tar.gz": (200, "application/gzip", LINK_TGZ, 0, 0.0),
}


class _Handler(BaseHTTPRequestHandler):
    hits: Counter = Counter()

    def do_GET(self) -> None:  # noqa: N802 - name fixed by http.server
        self.hits[self.path] += 1
        if self.path not in ROUTES:
            self.send_error(404, "Not Found")
            return
        status, ctype, body, extra, delay = ROUTES[self.path]
        time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) + extra))  # extra > 0: promise more than we send
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """Online by default, no proxy for 127.0.0.1, a fresh request counter and registry."""
    monkeypatch.setenv("BOOK_OFFLINE", "0")
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setattr(download, "REGISTRY", {})
    _Handler.hits.clear()


def res(server: str, path: str, sha: str | None = GOOD_SHA, **kw) -> Resource:
    return Resource(name=path.strip("/"), url=server + path, sha256=sha, filename=path.strip("/"), **kw)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def test_success_then_cached_without_request(server, tmp_path):
    r = res(server, "/good.bin", size=len(GOOD))
    path = fetch(r, tmp_path, progress=False)
    assert path == tmp_path / "good.bin" and path.read_bytes() == GOOD
    assert sha256sum(path) == GOOD_SHA
    assert fetch(r, tmp_path, progress=False) == path
    assert _Handler.hits["/good.bin"] == 1
    assert leftovers(tmp_path) == ["good.bin"]  # no temp files left behind


def test_registry_lookup_by_name(server, tmp_path):
    r = download.register(res(server, "/good.bin"))
    assert download.register(res(server, "/good.bin")) == r  # same resource twice is fine
    with pytest.raises(ValueError, match="already registered"):
        download.register(res(server, "/good.bin", sha=WRONG_SHA))
    assert fetch("good.bin", tmp_path, progress=False).read_bytes() == GOOD
    with pytest.raises(ValueError, match="Unknown resource 'nope'"):
        fetch("nope", tmp_path)


def test_checksum_mismatch_leaves_no_file(server, tmp_path):
    with pytest.raises(DownloadError, match="sha256 mismatch") as info:
        fetch(res(server, "/good.bin", sha=WRONG_SHA), tmp_path, progress=False)
    assert str(tmp_path / "good.bin") in str(info.value) and "BOOK_OFFLINE=1" in str(info.value)
    assert leftovers(tmp_path) == []


def test_corrupt_file_on_disk_is_replaced(server, tmp_path):
    (tmp_path / "good.bin").write_bytes(b"garbage")
    assert fetch(res(server, "/good.bin"), tmp_path, progress=False).read_bytes() == GOOD
    assert _Handler.hits["/good.bin"] == 1


def test_html_error_page_refused(server, tmp_path):
    with pytest.raises(DownloadError, match="HTML page"):
        fetch(res(server, "/html.bin", sha=None), tmp_path, progress=False)
    assert leftovers(tmp_path) == []


def test_404_clear_error(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP error 404") as info:
        fetch(res(server, "/missing.bin"), tmp_path, progress=False)
    assert "by hand" in str(info.value) and "/missing.bin" in str(info.value)
    assert leftovers(tmp_path) == []


def test_interrupted_transfer_detected(server, tmp_path):
    with pytest.raises(DownloadError, match="interrupted|IncompleteRead"):
        fetch(res(server, "/cut.bin", sha=None), tmp_path, progress=False)
    assert leftovers(tmp_path) == []


def test_wrong_size_refused(server, tmp_path):
    with pytest.raises(DownloadError, match="expected 5"):
        fetch(res(server, "/good.bin", sha=None, size=5), tmp_path, progress=False)
    assert leftovers(tmp_path) == []


def test_unreachable_server(tmp_path):
    r = Resource("dead", "http://127.0.0.1:9/x.bin", None, "x.bin")  # port 9 (discard) is closed here
    with pytest.raises(DownloadError, match="Could not download 'dead'"):
        fetch(r, tmp_path, timeout=2, progress=False)


def test_offline_raises_without_request(server, tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_OFFLINE", "1")
    with pytest.raises(OfflineError, match="BOOK_OFFLINE=1 forbids downloads") as info:
        fetch(res(server, "/good.bin"), tmp_path)
    assert str(tmp_path / "good.bin") in str(info.value) and "is missing" in str(info.value)
    assert isinstance(info.value, DownloadError) and isinstance(info.value, RuntimeError)
    assert sum(_Handler.hits.values()) == 0


def test_offline_uses_verified_file_on_disk(server, tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_OFFLINE", "1")
    (tmp_path / "good.bin").write_bytes(GOOD)
    assert fetch(res(server, "/good.bin"), tmp_path) == tmp_path / "good.bin"
    (tmp_path / "good.bin").write_bytes(GOOD[:-1] + b"!")
    with pytest.raises(OfflineError, match="sha256"):
        fetch(res(server, "/good.bin"), tmp_path)


def test_try_fetch_returns_none(server, tmp_path, monkeypatch, capsys):
    assert try_fetch(res(server, "/missing.bin"), tmp_path, progress=False) is None
    monkeypatch.setenv("BOOK_OFFLINE", "1")
    assert try_fetch(res(server, "/good.bin"), tmp_path) is None
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "404" in lines[0] and "BOOK_OFFLINE=1" in lines[1]
    assert "missing.bin" in lines[0] and "good.bin is missing" in lines[1]
    assert _Handler.hits["/good.bin"] == 0


def test_default_dest_is_data_dir(server, tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "data"))
    assert fetch(res(server, "/good.bin"), progress=False) == tmp_path / "data" / "good.bin"


@pytest.mark.parametrize("route", ["/data.zip", "/data.tar.gz"])
def test_extraction(server, tmp_path, route):
    folder = fetch(res(server, route, sha=None, extract=True), tmp_path, progress=False)
    assert folder == tmp_path / "data"
    assert (folder / "pack" / "a.txt").read_bytes() == b"alpha"
    assert (tmp_path / route.strip("/")).is_file()  # the archive stays beside the folder
    assert fetch(res(server, route, sha=None, extract=True), tmp_path) == folder
    assert _Handler.hits[route] == 1


@pytest.mark.parametrize("route", ["/evil.zip", "/link.tar.gz"])
def test_extraction_traversal_refused(server, tmp_path, route):
    with pytest.raises(DownloadError, match="Refusing to unpack"):
        fetch(res(server, route, sha=None, extract=True), tmp_path, progress=False)
    assert not (tmp_path.parent / "evil.txt").exists()
    assert not (tmp_path / "evil").exists() and not (tmp_path / "link").exists()


def test_concurrent_fetch_downloads_once(server, tmp_path):
    r = res(server, "/slow.bin")
    results, errors = [], []

    def worker():
        try:
            results.append(fetch(r, tmp_path, progress=False))
        except Exception as exc:  # pragma: no cover - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == [tmp_path / "slow.bin"] * 3
    assert (tmp_path / "slow.bin").read_bytes() == GOOD
    assert _Handler.hits["/slow.bin"] == 1
    assert leftovers(tmp_path) == ["slow.bin"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"url": "ftp://x/y.bin"}, "http"),
        ({"sha256": "abc"}, "64 hex"),
        ({"filename": "../y.bin"}, "plain file name"),
        ({"filename": ""}, "plain file name"),
        ({"size": -1}, "size"),
        ({"extract": True}, "extract=True"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_resource_rejected(kwargs, message):
    fields = {"name": "x", "url": "https://example.org/y.bin", "sha256": None, "filename": "y.bin"} | kwargs
    with pytest.raises(ValueError, match=message):
        Resource(**fields)


def test_sha256_normalised():
    r = Resource("x", "https://example.org/y.bin", GOOD_SHA.upper(), "y.bin")
    assert r.sha256 == GOOD_SHA
