"""The PubFig stand-in (faces, photos, URL lists) and its loader's real-data path (Chapter 7)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from book_utils.datasets import pubfig
from book_utils.standins import pubfig as web
from book_utils.standins.faces import draw_face, make_identity, make_shot


@pytest.fixture(scope="module")
def small_web(tmp_path_factory):
    """A web of 3 dev and 4 eval people, three photos each on average, one failure of each kind."""
    mp = pytest.MonkeyPatch()
    mp.setattr(web, "LISTS", {"dev": 3, "eval": 4})
    mp.setattr(web, "FAILURES", {k: 1 for k in web.BAD_FATES})
    dest = tmp_path_factory.mktemp("web")
    try:
        info = web.write_web(dest, per_person=3, workers=1)
    finally:
        mp.undo()
    return dest, info


def test_lists_have_pubfigs_layout_and_checksums(small_web):
    dest, info = small_web
    lines = (dest / "dev_urls.txt").read_text().splitlines()
    assert lines[0].startswith("# ") and lines[1] == "#\tperson\timagenum\turl\trect\tmd5sum"
    df = pubfig.read_url_list(dest / "dev_urls.txt")
    assert list(df.columns) == ["person", "imagenum", "url", "rect", "md5sum"] and len(df) == info["rows"]["dev"]
    assert df.person.nunique() == 3 and df.imagenum.dtype.kind == "i"
    row = df.iloc[0]
    path = dest / row.url.split(web.HOST, 1)[1].lstrip("/")
    assert hashlib.md5(path.read_bytes()).hexdigest() == row.md5sum
    assert len(pubfig.parse_rect(row.rect)) == 4


def test_every_designed_failure_is_planned_once_per_list(small_web):
    dest, _ = small_web
    fates = json.loads((dest / "fates.json").read_text())
    for list_name in ("dev", "eval"):
        mine = [f for path, f in fates.items() if f"/{list_name}/" in path]
        assert sorted(mine) == sorted([*web.BAD_FATES, *["redirect"] * web.REDIRECTS])  # BAD_FATES: all kinds
    assert (dest / "placeholder.jpg").is_file()


def test_photos_are_deterministic_and_people_differ():
    a, box_a = web.render_photo(5, 1)
    b, box_b = web.render_photo(5, 1)
    assert box_a == box_b and np.array_equal(np.asarray(a), np.asarray(b))
    assert web.identity_of(5) != web.identity_of(6)
    assert len(set(web.person_names())) == sum(web.LISTS.values()) == 200


def test_some_files_are_grayscale_or_cmyk():
    rng = np.random.default_rng(0)
    img = Image.new("RGB", (32, 32))
    modes = set()
    for _ in range(300):
        with Image.open(__import__("io").BytesIO(web.jpeg_bytes(img, rng))) as im:
            modes.add(im.mode)
    assert modes == {"RGB", "L", "CMYK"}


def test_the_face_detector_finds_at_least_90_percent_of_generated_faces():
    found = 0
    n = 0
    for person in range(0, 200, 5):
        for imagenum in (1, 2):
            img, (x0, y0, x1, y1) = web.render_photo(person, imagenum)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            boxes = pubfig.detect_faces(img)
            found += any(a <= cx <= c and b <= cy <= d for a, b, c, d in boxes)
            n += 1
    assert found / n >= 0.9, f"the detector found {found} of {n} faces"


def test_a_face_has_transparent_corners_and_its_requested_width():
    rng = np.random.default_rng(1)
    who = make_identity(rng)
    face = draw_face(who, make_shot(rng, who), 60, rng)
    alpha = np.asarray(face)[..., 3]
    assert face.mode == "RGBA" and face.size == (96, 96)
    assert alpha[0, 0] == 0 and alpha[48, 48] == 255


def test_rects_are_clamped_and_bad_rects_rejected():
    assert pubfig.clamp_rect((-5, 10, 50, 300), 100, 200) == (0, 10, 50, 200)
    assert pubfig.clamp_rect((150, 10, 180, 40), 100, 200) is None
    with pytest.raises(ValueError, match="four numbers"):
        pubfig.parse_rect("1,2,3")
    img = Image.new("RGB", (100, 80), (255, 0, 0))
    face = pubfig.crop_face(img, (-20, -20, 30, 30), 16)
    assert face.shape == (16, 16, 3) and (face[..., 0] == 255).all()


def test_real_files_are_read_in_the_books_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOOK_OFFLINE", "1")
    base = tmp_path / "pubfig"
    base.mkdir()
    assert pubfig.real_status(base).path is None and pubfig.real_status(base).problem is None
    header = "# real lists\n#\tperson\timagenum\turl\trect\tmd5sum\n"
    rows = {"dev": [("Ann Lee", 1), ("Ann Lee", 2), ("Bo Yu", 1)], "eval": [("Cy Ho", 1), ("Cy Ho", 2), ("Di Ma", 1),
                                                                          ("Di Ma", 2)]}
    for list_name, items in rows.items():
        text = header + "".join(f"{p}\t{n}\thttp://x/{n}.jpg\t10,10,40,50\t0\n" for p, n in items)
        (base / f"{list_name}_urls.txt").write_text(text)
    assert "no photos" in pubfig.real_status(base).problem
    for items in rows.values():
        for p, n in items:
            (base / p).mkdir(exist_ok=True)
            Image.new("L", (60, 60), 128).save(base / p / f"{p}{n}.jpg")  # grayscale, as some PubFig files are
    (base / "Di Ma" / "Di Ma2.jpg").write_bytes(b"")  # a failed download: skipped
    dev = pubfig.load_pubfig("dev", source="real", root=base, size=8)
    assert dev.source == "real" and dev.classes == ["Ann Lee", "Bo Yu"] and len(dev) == 3
    assert dev[0][0].mode == "RGB" and dev[0][0].size == (8, 8)
    train = pubfig.load_pubfig("eval", source="real", root=base, size=8, verbose=False)
    assert len(train) == 3 and train.classes == ["Cy Ho", "Di Ma"]
