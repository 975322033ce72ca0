"""Making a trained network smaller and faster: magnitude sparsification, channel pruning of the CIFAR VGG,
weight fake-quantization, int8 ONNX models, and honest size and latency measurements (chapter 10).

Introduced in notebook 10-1 (``sparsify_``, ``dead_channels``, ``book_keep_masks``, ``compress_vgg``,
``parameter_bytes``, ``latency``), 10-3 (``fake_quantize``, ``quantize_weights``, ``export_onnx``,
``quantize_onnx_int8``, ``onnx_files_bytes``) and reused by 10-2, 10-5 and 10-6. The notebooks keep their own
teaching versions of these steps and assert that they equal the ones here. The shared base, sparse and
pruned models that chapter 10 trains once live in :mod:`book_utils.models.compressed`.
"""

from __future__ import annotations

import copy
import io
import statistics
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from book_utils._validate import require_choice, require_int
from book_utils.models.cifar import VGGCifar


# ------------------------------------------------------------------------------------------ sparsification
def prunable_parameters(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The tensors the book's ``sparsify`` thresholds (§10.1.3): every parameter named ``*weight`` or
    ``*bias``: conv kernels and biases, BatchNorm γ and β, and the classifier."""
    return [(n, p) for n, p in model.named_parameters() if n.endswith("weight") or n.endswith("bias")]


@torch.no_grad()
def sparsify_(model: nn.Module, level: float) -> nn.Module:
    """Zero, in place, the smallest ``level`` percent of |values| of each weight and bias tensor separately
    (the book's per-tensor percentile threshold; values equal to the threshold are zeroed too). The zeros
    are not kept as masks: training afterwards can grow them back. Returns ``model``."""
    if not 0 <= level < 100:
        raise ValueError(f"level is a percentage in [0, 100), got {level!r}")
    for _, p in prunable_parameters(model):
        threshold = np.percentile(p.detach().abs().cpu().numpy(), level)
        p.mul_((p.abs() > float(threshold)).to(p.dtype))
    return model


def sparsity(model: nn.Module) -> float:
    """Fraction of exactly-zero values among the tensors :func:`sparsify_` thresholds."""
    params = [p for _, p in prunable_parameters(model)]
    zeros = sum(int((p == 0).sum()) for p in params)
    return zeros / max(1, sum(p.numel() for p in params))


# ----------------------------------------------------------------------------------- channels of the VGG
def conv_bn_pairs(model: VGGCifar) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    """The VGG's (conv, BatchNorm) pairs in order (notebook 10-1 "flattens" the model the same way)."""
    mods = [m for m in getattr(model, "features", ()) if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    pairs = list(zip(mods[0::2], mods[1::2]))
    if not pairs or any(not (isinstance(c, nn.Conv2d) and isinstance(b, nn.BatchNorm2d)) for c, b in pairs):
        raise TypeError("compress_vgg expects a VGGCifar whose features are conv-BatchNorm-ReLU blocks")
    return pairs


def dead_channels(model: VGGCifar) -> list[torch.Tensor]:
    """Per conv layer, a boolean mask of the channels that are dead: BatchNorm γ = 0 and β ≤ 0, so the block
    outputs ReLU(β) = 0 whatever the input, ReLU passes no gradient back, and nothing can revive them (10-1).
    γ = β = 0 (both zeroed by the sparsifier) is the common case; γ = 0 with a negative β is just as dead."""
    return [(bn.weight.detach() == 0) & (bn.bias.detach() <= 0) for _, bn in conv_bn_pairs(model)]


def book_keep_masks(model: VGGCifar) -> list[torch.Tensor]:
    """The book's ``zero_indices`` test (§10.1.4): keep a channel when the sums of its conv weights and of
    its conv bias are both non-zero. A bias before BatchNorm is cancelled by the batch mean, so this test
    can drop live channels; :func:`dead_channels` is the right test."""
    masks = []
    for conv, _ in conv_bn_pairs(model):
        w_sum = conv.weight.detach().flatten(1).sum(1)
        b = conv.bias.detach() if conv.bias is not None else torch.ones_like(w_sum)
        masks.append((w_sum != 0) & (b != 0))
    return masks


def channel_list(model: VGGCifar) -> list[int | str]:
    """The VGG's configuration with its actual channel counts, e.g. ``[14, "M", 26, "M", ...]``."""
    cfg: list[int | str] = []
    for m in model.features:
        if isinstance(m, nn.Conv2d):
            cfg.append(m.out_channels)
        elif isinstance(m, nn.MaxPool2d):
            cfg.append("M")
    return [*cfg, "M"]


@torch.no_grad()
def compress_vgg(model: VGGCifar, keep: Sequence[torch.Tensor] | None = None) -> VGGCifar:
    """A narrower ``VGGCifar`` holding only the kept channels of ``model`` (default: every channel that is
    not dead), with conv weights and biases, BatchNorm γ, β **and running statistics**, and the classifier's
    columns copied, so in eval mode it computes the same logits (10-1, "front and back pruning").

    ``keep``: one boolean mask per conv layer (e.g. :func:`book_keep_masks`). A layer keeps at least its
    strongest channel (largest |γ| + |β| + Σ|w|) so that the network stays connected.
    """
    pairs = conv_bn_pairs(model)
    if keep is None:
        keep = [~dead for dead in dead_channels(model)]
    if len(keep) != len(pairs):
        raise ValueError(f"keep needs one mask per conv layer ({len(pairs)}), got {len(keep)}")
    masks = []
    for (conv, bn), mask in zip(pairs, keep):
        mask = torch.as_tensor(mask, dtype=torch.bool, device=bn.weight.device).clone()
        if mask.shape != bn.weight.shape:
            raise ValueError(f"a keep mask has shape {tuple(mask.shape)}, its layer has {bn.num_features} channels")
        if not mask.any():
            strength = bn.weight.abs() + bn.bias.abs() + conv.weight.abs().flatten(1).sum(1)
            mask[int(strength.argmax())] = True
        masks.append(mask)
    cfg = channel_list(model)
    counts = iter([int(m.sum()) for m in masks])
    new_cfg = tuple(item if item == "M" else next(counts) for item in cfg)
    small = VGGCifar(new_cfg, num_classes=model.classifier.out_features, width=64).to(model.classifier.weight.device)
    prev = torch.ones(3, dtype=torch.bool, device=model.classifier.weight.device)
    for ((conv, bn), (sconv, sbn)), mask in zip(zip(pairs, conv_bn_pairs(small)), masks):
        sconv.weight.copy_(conv.weight[mask][:, prev])
        if conv.bias is not None:
            sconv.bias.copy_(conv.bias[mask])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(sbn, name).copy_(getattr(bn, name)[mask])
        sbn.num_batches_tracked.copy_(bn.num_batches_tracked)
        prev = mask
    small.classifier.weight.copy_(model.classifier.weight[:, prev])
    small.classifier.bias.copy_(model.classifier.bias)
    return small.train(model.training)


# -------------------------------------------------------------------------------------------- quantization
def fake_quantize(
    w: torch.Tensor, bits: int, per_channel: bool = False, rounding: str = "round"
) -> torch.Tensor:
    """Symmetric fake quantization (10-3): ``clamp(round(w / s), -2^(b-1), 2^(b-1) - 1) * s`` with
    ``s = max|w| / (2^(b-1) - 1)`` per tensor, or per output channel (dim 0). ``rounding="floor"`` is the
    book's choice (a systematic half-step bias). Returns a float tensor of ``w``'s shape."""
    require_int("bits", bits, 2)
    require_choice("rounding", rounding, ("round", "floor"))
    qmax = 2 ** (bits - 1) - 1
    w = w.detach()
    amax = w.abs().flatten(1).amax(1) if per_channel and w.ndim > 1 else w.abs().amax()
    scale = (amax / qmax).clamp_min(torch.finfo(torch.float32).tiny)
    if per_channel and w.ndim > 1:
        scale = scale.view(-1, *([1] * (w.ndim - 1)))
    q = torch.floor(w / scale) if rounding == "floor" else torch.round(w / scale)
    return q.clamp(-qmax - 1, qmax) * scale


@torch.no_grad()
def quantize_weights(
    model: nn.Module, bits: int, per_channel: bool = False, rounding: str = "round"
) -> nn.Module:
    """A copy of ``model`` whose conv and linear weights are fake-quantized (biases and BatchNorm stay
    float, as in int8 runtimes, which keep biases in int32)."""
    quantized = copy.deepcopy(model)
    for m in quantized.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.weight.copy_(fake_quantize(m.weight, bits, per_channel, rounding))
    return quantized


# --------------------------------------------------------------------------------------- size and speed
def parameter_bytes(model: nn.Module, bytes_per_value: int = 4) -> int:
    """Bytes of the parameters alone (torchsummary's "Params size"): count × ``bytes_per_value``."""
    return sum(p.numel() for p in model.parameters()) * bytes_per_value


def state_dict_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: what a checkpoint file really takes."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def latency(fn: Any, x: Any, repeats: int = 20, warmup: int = 3, min_time: float = 0.0) -> float:
    """Median seconds of ``fn(x)`` over ``repeats`` timed calls after ``warmup`` (a model runs in eval mode
    under ``torch.inference_mode``). ``min_time``: keep timing until at least that many seconds passed.
    On a shared CPU the numbers are noisy: compare ratios measured side by side, never absolute times."""
    require_int("repeats", repeats, 1)
    if isinstance(fn, nn.Module):
        fn.eval()
    cuda = isinstance(x, torch.Tensor) and x.is_cuda

    def call() -> None:
        fn(x)
        if cuda:  # CUDA kernels run asynchronously: wait for them, or only the launch is timed
            torch.cuda.synchronize(x.device)

    times: list[float] = []
    with torch.inference_mode():
        for _ in range(warmup):
            call()
        start = time.perf_counter()
        while len(times) < repeats or time.perf_counter() - start < min_time:
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ------------------------------------------------------------------------------------------------- ONNX
def export_onnx(model: nn.Module, path: str | Path, example: torch.Tensor) -> Path:
    """Export ``model`` (eval mode) to ONNX with a dynamic batch size, quietly (the exporter of 03-6);
    weights are embedded in the file. Returns the path."""
    import logging
    import warnings
    from contextlib import redirect_stdout

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = copy.deepcopy(model).cpu().eval()
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example.cpu(),), path, input_names=["image"], output_names=["logits"],
                          dynamic_shapes=({0: batch},), external_data=False)
    return path


class _Calibration:
    """An onnxruntime ``CalibrationDataReader`` over batches of images (a plain object with get_next)."""

    def __init__(self, batches: Iterable[torch.Tensor], input_name: str) -> None:
        self._it = iter([{input_name: b.cpu().numpy().astype(np.float32)} for b in batches])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)

    def rewind(self) -> None:  # pragma: no cover - not used by quantize_static's default path
        pass


