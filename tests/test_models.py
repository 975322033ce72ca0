"""Unit tests of book_utils.models: CIFAR VGG-11/ResNet-18, transforms, the 04-1 recipe and its cached model."""

from __future__ import annotations

import importlib
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from book_utils import models
from book_utils.checkpoint import load_checkpoint, stored_tag
from book_utils.config import Config
from book_utils.models import count_parameters
from book_utils.train import History

# The module, not the function of the same name that book_utils.models re-exports (and that shadows it there).
recipe_module = importlib.import_module("book_utils.models.cifar_training")


def test_exact_parameter_counts_of_the_book():
    assert count_parameters(models.vgg11_cifar()) == 9_231_114
    assert count_parameters(models.resnet18_cifar()) == 11_173_962
    assert count_parameters(models.build_cifar_model("vgg11")) == 9_231_114
    assert count_parameters(models.build_cifar_model("resnet18", num_classes=10, width=64)) == 11_173_962


def test_count_parameters_trainable_only():
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    assert count_parameters(model) == 2 * 16 + 16 + 16 * 2 + 2 == 82
    model[0].requires_grad_(False)
    assert count_parameters(model) == 16 * 2 + 2
    assert count_parameters(model, trainable_only=False) == 82
    assert count_parameters(torch.nn.ReLU()) == 0


def test_models_package_re_exports_the_cifar_family():
    for name in models.__all__:
        assert hasattr(models, name), name
    assert models.vgg11_cifar is models.cifar.vgg11_cifar and models.ARCHS == ("vgg11", "resnet18")


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


def test_vgg_parts_and_replaceable_head():
    model = models.vgg11_cifar(width=8)
    assert model.head is model.classifier and isinstance(model.pool, torch.nn.MaxPool2d)
    assert isinstance(model.features[-1], torch.nn.ReLU), "features ends at the last conv map"
    convs = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 8 and [c.out_channels for c in convs] == [8, 16, 32, 32, 64, 64, 64, 64]
    model.classifier = torch.nn.Linear(model.classifier.in_features, 3)
    assert model.head is model.classifier and model(torch.randn(2, 3, 32, 32)).shape == (2, 3)


def test_resnet_stages():
    model = models.resnet18_cifar(width=16)
    assert list(dict(model.features.named_children())) == ["stem", "layer1", "layer2", "layer3", "layer4"]
    assert all(len(getattr(model.features, f"layer{i}")) == 2 for i in range(1, 5))
    assert isinstance(model.features.layer2[0], models.BasicBlock)
    deeper = models.ResNetCifar((1, 1, 1), num_classes=3, width=8)
    assert deeper.features(torch.randn(1, 3, 32, 32)).shape == (1, 32, 8, 8)


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


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"num_blocks": ()}, "at least one stage"),
    ({"num_blocks": (2, 0)}, "blocks per stage must be an integer >= 1"),
    ({"num_blocks": (2, 1.5)}, "blocks per stage"),
])
def test_bad_resnet_stages(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.ResNetCifar(**kwargs)


def test_vgg_config_must_end_with_pooling():
    with pytest.raises(ValueError, match="must end with 'M'"):
        models.VGGCifar((64, "M", 128))
    with pytest.raises(ValueError, match="must end with 'M'"):
        models.VGGCifar(())


def test_unknown_arch_and_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="arch must be one of 'vgg11', 'resnet18'; got 'alexnet'"):
        models.build_cifar_model("alexnet")
    with pytest.raises(ValueError, match="unknown mode 'turbo'"):
        models.cifar_recipe("turbo")
    with pytest.raises(ValueError, match="arch must be one of"):
        models.cifar_recipe("lite", "vgg16")
    with pytest.raises(ValueError, match="arch must be one of"):
        models.cifar_checkpoint_path("vgg16", "lite")
    with pytest.raises(ValueError, match="mode must be one of 'smoke', 'lite', 'full'"):
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
    assert (full.optimizer, full.momentum, full.weight_decay, full.augment) == ("sgd", 0.9, 5e-4, True)
    assert full.arch == "vgg11" and models.cifar_recipe("full").arch == "resnet18"
    lite = models.cifar_recipe("lite")
    assert (lite.width, lite.n_train, lite.n_test, lite.epochs, lite.optimizer, lite.augment) == (
        8, 3000, 2000, 8, "adam", False)
    assert [lite.lr_at(e) for e in (0, 5, 6, 7, 20)] == [3e-3, 3e-3, 3e-4, 3e-4, 3e-4]
    smoke = models.cifar_recipe("smoke")
    assert (smoke.width, smoke.n_train, smoke.n_test, smoke.epochs, smoke.num_workers) == (8, 256, 128, 2, 0)
    assert [smoke.lr_at(e) for e in (0, 1)] == [3e-3, 3e-4], "smoke mode runs the learning-rate drop too"
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
    assert models.cifar_checkpoint_path("vgg11", "full").name == "cifar10_vgg11_full.pt"


