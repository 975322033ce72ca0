"""book_utils.models.grid_detector and the detection training loop."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from book_utils.models import count_parameters
from book_utils.models.grid_detector import GridDetector, GridLoss, cell_boxes, decode, encode, grid_recipe

BOOK_LABEL = torch.tensor([[63.0, 80, 167, 184], [174.5, 80.5, 255.5, 161.5], [88, 194, 166, 272]])


def test_encode_the_books_example():
    labels, offsets, conf = encode(BOOK_LABEL, size=300)
    assert labels.reshape(3, 3).tolist() == [[0, 0, 0], [0, 1, 1], [0, 1, 0]]
    assert offsets[4].tolist() == pytest.approx([0.15, 0.32, 104 / 300])
    # true IoU of (63, 80, 167, 184) with the centre cell (100, 100, 200, 200): 67*84 / (104² + 100² - 67*84)
    assert conf[4].item() == pytest.approx(5628 / 15188, abs=1e-6)
    assert (conf[labels == 0] == 0).all()


def test_decode_inverts_encode():
    labels, offsets, conf = encode(BOOK_LABEL, size=300)
    logits = torch.stack([1 - labels.float(), labels.float()], -1) * 20
    (boxes, scores), = decode(logits[None], offsets[None], conf[None], size=300)
    order = torch.argsort(boxes[:, 0])
    assert torch.allclose(boxes[order], BOOK_LABEL[torch.argsort(BOOK_LABEL[:, 0])], atol=1e-4)
    assert (scores > 0.99).all()


def test_decode_never_inverts_a_box():
    logits = torch.tensor([[[0.0, 5.0]] * 9])
    offsets = torch.full((1, 9, 3), 0.5)
    offsets[..., 2] = -0.2  # an untrained model can predict a negative side
    (boxes, _), = decode(logits, offsets, torch.zeros(1, 9), size=300)
    assert len(boxes) == 9 and (boxes[:, 2:] >= boxes[:, :2]).all()


def test_cells_and_heads():
    assert cell_boxes(300)[5].tolist() == [200, 100, 300, 200]
    book = GridDetector("book", width=64)
    assert count_parameters(book) == 11_204_214  # the book's ResNet-18 with a 54-output fc
    for head in ("book", "conv"):
        logits, offsets, conf = GridDetector(head, width=8)(torch.zeros(2, 3, 96, 96))
        assert logits.shape == (2, 9, 2) and offsets.shape == (2, 9, 3) and conf.shape == (2, 9)
    with pytest.raises(ValueError, match="head"):
        GridDetector("yolo")


def test_loss_counts_positive_cells_only():
    loss = GridLoss(size=300)
    labels, offsets, conf = encode(BOOK_LABEL, size=300)
    perfect_logits = torch.stack([1 - labels.float(), labels.float()], -1)[None] * 30
    wrong_negatives = offsets[None].clone()
    wrong_negatives[0, labels == 0] = 5.0  # garbage where there is no object: must not count
    value = loss((perfect_logits, wrong_negatives, conf[None]), [{"boxes": BOOK_LABEL}])
    assert value.item() < 1e-6
    worse = loss((perfect_logits, offsets[None] + 0.1, conf[None]), [{"boxes": BOOK_LABEL}])
    assert worse.item() == pytest.approx(0.1, abs=1e-4)


def test_recipes():
    assert grid_recipe("full").size == 300 and grid_recipe("lite").n == 900
    with pytest.raises(ValueError, match="mode"):
        grid_recipe("turbo")


def test_fit_detection_records_every_loss_term():
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.rpn import AnchorGenerator
    from torchvision.ops import MultiScaleRoIAlign

    from book_utils.detection import fit_detection

    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Conv2d(3, 8, 3, stride=4, padding=1), nn.ReLU())
    backbone.out_channels = 8
    model = FasterRCNN(backbone, num_classes=2, min_size=64, max_size=64,
                       rpn_anchor_generator=AnchorGenerator(((16, 32),), ((1.0,),)),
                       box_roi_pool=MultiScaleRoIAlign(["0"], 4, sampling_ratio=1))
    images = [torch.rand(3, 64, 64) for _ in range(4)]
    targets = [{"boxes": torch.tensor([[8.0, 8, 40, 40]]), "labels": torch.tensor([1])} for _ in range(4)]
    history = fit_detection(model, [(images, targets)] * 2, epochs=3, optimizer=torch.optim.Adam(model.parameters(), 1e-2))
    keys = set(history.history)
    assert {"train_loss", "train_loss_classifier", "train_loss_box_reg", "train_loss_objectness"} <= keys
    assert history["train_loss"][-1] < history["train_loss"][0]

    from book_utils.detection import collect_detections

    model.train()
    outputs, truths = collect_detections(model, [(images[:2], targets[:2]), (images[2:], targets[2:])])
    assert not model.training, "detections are collected in eval mode"
    assert len(outputs) == 4 and truths == targets
    assert all({"boxes", "scores", "labels"} <= set(out) and out["boxes"].device.type == "cpu" for out in outputs)

