"""The generated scenes of chapters 5 and 6: the book's rules, the two on-disk formats, the loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from book_utils.datasets.sun_scenes import load_sun_scenes, read_label
from book_utils.datasets.voc import load_voc, parse_annotation
from book_utils.standins import sky_scenes, sun_scenes, voc_format


@pytest.fixture(scope="module")
def suns(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("suns")
    sun_scenes.write_sun_scenes(dest, 12, seed=0)
    return dest


def test_the_books_rules_hold(suns):
    for i in range(12):
        img, boxes, instances = sun_scenes.render_scene(i)
        assert img.shape == (300, 300, 3) and 1 <= len(boxes) <= 3
        squares = [sun_scenes.pasted_square(*b) for b in boxes]
        for k, (_, _, side) in enumerate(boxes):
            x0, y0, x1, y1 = squares[k]
            assert 75 <= side <= 120 and 0 <= x0 and 0 <= y0 and x1 <= 300 and y1 <= 300
            ys, xs = np.nonzero(instances == k + 1)
            assert len(ys) > 0 and xs.min() >= x0 and xs.max() < x1 and ys.min() >= y0 and ys.max() < y1
        for a in range(len(squares)):
            for b in range(a + 1, len(squares)):
                (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = squares[a], squares[b]
                assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, "suns overlap"


def test_scene_i_does_not_depend_on_n_or_order():
    a = sun_scenes.render_scene(5, seed=3)
    sun_scenes.render_scene(1, seed=3)
    b = sun_scenes.render_scene(5, seed=3)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert not np.array_equal(a[0], sun_scenes.render_scene(5, seed=4)[0])


def test_cut_out_is_the_books_rule():
    rgb = np.full((2, 2, 3), 255, np.uint8)
    rgb[0, 0] = (250, 250, 249)  # mean 249.67 < 250: object
    rgb[1, 1] = (250, 250, 250)  # mean 250: background
    assert sun_scenes.cut_out(rgb).tolist() == [[True, False], [False, False]]


def test_both_layouts_agree(suns):
    labels = read_label(suns / "object_detection" / "0003.txt")
    boxes, classes = parse_annotation(suns / "VOCdevkit/VOC2012/Annotations/0003.xml", list(sun_scenes.CLASSES))
    expected = np.array([sun_scenes.pasted_square(*b) for b in labels], dtype=np.float32)
    np.testing.assert_array_equal(boxes, expected)
    assert (classes == 1).all()
    jpg = (suns / "object_detection/0003.jpg").read_bytes()
    assert jpg == (suns / "VOCdevkit/VOC2012/JPEGImages/0003.jpg").read_bytes()
    from PIL import Image

    mask = np.asarray(Image.open(suns / "segmentation/0003.png"))
    assert set(np.unique(mask)) <= {0, 255}  # a PNG keeps the mask exact (the book's JPEG did not)
    seg = np.asarray(Image.open(suns / "VOCdevkit/VOC2012/SegmentationClass/0003.png"))
    assert set(np.unique(seg)) <= {0, 1, 255} and (seg == 255).any(), "VOC's void band along the edges"


def test_torchvision_reads_the_voc_copy(suns):
    import torchvision

    det = torchvision.datasets.VOCDetection(str(suns), year="2012", image_set="train")
    seg = torchvision.datasets.VOCSegmentation(str(suns), year="2012", image_set="val")
    train, val = sun_scenes.book_split([f"{i:04d}" for i in range(12)])
    assert len(det) == len(train) and len(seg) == len(val)
    assert det[0][1]["annotation"]["object"][0]["name"] == "sun"
    lines = (suns / "VOCdevkit/VOC2012/ImageSets/Main/sun_train.txt").read_text().splitlines()
    assert len(lines) == len(train) and all(line.endswith(" 1") for line in lines)


def test_book_split_is_sklearns():
    from sklearn.model_selection import train_test_split

    ids = [f"{i:04d}" for i in range(50)]
    assert sun_scenes.book_split(ids) == tuple(list(x) for x in train_test_split(ids, test_size=0.2,
                                                                                 random_state=20))


def test_sky_scenes():
    img, objects, instances = sky_scenes.render_sky_scene(3)
    assert 1 <= len(objects) <= 4 and instances.max() == len(objects)
    for k, (cls, (x0, y0, x1, y1)) in enumerate(objects, 1):
        assert 1 <= cls <= 4
        ys, xs = np.nonzero(instances == k)
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x0, y0, x1, y1)
    sizes = [sky_scenes.render_sky_scene(i)[0].shape[:2] for i in range(40)]
    assert any(min(s) < 256 for s in sizes) and any(s == (300, 300) for s in sizes)
    for kind in sky_scenes.CLASSES[1:]:
        rgba = sky_scenes.draw_object(kind, 1, 64)
        assert rgba.shape == (64, 64, 4) and 0.05 < (rgba[..., 3] > 127).mean() < 0.8
    with pytest.raises(ValueError, match="unknown object"):
        sky_scenes.draw_object("cloud")


def test_loaders(data, monkeypatch):
    train = load_sun_scenes("train", n=10)
    img, target = train[0]
    assert img.size == (300, 300) and target["boxes"].shape[1] == 4 and target["masks"].shape[1:] == (300, 300)
    assert len(train) + len(load_sun_scenes("test", n=10, verbose=False)) == 10
    voc = load_voc("trainval", n=10, task="instances")
    assert voc.source == "standin" and len(voc) == 10 and voc.classes == ["background", "sun"]
    sky = load_voc("train", n=10, task="segmentation", flavour="sky")
    assert sky.classes[1:] == ["sun", "moon", "balloon", "kite"] and sky[0][1].ndim == 2
    with pytest.raises(ValueError, match="flavour"):
        load_voc("train", n=10, flavour="sea")
    from torchvision.transforms import v2

    small = load_sun_scenes("train", n=10, verbose=False, transforms=v2.Compose([v2.ToImage(), v2.Resize((150, 150))]))
    x, t = small[0]
    assert x.shape == (3, 150, 150) and torch.allclose(t["boxes"], target["boxes"] / 2)


def test_user_backgrounds_replace_the_drawn_skies(data):
    from PIL import Image

    folder = data / "sun_scenes" / "user_backgrounds"
    folder.mkdir(parents=True)
    Image.fromarray(np.full((80, 120, 3), (10, 200, 30), np.uint8)).save(folder / "green.png")
    ds = load_sun_scenes("all", n=10)
    assert "bg" in ds.root.name and not ds.root.name.endswith("bgbundled")
    img = np.asarray(ds[0][0])
    assert (np.abs(img[0, 0].astype(int) - (10, 200, 30)) < 12).all(), "the corner shows the user's photo"


def test_void_band_and_palette():
    labels = np.zeros((8, 8), np.uint8)
    labels[2:6, 2:6] = 1
    band = voc_format.void_band(labels)
    assert band[2, 2] and band[1, 1] and not band[4, 4] and not band[0, 7]
    assert voc_format.voc_colormap()[1].tolist() == [128, 0, 0]