# ------------------------------------------------------------------------------------- training and caching
class _TinyCifar(torch.utils.data.Dataset):
    """Fake CIFAR: 96 random PIL images."""

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


@pytest.fixture
def fake_cifar(tmp_path, monkeypatch) -> list[str]:
    """An empty data folder, a fake load_cifar10 (its calls are returned) and a fixed data tag."""
    import book_utils.datasets.cifar10 as cifar10

    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BOOK_MODE", "smoke")
    calls: list[str] = []

    def fake_load(split="train", *, transform=None, **_):
        calls.append(split)
        return _TinyCifar(transform)

    monkeypatch.setattr(cifar10, "load_cifar10", fake_load)
    monkeypatch.setattr(cifar10, "data_tag", lambda root=None: "standin-v9")
    return calls


def _cfg(tmp_path, mode: str = "smoke") -> Config:
    return Config(mode=mode, device=torch.device("cpu"), seed=0, offline=True, data_dir=tmp_path)


def test_cifar_loaders_take_seeded_subsets(fake_cifar):
    recipe = replace(models.cifar_recipe("smoke"), n_train=32, n_test=16, batch_size=8)
    train_loader, test_loader = models.cifar_loaders(recipe, seed=0)
    assert fake_cifar == ["train", "test"]
    assert len(train_loader.dataset) == 32 and len(test_loader.dataset) == 16 and len(train_loader) == 4
    again, _ = models.cifar_loaders(recipe, seed=0)
    other, _ = models.cifar_loaders(recipe, seed=1)
    assert train_loader.dataset.indices == again.dataset.indices != other.dataset.indices
    whole, _ = models.cifar_loaders(models.cifar_recipe("smoke"))  # n_train 256 > 96 images: all of them
    assert len(whole.dataset) == 96


def test_train_cifar_model_runs_the_recipe_without_touching_the_callers_rng(fake_cifar, tmp_path):
    state = torch.get_rng_state()
    model, history = models.train_cifar_model(_cfg(tmp_path), "vgg11", live=False)
    assert torch.equal(state, torch.get_rng_state())  # the caller's random stream is untouched
    assert fake_cifar == ["train", "test"] and history.epochs == 2 and "val_acc" in history.history
    assert isinstance(model, models.VGGCifar) and model.classifier.in_features == 64  # smoke: width 8
    again, _ = models.train_cifar_model(_cfg(tmp_path), "vgg11", live=False)
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b), "seeded with cfg.seed: the same run twice gives the same weights"
    resnet, _ = models.train_cifar_model(_cfg(tmp_path), "resnet18", models.cifar_recipe("smoke", "vgg11"),
                                         live=False)
    assert isinstance(resnet, models.ResNetCifar), "arch wins over the recipe's"


