"""The book's one-stage "grid" detector (§5.4–5.6), fixed, and the cached model later notebooks reuse.

Introduced in notebook 05-3, which writes the book's own encoding and loss by hand and compares them with
these; notebook 05-4 loads :func:`pretrained_grid_detector` for its one- vs two-stage table. An ``S×S``
grid (the book's 3×3) covers the image; the cell holding a box's centre is responsible for it and predicts
``(object?, x, y, side, confidence)``. Fixed here, against the book: the centre is encoded relative to the
cell's own top-left corner, in cell units (the book divides by the cell's *bottom-right* corner), and the
confidence target is the true IoU of the box with its cell (the book's formula omits ``- intersection``).
Two boxes in one cell still collide: the later one wins, as in the book (rare with 1–3 suns on a 3×3 grid).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from book_utils._validate import require_choice, require_int
from book_utils.models.resnet import resnet18

HEADS = ("book", "conv")


def cell_boxes(size: int, grid: int = 3) -> torch.Tensor:
    """The ``grid²`` cells as xyxy boxes, row by row (cell ``gy * grid + gx``)."""
    c = size / grid
    ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    return torch.stack([xs * c, ys * c, (xs + 1) * c, (ys + 1) * c], -1).reshape(-1, 4).float()


def encode(boxes: Any, size: int, grid: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Targets for one image's xyxy square ``boxes`` (k, 4): labels (g²,) 0/1, offsets (g², 3) = centre in
    its cell's units from the cell's top-left corner and side / image size, confidence (g²,) = IoU(box, cell).

    Plain Python arithmetic (the loss calls this for every image of every batch: small tensor operations would
    cost more than the model's forward pass); the IoU is ``torchvision.ops.box_iou``'s, written out."""
    c = size / grid
    labels, offsets, conf = [0] * grid * grid, [[0.0, 0.0, 0.0] for _ in range(grid * grid)], [0.0] * grid * grid
    for x0, y0, x1, y1 in torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4).tolist():
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        gx, gy = min(max(int(cx // c), 0), grid - 1), min(max(int(cy // c), 0), grid - 1)
        k = gy * grid + gx  # a later box in the same cell overwrites an earlier one, as in the book
        labels[k] = 1
        offsets[k] = [cx / c - gx, cy / c - gy, (x1 - x0) / size]
        inter = (max(0.0, min(x1, (gx + 1) * c) - max(x0, gx * c))
                 * max(0.0, min(y1, (gy + 1) * c) - max(y0, gy * c)))
        conf[k] = inter / ((x1 - x0) * (y1 - y0) + c * c - inter)
    return torch.tensor(labels), torch.tensor(offsets), torch.tensor(conf)


def decode(logits: torch.Tensor, offsets: torch.Tensor, conf: torch.Tensor, size: int, grid: int = 3,
           threshold: float = 0.5) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Boxes and scores per image from the model's outputs ((N, g², 2), (N, g², 3), (N, g²)): cells whose
    object probability is at least ``threshold``; the score is that probability (no NMS here). A negative
    predicted side (an untrained model) gives an empty box, never an inverted one."""
    c = size / grid
    prob = logits.softmax(-1)[..., 1]
    gx = torch.arange(grid * grid, device=logits.device) % grid
    gy = torch.arange(grid * grid, device=logits.device) // grid
    cx, cy = (gx + offsets[..., 0]) * c, (gy + offsets[..., 1]) * c
    half = offsets[..., 2].clamp(min=0) * size / 2
    boxes = torch.stack([cx - half, cy - half, cx + half, cy + half], -1)
    keep = prob >= threshold
    return [(boxes[i][keep[i]].detach().cpu(), prob[i][keep[i]].detach().cpu()) for i in range(len(prob))]


class GridDetector(nn.Module):
    """ResNet-18 features and a head giving, per cell, 2 class logits, 3 offsets and a confidence.

    ``head="book"``: global average pooling and one linear layer with ``grid² × 6`` outputs (the book's 54);
    ``head="conv"``: the last feature map pooled to ``grid×grid`` and a 1×1 convolution with 6 outputs, so
    each cell sees its own part of the image. Returns ``(logits (N, g², 2), offsets (N, g², 3), conf (N, g²))``.
    """

    def __init__(self, head: str = "conv", width: int = 64, grid: int = 3) -> None:
        super().__init__()
        self.head_kind, self.grid = require_choice("head", head, HEADS), require_int("grid", grid, 1)
        net = resnet18(num_classes=grid * grid * 6, width=width)
        self.features = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2,
                                      net.layer3, net.layer4)
        if head == "book":
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), net.fc)
        else:
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(grid), nn.Conv2d(net.fc.in_features, 6, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.head(self.features(x))
        g2 = self.grid * self.grid
        if self.head_kind == "book":  # [labels (g²×2) | offsets (g²×3) | confidences (g²)], as the book splits
            return out[:, :2 * g2].reshape(-1, g2, 2), out[:, 2 * g2:5 * g2].reshape(-1, g2, 3), out[:, 5 * g2:]
        cells = out.flatten(2).transpose(1, 2)  # (N, g², 6)
        return cells[..., :2], cells[..., 2:5], cells[..., 5]


class GridLoss(nn.Module):
    """Cross-entropy over cells (class weights ``[0.5, 1.5]``, as the book) plus L1 on offsets and confidence
    averaged over the *positive* cells only (the book averages over all cells, diluting it with masked zeros).
    Targets: a list of dicts with xyxy ``"boxes"`` per image; images are ``size`` pixels square."""

    def __init__(self, size: int, grid: int = 3, weight: tuple[float, float] = (0.5, 1.5)) -> None:
        super().__init__()
        self.size, self.grid = size, grid
        self.ce = nn.CrossEntropyLoss(weight=torch.tensor(weight))

    def forward(self, outputs: tuple[torch.Tensor, ...], targets: list[dict[str, Any]]) -> torch.Tensor:
        logits, offsets, conf = outputs
        enc = [encode(t["boxes"].detach().cpu(), self.size, self.grid) for t in targets]
        labels = torch.stack([e[0] for e in enc]).to(logits.device)
        t_off = torch.stack([e[1] for e in enc]).to(logits.device)
        t_conf = torch.stack([e[2] for e in enc]).to(logits.device)
        cls = self.ce.to(logits.device)(logits.reshape(-1, 2), labels.reshape(-1))
        pos = labels == 1
        if not pos.any():
            return cls
        reg = (offsets[pos] - t_off[pos]).abs().mean()
        return cls + reg + (conf[pos] - t_conf[pos]).abs().mean()


@dataclass(frozen=True)
class GridRecipe:
    """How 05-3 trains the conv-head detector in one mode (Adam, one-cycle learning rate)."""

    n: int
    size: int
    width: int
    epochs: int
    batch_size: int = 16
    lr: float = 3e-3


def grid_recipe(mode: str) -> GridRecipe:
    """Full: the book's 300 px, 1,489 scenes, full width; lite: 900 scenes at 112 px, width 16; smoke: seconds."""
    from book_utils.config import MODES

    require_choice("mode", mode, MODES)
    return {"full": GridRecipe(1489, 300, 64, 30), "lite": GridRecipe(900, 112, 16, 8),
            "smoke": GridRecipe(96, 96, 8, 1)}[mode]


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def grid_transforms(train: bool) -> Any:
    """The per-item ``transforms.v2`` pipeline on a cached uint8 image and its target: a random horizontal
    flip when training (the boxes move with the pixels), then float and ImageNet normalisation."""
    from torchvision.transforms import v2

    steps: list[Any] = [v2.RandomHorizontalFlip()] if train else []
    return v2.Compose([*steps, v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


@functools.lru_cache(maxsize=4)
def _resized(split: str, n: int, size: int, seed: int) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    from torchvision.transforms import v2

    from book_utils.datasets.sun_scenes import load_sun_scenes

    scenes = load_sun_scenes(split, n=n, seed=seed, target_transform=lambda t: {"boxes": t["boxes"]},
                             transforms=v2.Compose([v2.ToImage(), v2.Resize((size, size), antialias=True)]))
    items = [scenes[i] for i in range(len(scenes))]
    return torch.stack([img for img, _ in items]), tuple(t["boxes"].as_subclass(torch.Tensor) for _, t in items)


class GridScenes(Dataset):
    """One split of the sun scenes resized to ``size``×``size`` once and kept in memory as uint8 (decoding and
    resizing every JPEG every epoch costs more than the lite model's forward pass). Items: a normalised
    float image and ``{"boxes": BoundingBoxes (k, 4) xyxy pixels, "labels": ones}``; ``.images`` holds the
    uint8 pictures for display. ``train=True`` flips half the items at random (boxes included)."""

    def __init__(self, split: str, n: int, size: int, train: bool = False, seed: int = 0) -> None:
        self.split, self.size, self.classes = split, size, ["background", "sun"]
        self.images, self.targets = _resized(split, n, size, seed)
        self.transforms = grid_transforms(train)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        from torchvision import tv_tensors

        boxes = tv_tensors.BoundingBoxes(self.targets[index], format="XYXY", canvas_size=(self.size, self.size))
        target = {"boxes": boxes, "labels": torch.ones(len(boxes), dtype=torch.int64)}
        return self.transforms(tv_tensors.Image(self.images[index]), target)


def grid_loaders(recipe: GridRecipe, seed: int = 0) -> tuple[Any, Any]:
    """``(train_loader, test_loader)`` of :class:`GridScenes` for a recipe (the book's 80/20 split); the
    training loader shuffles with a generator seeded by ``seed``, the test loader keeps its order."""
    from torch.utils.data import DataLoader

    from book_utils.detection import stack_images

    train = GridScenes("train", recipe.n, recipe.size, train=True)
    test = GridScenes("test", recipe.n, recipe.size)
    gen = torch.Generator().manual_seed(seed)
    return (DataLoader(train, batch_size=recipe.batch_size, shuffle=True, collate_fn=stack_images, generator=gen),
            DataLoader(test, batch_size=64, collate_fn=stack_images))


def train_grid_detector(cfg: Any, head: str = "conv", recipe: GridRecipe | None = None,
                        live: bool | None = None) -> tuple[GridDetector, Any]:
    """Train a :class:`GridDetector` with ``fit`` (Adam, one-cycle schedule); returns ``(model, history)``.
    Seeded with ``cfg.seed`` without disturbing the caller's random state."""
    from book_utils.train import fit

    recipe = recipe or grid_recipe(cfg.mode)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = GridDetector(head, width=recipe.width)
        train_loader, test_loader = grid_loaders(recipe, cfg.seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe.lr, epochs=recipe.epochs,
                                                        steps_per_epoch=len(train_loader))
        history = fit(model, train_loader, epochs=recipe.epochs, optimizer=optimizer,
                      loss_fn=GridLoss(recipe.size), val_loader=test_loader, scheduler=scheduler,
                      scheduler_step="batch", device=cfg.device, metric=None, live=live, desc=f"grid {head}")
    return model, history


def detect(model: nn.Module, loader: Any, size: int, threshold: float = 0.5, nms_iou: float = 0.4,
           device: Any = None) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], list[torch.Tensor]]:
    """Run a grid detector over ``loader``: per image ``(boxes, scores)`` after NMS at ``nms_iou`` and the true
    boxes, both in the loader's pixel coordinates (what :func:`book_utils.detection.average_precision` takes)."""
    from torchvision.ops import nms

    device = device or next(model.parameters()).device
    detections, truths = [], []
    model.eval()
    with torch.inference_mode():
        for images, targets in loader:
            for boxes, scores in decode(*model(images.to(device)), size, model.grid, threshold):
                keep = nms(boxes, scores, nms_iou)
                detections.append((boxes[keep], scores[keep]))
            truths += [t["boxes"].as_subclass(torch.Tensor).cpu() for t in targets]
    return detections, truths


def pretrained_grid_detector(cfg: Any, head: str = "conv", return_history: bool = False) -> Any:
    """05-3's detector for ``cfg.mode``, trained once and cached (retrained when the scenes or the recipe
    change), in eval mode on ``cfg.device``; with ``return_history``, ``(model, History)`` of its training."""
    from book_utils.checkpoint import checkpoint_path, recipe_digest, train_once
    from book_utils.standins.sun_scenes import VERSION
    from book_utils.train import History

    recipe = grid_recipe(cfg.mode)
    tag = f"sun_scenes-v{VERSION}|{head}|seed-{cfg.seed}|recipe-{recipe_digest(recipe)}"

    def train() -> tuple[nn.Module, dict[str, Any]]:
        model, history = train_grid_detector(cfg, head, recipe, live=False)
        return model, {"head": head, "width": recipe.width, "size": recipe.size, "history": history.to_dict()}

    model, extra = train_once(checkpoint_path(f"grid_detector_{head}", cfg.mode), tag,
                              lambda: GridDetector(head, width=recipe.width), train,
                              what=f"grid detector ({head} head)")
    model = model.to(cfg.device).eval()
    return (model, History(extra.get("history"))) if return_history else model
