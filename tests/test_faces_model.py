"""The Chapter 7 face-embedding model, its recipe and the train-once cache (book_utils.models.faces)."""

from __future__ import annotations

import pytest
import torch

from book_utils.config import setup
from book_utils.models import count_parameters, faces
from book_utils.standins import pubfig as web


def test_the_books_model_has_its_parameter_count():
    model = faces.face_classifier(200)
    # torchvision's ResNet-18 body (11,176,512) + fc 512->512 (262,656) + classifier 512->200 (102,600)
    assert count_parameters(model.net) == 11_176_512 + 262_656
    assert count_parameters(model) == 11_176_512 + 262_656 + 102_600
    x = torch.zeros(2, 3, 64, 64)
    small = faces.face_classifier(7, width=8).eval()
    assert small.embed(x).shape == (2, 512) and small(x).shape == (2, 7)


def test_recipes_and_transforms():
    lite, full = faces.face_recipe("lite"), faces.face_recipe("full")
    assert (full.width, full.size) == (64, 128) and lite.width < full.width
    with pytest.raises(ValueError, match="mode"):
        faces.face_recipe("huge")
    from PIL import Image

    img = Image.new("RGB", (50, 70), (255, 255, 255))
    for train in (True, False):
        t = faces.face_transforms(24, train)(img)
        assert t.shape == (3, 24, 24) and t.dtype == torch.float32 and t.max() <= 1.0


def test_pretrained_model_is_trained_once_then_loaded(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BOOK_OFFLINE", "1")
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.setattr(web, "LISTS", {"dev": 3, "eval": 4})
    monkeypatch.setattr(web, "FAILURES", {"404": 1})
    tiny = faces.FaceRecipe(width=2, size=16, per_person=4, epochs=1, lr=1e-3, batch_size=4, embedding=8)
    monkeypatch.setattr(faces, "face_recipe", lambda mode: tiny)
    cfg = setup(mode="smoke", quiet=True)
    first = faces.pretrained_face_model(cfg)
    assert "training it now" in capsys.readouterr().out and not first.training
    second = faces.pretrained_face_model(cfg)
    out = capsys.readouterr().out
    assert "training it now" not in out and "Loaded the face model" in out
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
