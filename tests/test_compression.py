"""Sparsification, channel pruning, fake quantization and int8 ONNX on tiny VGGs (book_utils.compression,
book_utils.models.compressed; chapter 10)."""

from __future__ import annotations

import copy
import importlib.util

import pytest
import torch
from torch import nn

from book_utils import compression as c
from book_utils.models import VGGCifar, vgg11_cifar
from book_utils.models.compressed import PruneRecipe, prune_recipe, sgd_stages


def _vgg(width: int = 8, seed: int = 0) -> VGGCifar:
    torch.manual_seed(seed)
    model = vgg11_cifar(width=width)
    for m in model.modules():  # non-trivial running statistics and affine parameters
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def test_sparsify_zeroes_each_tensor_at_its_own_percentile():
    model = _vgg()
    c.sparsify_(model, 70)
    for name, p in c.prunable_parameters(model):
        if p.numel() >= 100:  # a tiny tensor's percentile falls between two of its values
            assert (p == 0).float().mean() >= 0.69, name
    assert 0.69 <= c.sparsity(model) < 0.8
    with pytest.raises(ValueError, match="percentage"):
        c.sparsify_(model, 100)


def test_dead_channels_are_removed_without_changing_the_logits():
    model = _vgg()
    pairs = c.conv_bn_pairs(model)
    dead = {0: [0, 3], 2: [1], 7: [0, 1, 2, 5]}
    with torch.no_grad():
        for layer, chans in dead.items():
            pairs[layer][1].weight[chans] = 0
            pairs[layer][1].bias[chans] = 0
        pairs[7][1].bias[5] = -0.3  # gamma = 0 and a negative beta: ReLU(beta) = 0, just as dead
        pairs[1][1].weight[4] = 0  # gamma = 0 but beta > 0: a constant, live channel
        pairs[1][1].bias[4] = 0.3
    masks = c.dead_channels(model)
    assert [int(m.sum()) for m in masks] == [len(dead.get(i, [])) for i in range(8)]
    small = c.compress_vgg(model).eval()
    x = torch.randn(4, 3, 32, 32)
    assert c.channel_list(small)[:3] == [6, "M", 16]
    assert torch.allclose(model(x), small(x), atol=1e-5)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in model.parameters())


def test_the_books_bias_test_drops_a_live_channel():
    model = _vgg()
    conv, bn = c.conv_bn_pairs(model)[1]
    with torch.no_grad():
        conv.bias[2] = 0.0  # a bias before BatchNorm: the channel still works
        bn.weight[2] = 5.0  # and it matters
    assert not c.dead_channels(model)[1][2]
    assert not c.book_keep_masks(model)[1][2]
    book = c.compress_vgg(model, c.book_keep_masks(model)).eval()
    x = torch.randn(4, 3, 32, 32)
    assert (model(x) - book(x)).abs().max() > 1e-3


def test_compress_keeps_one_channel_and_checks_masks():
    model = _vgg()
    keep = [torch.ones(bn.num_features, dtype=torch.bool) for _, bn in c.conv_bn_pairs(model)]
    keep[0][:] = False
    assert c.channel_list(c.compress_vgg(model, keep))[0] == 1
    with pytest.raises(ValueError, match="one mask per conv"):
        c.compress_vgg(model, keep[:-1])
    with pytest.raises(ValueError, match="channels"):
        c.compress_vgg(model, [torch.ones(3, dtype=torch.bool)] + keep[1:])
    with pytest.raises(TypeError, match="VGGCifar"):
        c.conv_bn_pairs(nn.Sequential())  # type: ignore[arg-type]


def test_fake_quantize_rounds_to_the_grid():
    torch.manual_seed(0)
    w = torch.randn(16, 8, 3, 3)
    for bits in (8, 4, 2):
        q = c.fake_quantize(w, bits)
        scale = w.abs().max() / (2 ** (bits - 1) - 1)
        assert (q - w).abs().max() <= scale / 2 + 1e-6
        assert len(torch.unique(q)) <= 2**bits
    per_tensor = (c.fake_quantize(w, 4) - w).pow(2).mean()
    w_skewed = w * torch.linspace(0.05, 2, 16).view(-1, 1, 1, 1)
    assert (c.fake_quantize(w_skewed, 4, per_channel=True) - w_skewed).pow(2).mean() < (
        c.fake_quantize(w_skewed, 4) - w_skewed).pow(2).mean()  # fmt: skip
    assert per_tensor > 0
    floor_bias = (c.fake_quantize(w, 6, rounding="floor") - w).mean()
    assert floor_bias < -0.2 * w.abs().max() / 31  # about half a step, always downwards
    with pytest.raises(ValueError):
        c.fake_quantize(w, 1)
    with pytest.raises(ValueError):
        c.fake_quantize(w, 8, rounding="ceil")


def test_quantize_weights_leaves_the_original_and_batchnorm():
    model = _vgg()
    before = copy.deepcopy(model.state_dict())
    q = c.quantize_weights(model, 4, per_channel=True)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    conv_q, bn_q = c.conv_bn_pairs(q)[0]
    conv, bn = c.conv_bn_pairs(model)[0]
    assert not torch.equal(conv_q.weight, conv.weight) and torch.equal(conv_q.bias, conv.bias)
    assert torch.equal(bn_q.weight, bn.weight)


def test_sizes_and_latency():
    model = _vgg(width=4)
    n = sum(p.numel() for p in model.parameters())
    assert c.parameter_bytes(model) == 4 * n
    assert c.state_dict_bytes(model) > 4 * n  # buffers and pickle framing on top
    assert c.latency(model, torch.randn(2, 3, 32, 32), repeats=3, warmup=1) > 0
    assert sum(p.numel() for p in vgg11_cifar().parameters()) == 9_231_114


def test_recipes():
    full = prune_recipe("full")
    assert sum(n for stages in full.finetune for n, _ in stages) == 150  # the book's fine-tuning epochs
    assert full.base.width == 64 and full.levels == (50, 60, 70, 80, 90)
    assert prune_recipe("lite").base.width == 16
    with pytest.raises(ValueError, match="mode"):
        prune_recipe("huge")
    with pytest.raises(ValueError, match="one fine-tune"):
        PruneRecipe(full.base, (50.0,), (), ())
    model = nn.Linear(2, 2)
    optimizer, scheduler, epochs = sgd_stages(model, ((2, 0.1), (1, 0.01)), full)
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert epochs == 3 and lrs == pytest.approx([0.1, 0.1, 0.01])


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="needs the deploy extra")
def test_int8_onnx_is_smaller_and_agrees(tmp_path):
    model = _vgg(width=16)
    x = torch.randn(8, 3, 32, 32)
    fp32 = c.export_onnx(model, tmp_path / "m.onnx", x[:1])
    int8 = c.quantize_onnx_int8(fp32, tmp_path / "m8.onnx", [x[:4], x[4:]])
    assert c.onnx_files_bytes(int8) < 0.4 * c.onnx_files_bytes(fp32)
    out32 = c.onnx_session(fp32).run(None, {"image": x.numpy()})[0]
    out8 = c.onnx_session(int8).run(None, {"image": x.numpy()})[0]
    ref = model(x).detach().numpy()
    assert abs(out32 - ref).max() < 1e-4
    assert (out8.argmax(1) == ref.argmax(1)).mean() >= 0.75
    assert not list(tmp_path.glob("*.prep.onnx"))
