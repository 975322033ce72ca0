"""Unit tests of book_utils.models: CIFAR VGG-11/ResNet-18, transforms, recipe and the shared checkpoint."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from book_utils import models
from book_utils.config import Config
from book_utils.train import count_parameters


def test_exact_parameter_counts_of_the_book():
    assert count_parameters(models.vgg11_cifar()) == 9_231_114
    assert count_parameters(models.resnet18_cifar()) == 11_173_962


@pytest.mark.parametrize("arch", models.ARCHS)
@pytest.mark.parametrize("width", [4, 16])
def test_forward_shapes_and_cam_parts(arch, width):
    model = models.build_cifar_model(arch, num_classes=7, width=width).eval()
    x = torch.randn(3, 3, 32, 32)
    assert model(x).shape == (3, 7)
    fmap = model.features(x)
    side = 4 if arch == "resnet18" else 2
    assert fmap.shape == (3, 512 * width // 64, side, side)
    assert model.head.in_features == fmap.shape[1]
    assert torch.allclose(model.head(model.flatten(model.pool(fmap))), model(x), atol=1e-6)


def test_resnet_pool_is_global_average_and_head_is_replaceable():
    model = models.resnet18_cifar(width=8)
    assert isinstance(model.pool, torch.nn.AdaptiveAvgPool2d)
    model.fc = torch.nn.Linear(model.fc.in_features, 4)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 4)
    assert model.head is model.fc
    assert model(torch.randn(1, 3, 48, 48)).shape == (1, 4)  # any input size thanks to GAP


@pytest.mark.parametrize("kwargs", [{"width": 0}, {"width": 2.5}, {"num_classes": 0}, {"num_classes": True}])
def test_bad_model_arguments(kwargs):
    with pytest.raises(ValueError, match="must be an int"):
        models.resnet18_cifar(**kwargs)
    with pytest.raises(ValueError, match="must be an int"):
        models.vgg11_cifar(**kwargs)


def test_unknown_arch_and_mode():
    with pytest.raises(ValueError, match="unknown architecture"):
        models.build_cifar_model("alexnet")
    with pytest.raises(ValueError, match="unknown mode"):
        models.cifar_recipe("turbo")
    with pytest.raises(ValueError, match="unknown architecture"):
        models.cifar_checkpoint_path("vgg16", "lite")
    with pytest.raises(ValueError, match="unknown mode"):
        models.cifar_checkpoint_path("vgg11", "fast")


def test_transforms_and_denormalize_round_trip():
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    plain = models.cifar_transforms(train=False)(img)
    assert plain.shape == (3, 32, 32) and plain.dtype == torch.float32
    back = models.denormalize(plain)
    expected = torch.from_numpy(np.array(img)).permute(2, 0, 1).float() / 255
    assert torch.allclose(back, expected, atol=1e-5)
    assert models.denormalize(plain[None]).shape == (1, 3, 32, 32)
    torch.manual_seed(0)
    augmented = models.cifar_transforms(train=True)(img)
    assert augmented.shape == (3, 32, 32)
    same = models.cifar_transforms(train=True, augment=False)(img)
    assert torch.equal(same, plain)


def test_denormalize_bad_input():
    with pytest.raises(TypeError, match="torch.Tensor"):
        models.denormalize(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="RGB"):
        models.denormalize(torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="RGB"):
        models.denormalize(torch.zeros(4, 4))


def test_recipes():
    full = models.cifar_recipe("full", "vgg11")
    assert (full.width, full.epochs, full.batch_size, full.n_train) == (64, 60, 64, None)
    assert [full.lr_at(e) for e in (0, 49, 50, 59, 99)] == [1e-3, 1e-3, 1e-4, 1e-4, 1e-4]
    for mode in ("lite", "smoke"):
        recipe = models.cifar_recipe(mode)
        assert recipe.width < 64 and recipe.n_train is not None and recipe.epochs >= 1
    model = models.resnet18_cifar(width=4)
    optimizer, scheduler = models.make_optimizer(model, full)
    lrs = []
    for _ in range(52):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[49] == pytest.approx(1e-3) and lrs[50] == pytest.approx(1e-4)
    adam, _ = models.make_optimizer(model, models.cifar_recipe("lite"))
    assert isinstance(adam, torch.optim.Adam)
    with pytest.raises(ValueError, match="'sgd' or 'adam'"):
        models.make_optimizer(model, replace(full, optimizer="rmsprop"))


def test_checkpoint_path_under_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    path = models.cifar_checkpoint_path("resnet18", "lite")
    assert path == tmp_path.resolve() / "checkpoints" / "cifar10_resnet18_lite.pt"


class _TinyCifar(torch.utils.data.Dataset):
    """Fake CIFAR: 96 random PIL images whose class is readable from the mean colour."""

    def __init__(self, transform=None, n=96):
        rng = np.random.default_rng(1)
        self.targets = [i % 10 for i in range(n)]
        self.data = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        self.transform = transform
        self.source = "standin"

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        img = Image.fromarray(self.data[i])
        return (self.transform(img) if self.transform else img), self.targets[i]


def test_pretrained_model_trains_once_then_loads(tmp_path, monkeypatch, capsys):
    import book_utils.cifar

    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BOOK_MODE", "smoke")
    calls = []

    def fake_load(train=True, transform=None, **_):
        calls.append(train)
        return _TinyCifar(transform)

    monkeypatch.setattr(book_utils.cifar, "load_cifar10", fake_load)
    cfg = Config(mode="smoke", device=torch.device("cpu"), seed=0, offline=True, data_dir=tmp_path)
    state = torch.get_rng_state()
    model = models.pretrained_cifar_model(cfg, "vgg11")
    assert torch.equal(state, torch.get_rng_state())  # the caller's random stream is untouched
    assert not model.training and calls == [True, False]
    assert models.cifar_checkpoint_path("vgg11", "smoke").is_file()
    assert "missing: training vgg11 now" in capsys.readouterr().out
    again = models.pretrained_cifar_model(cfg, "vgg11")
    assert calls == [True, False]  # loaded, not retrained
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def test_corrupted_checkpoint_gives_clear_error(tmp_path, monkeypatch):
    from book_utils.train import CheckpointError

    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    path = models.cifar_checkpoint_path("resnet18", "smoke")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    cfg = Config(mode="smoke", device=torch.device("cpu"), seed=0, offline=True, data_dir=tmp_path)
    with pytest.raises(CheckpointError, match="delete it"):
        models.pretrained_cifar_model(cfg)


def test_checkpoint_from_other_data_is_retrained(tmp_path, monkeypatch, capsys):
    import book_utils.cifar
    from book_utils.train import load_checkpoint, save_checkpoint

    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(
        book_utils.cifar, "load_cifar10", lambda train=True, transform=None, **_: _TinyCifar(transform)
    )
    path = models.cifar_checkpoint_path("resnet18", "smoke")
    save_checkpoint(path, models.resnet18_cifar(width=8), source="standin-v0")
    cfg = Config(mode="smoke", device=torch.device("cpu"), seed=0, offline=True, data_dir=tmp_path)
    models.pretrained_cifar_model(cfg)
    assert "trained on standin-v0 data" in capsys.readouterr().out
    extra = load_checkpoint(path, models.resnet18_cifar(width=8))
    assert extra["source"] == models.cifar_data_tag()
