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
