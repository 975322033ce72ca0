"""The PubFig test server (book_utils.standins.pubfig_server): every designed fate, the bounds, a clean stop."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import socket
import threading
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from book_utils.standins.pubfig import HOST, placeholder_jpeg
from book_utils.standins.pubfig_server import LOOPBACK, PubFigServer

FATES = {"/photos/dev/000_002.jpg": "404", "/photos/dev/000_003.jpg": "html",
         "/photos/dev/000_004.jpg": "truncated", "/photos/dev/000_005.jpg": "slow",
         "/photos/dev/000_006.jpg": "redirect", "/photos/eval/060_001.jpg": "placeholder"}


def _jpeg(shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 90, 200 - shade)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture()
def web(tmp_path: Path) -> Path:
    """A tiny web in write_web's layout: 6 dev photos (one per fate), 1 eval photo (a placeholder)."""
    for list_name, keys in (("dev", [f"000_{i:03d}" for i in range(1, 7)]), ("eval", ["060_001"])):
        (tmp_path / "photos" / list_name).mkdir(parents=True)
        lines = [f"# stand-in {list_name}_urls.txt", "#\tperson\timagenum\turl\trect\tmd5sum"]
        for i, key in enumerate(keys, 1):
            data = _jpeg(20 * i)
            (tmp_path / "photos" / list_name / f"{key}.jpg").write_bytes(data)
            lines.append(f"Ada Berg\t{i}\thttp://{HOST}/photos/{list_name}/{key}.jpg\t1,2,30,40\t"
                         f"{hashlib.md5(data).hexdigest()}")
        (tmp_path / f"{list_name}_urls.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "fates.json").write_text(json.dumps(FATES))
    (tmp_path / "placeholder.jpg").write_bytes(placeholder_jpeg())
    return tmp_path


def _server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("PubFigServer") or "process_request" in t.name]


def test_loopback_free_port_and_url(web: Path) -> None:
    with PubFigServer(web) as server:
        assert server.port > 0
        assert server._httpd.server_address[0] == LOOPBACK
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        assert server.url("/photos/dev/000_001.jpg") == server.url("photos/dev/000_001.jpg")
        assert server.running


def test_lists_point_back_to_the_server(web: Path) -> None:
    with PubFigServer(web) as server:
        r = requests.get(server.url("dev_urls.txt"), timeout=2)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
        assert HOST not in r.text and r.text.count(f"{server.base_url}/photos/dev/") == 6
        assert r.text.splitlines()[1] == "#\tperson\timagenum\turl\trect\tmd5sum"
        assert requests.get(server.url("eval_urls.txt"), timeout=2).text.count(server.base_url) == 1
        assert server.log[0] == ("/dev_urls.txt", 200, "list")


def test_fine_photo_is_the_file(web: Path) -> None:
    with PubFigServer(web) as server:
        r = requests.get(server.url("photos/dev/000_001.jpg"), timeout=2)
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
        assert r.content == (web / "photos/dev/000_001.jpg").read_bytes()
        assert server.log == [("/photos/dev/000_001.jpg", 200, "ok")]


def test_404_and_unknown_paths(web: Path) -> None:
    with PubFigServer(web) as server:
        assert requests.get(server.url("photos/dev/000_002.jpg"), timeout=2).status_code == 404
        assert requests.get(server.url("photos/dev/999_999.jpg"), timeout=2).status_code == 404
        assert requests.get(server.url("fates.json"), timeout=2).status_code == 404
        conn = http.client.HTTPConnection(LOOPBACK, server.port, timeout=2)  # a raw path: no client clean-up
        conn.request("GET", "/photos/../fates.json")
        assert conn.getresponse().status == 404
        conn.close()
        assert [fate for _, _, fate in server.log] == ["404", "unknown", "unknown", "unknown"]


def test_html_page_with_status_200(web: Path) -> None:
    with PubFigServer(web) as server:
        r = requests.get(server.url("photos/dev/000_003.jpg"), timeout=2)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
        assert r.content.lstrip().startswith(b"<!DOCTYPE html>")