def quantize_onnx_int8(
    fp32_path: str | Path, int8_path: str | Path, calibration: Iterable[torch.Tensor], per_channel: bool = True
) -> Path:
    """Static int8 quantization of an ONNX model with onnxruntime (10-3): QDQ format, signed int8 weights
    (per output channel by default) and activations, scales calibrated on ``calibration`` batches (the
    data the model will see, normalized as in training). Returns the int8 model's path."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    fp32_path, int8_path = Path(fp32_path), Path(int8_path)
    prepared = int8_path.with_name(int8_path.stem + ".prep.onnx")
    try:
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        import onnx

        name = onnx.load(str(prepared), load_external_data=False).graph.input[0].name
        quantize_static(
            str(prepared), str(int8_path), _Calibration(calibration, name), quant_format=QuantFormat.QDQ,
            per_channel=per_channel, weight_type=QuantType.QInt8, activation_type=QuantType.QInt8,
        )  # fmt: skip
    finally:
        prepared.unlink(missing_ok=True)
    return int8_path


def onnx_files_bytes(path: str | Path) -> int:
    """Bytes of an ONNX model including any external-data files beside it (``<name>.data`` or the
    locations its initializers name), so that a model split into two files is not under-counted."""
    import onnx

    path = Path(path)
    total = path.stat().st_size
    model = onnx.load(str(path), load_external_data=False)
    locations = {
        entry.value
        for tensor in model.graph.initializer
        for entry in tensor.external_data
        if entry.key == "location"
    }
    return total + sum((path.parent / loc).stat().st_size for loc in locations if (path.parent / loc).exists())


def onnx_session(path: str | Path, threads: int = 1) -> Any:
    """An onnxruntime CPU session with ``threads`` intra-op threads (1: fair beside a 1-thread PyTorch)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