class FakeTraining:
    """Stands in for train_cifar_model: counts calls and returns a fixed narrow model and history."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, cfg, arch="resnet18", recipe=None, **kwargs):
        self.calls += 1
        assert kwargs.get("live") is False, "a cached model is trained without live plots"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(100 + self.calls)
            model = models.build_cifar_model(arch, width=recipe.width)
        return model, History({"train_loss": [1.0], "val_acc": [0.5]})


@pytest.fixture
def fake_training(fake_cifar, monkeypatch) -> FakeTraining:
    fake = FakeTraining()
    monkeypatch.setattr(recipe_module, "train_cifar_model", fake)
    return fake


def test_pretrained_model_trains_once_then_loads(fake_training, tmp_path, capsys):
    cfg = _cfg(tmp_path)
    state = torch.get_rng_state()
    model = models.pretrained_cifar_model(cfg, "vgg11")
    assert torch.equal(state, torch.get_rng_state())  # the caller's random stream is untouched
    assert fake_training.calls == 1 and not model.training and isinstance(model, models.VGGCifar)
    assert next(model.parameters()).device == cfg.device
    assert models.cifar_checkpoint_path("vgg11", "smoke").is_file()
    out = capsys.readouterr().out
    assert "The cached CIFAR-10 vgg11 cifar10_vgg11_smoke.pt is missing: training it now (once)." in out
    assert "Loaded vgg11 (width 8, standin-v9 data); test accuracy 0.500." in out
    again = models.pretrained_cifar_model(cfg, "vgg11")
    assert fake_training.calls == 1  # loaded, not retrained
    assert "training it now" not in capsys.readouterr().out
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def test_pretrained_model_per_arch_and_mode(fake_training, tmp_path):
    models.pretrained_cifar_model(_cfg(tmp_path), "vgg11")
    models.pretrained_cifar_model(_cfg(tmp_path), "resnet18")
    models.pretrained_cifar_model(_cfg(tmp_path, "lite"), "resnet18")
    assert fake_training.calls == 3
    names = sorted(p.name for p in (tmp_path / "checkpoints").glob("*.pt"))
    assert names == ["cifar10_resnet18_lite.pt", "cifar10_resnet18_smoke.pt", "cifar10_vgg11_smoke.pt"]


def test_checkpoint_from_other_data_is_retrained(fake_training, tmp_path, monkeypatch, capsys):
    import book_utils.datasets.cifar10 as cifar10

    models.pretrained_cifar_model(_cfg(tmp_path))
    monkeypatch.setattr(cifar10, "data_tag", lambda root=None: "real")  # e.g. the real files were added
    capsys.readouterr()
    models.pretrained_cifar_model(_cfg(tmp_path))
    assert fake_training.calls == 2
    assert "cifar10_resnet18_smoke.pt is trained on standin-v9|recipe-" in capsys.readouterr().out
    assert stored_tag(models.cifar_checkpoint_path("resnet18", "smoke")).startswith("real|recipe-")
    models.pretrained_cifar_model(_cfg(tmp_path))
    assert fake_training.calls == 2


def test_corrupted_checkpoint_is_retrained(fake_training, tmp_path, capsys):
    path = models.cifar_checkpoint_path("resnet18", "smoke")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    models.pretrained_cifar_model(_cfg(tmp_path))
    assert fake_training.calls == 1 and "is unreadable: training it now" in capsys.readouterr().out


def test_a_changed_recipe_retrains(fake_training, tmp_path, monkeypatch):
    """The tag hashes the recipe: a model cached before a recipe change is not reused after it."""
    models.pretrained_cifar_model(_cfg(tmp_path))
    original = models.cifar_recipe
    training = importlib.import_module("book_utils.models.cifar_training")
    monkeypatch.setattr(training, "cifar_recipe", lambda mode, arch="resnet18": replace(original(mode, arch), batch_size=32))
    models.pretrained_cifar_model(_cfg(tmp_path))
    assert fake_training.calls == 2


def test_saved_notebook_model_is_reused(fake_training, tmp_path):
    """04-1 saves its model with save_cifar_model; later notebooks load it instead of training again."""
    recipe = models.cifar_recipe("smoke", "resnet18")
    torch.manual_seed(5)
    trained = models.build_cifar_model("resnet18", width=recipe.width)
    path = models.save_cifar_model(trained, recipe, "smoke", History({"train_loss": [1.0], "val_acc": [0.25]}))
    assert path == models.cifar_checkpoint_path("resnet18", "smoke")
    extra = load_checkpoint(path, models.build_cifar_model("resnet18", width=recipe.width))
    assert extra["tag"] == models.cifar_model_tag(recipe) and extra["tag"].startswith("standin-v9|recipe-")
    assert extra["arch"] == "resnet18" and extra["width"] == 8
    model = models.pretrained_cifar_model(_cfg(tmp_path))
    assert fake_training.calls == 0
    for a, b in zip(trained.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)
