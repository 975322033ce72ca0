"""Chapter 8's autoencoder, feature discriminator and distribution metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from book_utils import metrics
from book_utils.models import autoencoder as ae
from book_utils.models import count_parameters
from book_utils.standins import pubfig as web


def test_the_books_autoencoder_has_its_parameter_count_and_shapes():
    model = ae.AutoEncoder()
    encoder = sum(p.numel() for n, p in model.named_parameters() if n.startswith(("first", "encoder")))
    assert count_parameters(model) == 13_894_881 and encoder == 11_170_240
    x = torch.zeros(1, 1, 128, 128)
    assert model.encode(x).shape == (1, 512, 4, 4) and model(x).shape == x.shape
    small = ae.AutoEncoder(16, bottleneck=8)
    assert small.encode(torch.zeros(1, 1, 64, 64)).shape == (1, 8, 2, 2)
    with pytest.raises(ValueError, match="divisible by 32"):
        small(torch.zeros(1, 1, 48, 48))


def test_feature_discriminator_taps():
    d = ae.FeatureDiscriminator(8)
    taps = d.features(torch.zeros(2, 1, 64, 64))
    assert [t.shape[-1] for t in taps] == [16, 16, 8, 4, 2] and d(torch.zeros(2, 1, 64, 64)).shape == (2,)


def test_sharpness_falls_with_blur():
    rng = np.random.default_rng(0)
    img = rng.random((4, 32, 32))
    from scipy.ndimage import gaussian_filter

    blurred = np.stack([gaussian_filter(x, 2) for x in img])
    assert metrics.laplacian_sharpness(blurred) < 0.05 * metrics.laplacian_sharpness(img)
    assert metrics.laplacian_sharpness(torch.tensor(img[:, None])) == pytest.approx(metrics.laplacian_sharpness(img))


def test_frechet_and_kernel_distances():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 4)), rng.normal(size=(400, 4))
    shifted = b + 1.0
    assert metrics.frechet_distance(a, b) < 0.2
    assert metrics.frechet_distance(a, shifted) == pytest.approx(4.0, abs=0.4)  # ‖μ‖² = 4
    assert abs(metrics.kernel_distance(a, b)) < 0.05 < metrics.kernel_distance(a, shifted)
    with pytest.raises(ValueError, match="two samples"):
        metrics.kernel_distance(a[:1], b)


def test_pretrained_autoencoder_is_trained_once(tmp_path, monkeypatch, capsys):
    from book_utils.config import setup

    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BOOK_OFFLINE", "1")
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.setattr(web, "LISTS", {"dev": 3, "eval": 4})
    monkeypatch.setattr(web, "FAILURES", {"404": 1})
    tiny = ae.AERecipe(width=2, size=32, per_person=4, stages=((1, 1e-3),), batch_size=4)
    monkeypatch.setattr(ae, "ae_recipe", lambda mode: tiny)
    cfg = setup(mode="smoke", quiet=True)
    first = ae.pretrained_autoencoder(cfg)
    assert "training it now" in capsys.readouterr().out
    pair = ae.gray_faces("val", 32, 4, verbose=False)[0]
    assert pair[0].shape == (1, 32, 32) and torch.equal(pair[0], pair[1]) and 0 <= pair[0].min() <= pair[0].max() <= 1
    second = ae.pretrained_autoencoder(cfg)
    assert "training it now" not in capsys.readouterr().out
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