def test_truncated_body_breaks_the_download(web: Path) -> None:
    full = (web / "photos/dev/000_004.jpg").read_bytes()
    with PubFigServer(web) as server:
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(server.url("photos/dev/000_004.jpg"), timeout=2)
        conn = http.client.HTTPConnection(LOOPBACK, server.port, timeout=2)
        conn.request("GET", "/photos/dev/000_004.jpg")
        resp = conn.getresponse()
        assert int(resp.headers["Content-Length"]) == len(full)
        with pytest.raises(http.client.IncompleteRead) as err:
            resp.read()
        assert err.value.partial == full[: len(full) // 2]
        conn.close()


def test_slow_photo_times_out_and_does_not_block_stop(web: Path) -> None:
    server = PubFigServer(web, slow_seconds=30)
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(server.url("photos/dev/000_005.jpg"), timeout=0.2)
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 2
    assert ("/photos/dev/000_005.jpg", 0, "slow") in server.log


def test_slow_photo_arrives_after_its_delay(web: Path) -> None:
    with PubFigServer(web, slow_seconds=0.3) as server:
        start = time.monotonic()
        r = requests.get(server.url("photos/dev/000_005.jpg"), timeout=3)
        assert time.monotonic() - start >= 0.3
        assert r.content == (web / "photos/dev/000_005.jpg").read_bytes()


def test_redirect_leads_to_the_right_bytes(web: Path) -> None:
    with PubFigServer(web) as server:
        r = requests.get(server.url("photos/dev/000_006.jpg"), timeout=2)
        assert [h.status_code for h in r.history] == [302]
        assert r.status_code == 200 and r.url == server.url("moved/photos/dev/000_006.jpg")
        assert r.content == (web / "photos/dev/000_006.jpg").read_bytes()
        assert [fate for _, _, fate in server.log] == ["redirect", "moved"]


def test_placeholder_is_a_jpeg_with_the_wrong_md5(web: Path) -> None:
    listed = (web / "eval_urls.txt").read_text().splitlines()[2].split("\t")[4]
    with PubFigServer(web) as server:
        r = requests.get(server.url("photos/eval/060_001.jpg"), timeout=2)
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
        assert r.content == placeholder_jpeg()
        assert hashlib.md5(r.content).hexdigest() != listed
        Image.open(io.BytesIO(r.content)).verify()  # a valid image: only the md5 (or a detector) can tell


def test_max_requests_then_503(web: Path) -> None:
    with PubFigServer(web, max_requests=2) as server:
        statuses = [requests.get(server.url("photos/dev/000_001.jpg"), timeout=2).status_code for _ in range(4)]
        assert statuses == [200, 200, 503, 503]
        assert server.requests_seen == 4 and [f for _, _, f in server.log][2:] == ["over limit"] * 2


def test_max_seconds_stops_by_itself(web: Path) -> None:
    server = PubFigServer(web, max_seconds=0.3)
    assert requests.get(server.url("dev_urls.txt"), timeout=2).status_code == 200
    server._thread.join(3)
    assert not server.running and server.expired
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(server.url("dev_urls.txt"), timeout=1)
    server.stop()  # still fine after it stopped itself


def test_stop_leaves_no_thread_and_closes_the_socket(web: Path) -> None:
    before = set(_server_threads())
    server = PubFigServer(web, slow_seconds=30)
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            requests.get(server.url("photos/dev/000_005.jpg"), timeout=10)
        except requests.RequestException as exc:  # the server hangs up when it stops
            errors.append(exc)

    client = threading.Thread(target=fetch)
    client.start()
    deadline = time.monotonic() + 2
    while len(_server_threads()) < len(before) + 2 and time.monotonic() < deadline:  # server + the slow request
        time.sleep(0.01)
    assert len(_server_threads()) >= len(before) + 2
    server.stop()
    server.stop()  # twice is fine
    client.join(3)
    assert not client.is_alive() and len(errors) == 1
    assert set(_server_threads()) == before
    with pytest.raises(OSError), socket.create_connection((LOOPBACK, server.port), timeout=1):
        pass


def test_quiet(web: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with PubFigServer(web, slow_seconds=0.3) as server:
        for path in ("dev_urls.txt", "photos/dev/000_001.jpg", "photos/dev/000_002.jpg", "nothing"):
            requests.get(server.url(path), timeout=2)
        with pytest.raises(requests.exceptions.Timeout):  # the server later writes to a closed socket
            requests.get(server.url("photos/dev/000_005.jpg"), timeout=0.1)
        time.sleep(0.4)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_bad_arguments(tmp_path: Path, web: Path) -> None:
    with pytest.raises(FileNotFoundError, match="write_web"):
        PubFigServer(tmp_path / "nowhere")
    for kwargs in ({"max_requests": 0}, {"max_requests": 1.5}, {"max_seconds": 0}, {"slow_seconds": -1}):
        with pytest.raises(ValueError):
            PubFigServer(web, **kwargs)
