"""Unit tests for book_utils.plot (headless, Agg backend)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from book_utils import plot


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _drawn_images(fig):
    return sum(len(ax.images) for ax in fig.axes)


def test_show_images_layouts():
    rng = np.random.default_rng(0)
    fig = plot.show_images(rng.random((10, 8, 8)), ncols=4)
    assert len(fig.axes) == 12  # 3 rows x 4 columns, two left empty
    assert _drawn_images(fig) == 10
    # CxHxW tensors, HxWxC uint8 arrays and HxWx1 in one list
    imgs = [torch.rand(3, 6, 6), (rng.random((6, 6, 3)) * 255).astype(np.uint8), rng.random((6, 6, 1))]
    fig = plot.show_images(imgs, titles=["a", "b", "c"])
    assert len(fig.axes) == 3 and _drawn_images(fig) == 3
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    assert fig.axes[0].images[0].get_array().shape == (6, 6, 3)
    assert fig.axes[2].images[0].get_array().shape == (6, 6)
    # a batch of NxCxHxW, grad-tracking tensor
    fig = plot.show_images(torch.rand(2, 3, 5, 5, requires_grad=True))
    assert fig.axes[1].images[0].get_array().shape == (5, 5, 3)


def test_show_images_errors():
    with pytest.raises(ValueError, match="titles"):
        plot.show_images(np.zeros((2, 4, 4)), titles=["only one"])
    with pytest.raises(ValueError, match="shape"):
        plot.show_images([np.zeros((5, 5, 7))])
    with pytest.raises(ValueError, match="dimensions"):
        plot.show_images(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="at least one"):
        plot.show_images([])
    with pytest.raises(ValueError, match="ncols"):
        plot.show_images(np.zeros((2, 4, 4)), ncols=0)


def test_plot_history_groups_and_colours():
    h = {"train_loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6], "train_acc": [0.5, 0.7, 0.8],
         "val_acc": [0.4, 0.6, 0.7], "lr": [0.1, 0.1, 0.01], "epoch_time": [1.0, 1.0, 1.0]}
    fig = plot.plot_history(h)
    assert len(fig.axes) == 2
    loss_ax, acc_ax = fig.axes
    assert {ln.get_label() for ln in loss_ax.lines} == {"train_loss", "val_loss"}
    assert {ln.get_label() for ln in acc_ax.lines} == {"train_acc", "val_acc"}
    assert loss_ax.lines[0].get_color() == loss_ax.lines[1].get_color()
    assert acc_ax.lines[0].get_color() == acc_ax.lines[1].get_color()
    # only losses -> one axes; an explicit ax is reused
    assert len(plot.plot_history({"train_loss": [1, 0.5]}).axes) == 1
    fig, ax = plt.subplots()
    assert plot.plot_history(h, metrics=["val_acc"], ax=ax) is fig
    assert len(ax.lines) == 1


def test_plot_history_accepts_history_objects():
    class Hist:
        history = {"train_loss": [2.0, 1.0]}

    assert len(plot.plot_history(Hist()).axes) == 1


def test_plot_history_errors():
    with pytest.raises(ValueError, match="non-empty"):
        plot.plot_history({})
    with pytest.raises(KeyError, match="val_acc"):
        plot.plot_history({"train_loss": [1.0]}, metrics=["val_acc"])
    with pytest.raises(ValueError, match="no values"):
        plot.plot_history({"train_loss": []})


def test_plot_confusion_matrix_texts_and_labels():
    cm = np.array([[50, 0, 0], [0, 45, 5], [0, 1, 49]])
    ax = plot.plot_confusion_matrix(cm, ["setosa", "versicolor", "virginica"])
    assert [t.get_text() for t in ax.texts] == ["50", "0", "0", "0", "45", "5", "0", "1", "49"]
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["setosa", "versicolor", "virginica"]
    assert len(ax.images) == 1
    ax = plot.plot_confusion_matrix(torch.tensor([[3, 1], [0, 0]]), ["a", "b"], normalize=True)
    assert [t.get_text() for t in ax.texts] == ["0.75", "0.25", "0.00", "0.00"]


def test_plot_confusion_matrix_errors():
    with pytest.raises(ValueError, match="square"):
        plot.plot_confusion_matrix(np.zeros((2, 3)), ["a", "b"])
    with pytest.raises(ValueError, match="labels"):
        plot.plot_confusion_matrix(np.zeros((2, 2)), ["a", "b", "c"])


def test_plot_decision_boundary():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = np.array([0, 1, 1, 0])
    calls = []

    def predict(grid):
        calls.append(grid.shape)
        return (grid[:, 1] > 0.5).astype(int)

    ax = plot.plot_decision_boundary(predict, X, y, resolution=20)
    assert calls == [(400, 2)]
    assert len(ax.collections) >= 2  # filled contour + scatter
    # string labels work too
    ax = plot.plot_decision_boundary(lambda g: np.where(g[:, 0] > 0.5, "b", "a"), X, np.array(list("abab")))
    assert ax is not None


def test_plot_decision_boundary_errors():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot.plot_decision_boundary(lambda g: g[:, 0], np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="one label per row"):
        plot.plot_decision_boundary(lambda g: g[:, 0], X, np.zeros(3))
    with pytest.raises(TypeError, match="callable"):
        plot.plot_decision_boundary("predict", X, np.zeros(4))
    with pytest.raises(ValueError, match="grid points"):
        plot.plot_decision_boundary(lambda g: np.zeros(3), X, np.zeros(4), resolution=5)
    with pytest.raises(ValueError, match="resolution"):
        plot.plot_decision_boundary(lambda g: g[:, 0], X, np.zeros(4), resolution=1)


# --- value ranges: fixed by dtype, so that panels can be compared by eye ---------------------------------


def _clims(fig):
    return [ax.images[0].get_clim() for ax in fig.axes if ax.images]


def test_show_images_fixed_ranges():
    # the old behaviour (matplotlib's default) stretched each grayscale panel to its own min..max, so a flat
    # mid-grey image came out black and a dim image as bright as a bright one
    flat = np.full((8, 8), 128, dtype=np.uint8)
    assert _clims(plot.show_images([flat])) == [(0, 255)]
    dim, bright = np.full((8, 8), 0.1), np.linspace(0, 0.9, 64).reshape(8, 8)
    assert _clims(plot.show_images([dim, bright])) == [(0, 1), (0, 1)]
    assert _clims(plot.show_images(torch.rand(2, 1, 5, 5))) == [(0, 1), (0, 1)]
    assert _clims(plot.show_images([np.eye(4, dtype=bool)])) == [(0, 1)]
    assert _clims(plot.show_images([np.zeros((4, 4), np.uint16)])) == [(0, 65535)]


def test_show_images_normalize_and_explicit_range():
    kernel = np.array([[-2.0, 0.0], [1.0, 3.0]])
    fig = plot.show_images([kernel, kernel * 10], normalize=True)
    assert _clims(fig) == [(-2, 3), (-20, 30)]
    fig = plot.show_images([kernel], vmin=-5, vmax=5)
    assert _clims(fig) == [(-5, 5)]
    assert _clims(plot.show_images([kernel], vmax=4)) == [(0, 4)]  # the other end keeps the default
    # colour images: imshow ignores vmin/vmax there, so the helper maps them to 0..1 itself
    rgb = np.stack([np.full((5, 6), v) for v in (-1.0, 0.0, 1.0)])  # CxHxW
    shown = plot.show_images([rgb], normalize=True).axes[0].images[0].get_array()
    np.testing.assert_allclose(shown[0, 0], [0.0, 0.5, 1.0])
    shown = plot.show_images([rgb]).axes[0].images[0].get_array()
    np.testing.assert_allclose(shown[0, 0], [0.0, 0.0, 1.0])  # default: clipped to 0..1
    shown = plot.show_images([rgb], vmin=-1, vmax=3).axes[0].images[0].get_array()
    np.testing.assert_allclose(shown[0, 0], [0.0, 0.25, 0.5])
    u8 = np.full((4, 4, 3), 200, np.uint8)  # uint8 RGB goes through untouched
    assert plot.show_images([u8]).axes[0].images[0].get_array().dtype == np.uint8
    with pytest.raises(ValueError, match="not both"):
        plot.show_images([kernel], normalize=True, vmin=0)
    with pytest.raises(ValueError, match="smaller"):
        plot.show_images([kernel], vmin=1, vmax=1)


def test_show_images_cell_aspect_and_figsize():
    wide = plot.show_images(np.zeros((3, 60, 160), np.uint8), ncols=3)  # captcha-like: H=60, W=160
    w, h = wide.get_size_inches()
    assert w / h == pytest.approx(3 * 160 / 60)  # the square cells of old would give 3
    assert h == pytest.approx(1.6)  # scale stays the height of a cell
    tall = plot.show_images([np.zeros((100, 50))], scale=2)
    assert tuple(tall.get_size_inches()) == pytest.approx((1.0, 2.0))
    fig = plot.show_images(np.zeros((2, 8, 8)), figsize=(7, 3))
    assert tuple(fig.get_size_inches()) == pytest.approx((7, 3))
    # positional arguments as before
    fig = plot.show_images(np.zeros((4, 8, 8)), ["a", "b", "c", "d"], 2, 1.0, "viridis")
    assert len(fig.axes) == 4 and fig.axes[0].images[0].get_cmap().name == "viridis"


# --- show_boxes -------------------------------------------------------------------------------------------


def _rects(ax):
    return [p for p in ax.patches if isinstance(p, matplotlib.patches.Rectangle)]


@pytest.mark.parametrize(
    "box_format, boxes",
    [("xyxy", [[2, 4, 12, 10], [0, 0, 32, 20]]),
     ("xywh", [[2, 4, 10, 6], [0, 0, 32, 20]]),
     ("cxcywh", [[7, 7, 10, 6], [16, 10, 32, 20]])],
)
def test_show_boxes_formats(box_format, boxes):
    img = np.zeros((20, 32, 3), np.uint8)
    ax = plot.show_boxes(img, torch.tensor(boxes, dtype=torch.float32), box_format=box_format)
    rects = _rects(ax)
    assert len(rects) == 2 and len(ax.images) == 1
    # imshow centres pixel j on j, so box coordinate x is drawn at x - 0.5; [0, 0, W, H] frames the image
    assert rects[0].get_xy() == pytest.approx((1.5, 3.5))
    assert (rects[0].get_width(), rects[0].get_height()) == pytest.approx((10, 6))
    assert rects[1].get_xy() == pytest.approx((-0.5, -0.5))
    assert (rects[1].get_width(), rects[1].get_height()) == pytest.approx((32, 20))
    assert not rects[0].get_fill()


def test_show_boxes_labels_scores_colours_and_ax():
    img = np.random.default_rng(0).random((16, 16))
    ax = plot.show_boxes(img, [[1, 1, 5, 5], [6, 6, 15, 15]], labels=["cat", "dog"], scores=[0.91, 0.5],
                         colors="red")
    assert [t.get_text() for t in ax.texts] == ["cat 0.91", "dog 0.50"]
    assert all(r.get_edgecolor()[:3] == (1.0, 0.0, 0.0) for r in _rects(ax))
    assert ax.images[0].get_clim() == (0, 1)  # the same fixed ranges as show_images
    ax2 = plot.show_boxes(None, [[0, 0, 4, 4]], scores=[0.3], ax=ax, colors=["lime"])  # add predictions
    assert ax2 is ax and len(_rects(ax)) == 3 and len(ax.images) == 1 and ax.texts[-1].get_text() == "0.30"
    fig, ax = plt.subplots()
    assert plot.show_boxes(img, np.zeros((0, 4)), ax=ax) is ax  # no boxes: just the image
    assert len(ax.images) == 1 and not _rects(ax)
    assert not _rects(plot.show_boxes(img, []))


def test_show_boxes_errors():
    img = np.zeros((8, 8))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        plot.show_boxes(img, [[0, 0, 4]])
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        plot.show_boxes(img, [0, 0, 4, 4])
    with pytest.raises(ValueError, match="box_format"):
        plot.show_boxes(img, [[0, 0, 4, 4]], box_format="yxyx")
    with pytest.raises(ValueError, match="labels"):
        plot.show_boxes(img, [[0, 0, 4, 4]], labels=["a", "b"])
    with pytest.raises(ValueError, match="scores"):
        plot.show_boxes(img, [[0, 0, 4, 4]], scores=[])
    with pytest.raises(ValueError, match="x_max < x_min"):
        plot.show_boxes(img, [[4, 0, 2, 4]])  # xywh data passed as xyxy often looks like this
    with pytest.raises(ValueError, match="existing ax"):
        plot.show_boxes(None, [[0, 0, 4, 4]])


def test_show_boxes_checks_torchvision_format():
    tv_tensors = pytest.importorskip("torchvision.tv_tensors")
    boxes = tv_tensors.BoundingBoxes([[1, 2, 3, 4]], format="XYWH", canvas_size=(8, 8))
    with pytest.raises(ValueError, match="XYWH"):
        plot.show_boxes(np.zeros((8, 8)), boxes)
    rect = _rects(plot.show_boxes(np.zeros((8, 8)), boxes, box_format="xywh"))[0]
    assert (rect.get_width(), rect.get_height()) == pytest.approx((3, 4))


# --- show_masks -------------------------------------------------------------------------------------------


def _overlay(ax):
    return np.asarray(ax.images[-1].get_array())


def test_show_masks_bool_mask_and_stack():
    img = np.zeros((6, 8, 3), np.uint8)
    mask = np.zeros((6, 8), bool)
    mask[1:3, 2:5] = True
    ax = plot.show_masks(img, mask, alpha=0.4, colors=["red"])
    over = _overlay(ax)
    assert len(ax.images) == 2 and over.shape == (6, 8, 4)
    np.testing.assert_allclose(over[1, 2], [1, 0, 0, 0.4])
    assert over[0, 0, 3] == 0  # outside the mask: transparent
    stack = torch.zeros(2, 1, 6, 8)  # Nx1xHxW floats, as Mask R-CNN returns them
    stack[0, 0, :3] = 1
    stack[1, 0, 2:] = 1  # overlaps row 2: drawn over mask 0
    ax = plot.show_masks(torch.from_numpy(img).permute(2, 0, 1), stack, labels=["person", "dog"])
    over = _overlay(ax)
    assert tuple(over[0, 0, :3]) != tuple(over[5, 0, :3])  # one colour per instance
    np.testing.assert_allclose(over[2, 0], over[5, 0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["person", "dog"]


def test_show_masks_label_map_with_void():
    img = np.full((4, 4), 0.5)
    lm = np.array([[0, 0, 1, 1], [0, 15, 15, 1], [255, 255, 0, 0], [0, 0, 0, 0]], dtype=np.uint8)
    names = ["background", "aeroplane"] + [f"c{k}" for k in range(2, 15)] + ["person"]
    ax = plot.show_masks(img, lm, labels=names, alpha=0.5)
    over = _overlay(ax)
    assert over[0, 0, 3] == 0  # background is transparent
    np.testing.assert_allclose(over[0, 2], [128 / 255, 0, 0, 0.5])  # VOC colour of class 1
    np.testing.assert_allclose(over[1, 1, :3], np.array([192, 128, 128]) / 255)  # VOC person (15)
    np.testing.assert_allclose(over[2, 0, :3], np.array([224, 224, 192]) / 255)  # void: light grey
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["aeroplane", "person", "void"]
    assert ax.images[0].get_clim() == (0, 1)
    assert plot.voc_colormap().shape == (256, 3)


def test_show_masks_errors():
    img = np.zeros((4, 4))
    with pytest.raises(ValueError, match="4x4"):
        plot.show_masks(img, np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match="4x4"):
        plot.show_masks(img, np.zeros((2, 3, 4), bool))
    with pytest.raises(ValueError, match="shape"):
        plot.show_masks(img, np.zeros(4, bool))
    with pytest.raises(ValueError, match="labels"):
        plot.show_masks(img, np.zeros((2, 4, 4), bool), labels=["one"])
    with pytest.raises(ValueError, match="labels"):
        plot.show_masks(img, np.full((4, 4), 3), labels=["bg", "a"])
    with pytest.raises(ValueError, match="0..1"):
        plot.show_masks(img, np.full((2, 4, 4), 3))
    with pytest.raises(ValueError, match="alpha"):
        plot.show_masks(img, np.zeros((4, 4), bool), alpha=2)


def test_show_images_tensor_kernels_are_channels_first():
    # conv kernels 3x3x3: a tensor is CxHxW (the old heuristic read it as HxWxC and mixed up the axes)
    k = torch.zeros(2, 3, 3, 3)
    k[:, 0] = 1.0  # input channel 0 (red) everywhere
    shown = plot.show_images(k).axes[0].images[0].get_array()
    np.testing.assert_allclose(shown[..., 0], 1.0)
    np.testing.assert_allclose(shown[..., 1:], 0.0)
    shown = plot.show_images([k[0]]).axes[0].images[0].get_array()  # a list of tensors, too
    np.testing.assert_allclose(shown[..., 0], 1.0)
    hwc = np.zeros((3, 3, 3))  # a numpy array keeps the HxWxC reading
    hwc[..., 0] = 1.0
    np.testing.assert_allclose(plot.show_images([hwc]).axes[0].images[0].get_array()[..., 0], 1.0)


def test_one_epoch_history_reads_as_one_point():
    """A smoke run records one epoch: one tick at 1, and a title saying it is a point, not a curve."""
    fig = plot.plot_history({"train_loss": [0.7], "val_loss": [0.8], "train_acc": [0.5]})
    for ax in fig.axes:
        assert list(ax.get_xticks()) == [1] and "one epoch" in ax.get_title()
