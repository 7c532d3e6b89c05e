"""8-bit integer quantisation: weights (and activations) stored as int8 with a scale, x ≈ s·(q − z).

* **Dynamic** (``quantize_dynamic_int8``): the weights of Linear layers become int8 once; the
  activations are quantised on the fly at each call. PyTorch ships dynamic int8 kernels for
  Linear and recurrent layers only, so convolutions stay float.
* **Static** (``quantize_static_int8``): the activation scales are fixed beforehand by running
  calibration batches through observers; then Linear *and* (transposed) convolutions run in
  int8, with BatchNorm folded into the layer before it. Transposed convolutions only support
  one scale per tensor (not per channel) in PyTorch's int8 kernels.

Both use ``torch.ao.quantization`` (eager mode), which PyTorch has deprecated in favour of the
``torchao`` package but still ships; its deprecation warnings are silenced here. The int8
kernels are CPU kernels: quantised models run on the CPU.

PyTorch 2.14.1's int8 ``ConvTranspose2d`` computes wrong results for most channel counts (the
output differs from the float layer's by more than its own size); the earlier PyTorch that
measured the course's committed results did not. ``int8_conv_transpose_is_correct()`` tests the
installed PyTorch, and ``quantize_static_int8`` warns when it fails.

Reference: Jacob et al., "Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference" (CVPR 2018).
"""
from __future__ import annotations

import contextlib
import copy
import functools
import warnings

import torch
from torch import nn

from gantutor.models import DCGANGenerator


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, message=".*quantiz.*")
        warnings.filterwarnings("ignore", category=UserWarning, message=".*deprecated.*")
        yield


def _quantization():
    with _quiet():
        import torch.ao.quantization as quantization
    engines = torch.backends.quantized.supported_engines
    engine = next((e for e in ("x86", "fbgemm", "qnnpack") if e in engines), None)
    if engine is None:
        raise RuntimeError(f"this PyTorch build has no int8 CPU engine (supported: {engines})")
    torch.backends.quantized.engine = engine
    return quantization


def quantize_dynamic_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (on the CPU, eval mode) whose Linear layers hold int8 weights and
    quantise their inputs on the fly; every other layer is unchanged (float)."""
    if not any(isinstance(m, nn.Linear) for m in model.modules()):
        raise TypeError(f"{type(model).__name__} has no Linear layer: dynamic int8 quantisation would change nothing")
    quantization = _quantization()
    with _quiet():
        return quantization.quantize_dynamic(copy.deepcopy(model).cpu().eval(), {nn.Linear}, dtype=torch.qint8)


class _StaticDCGAN(nn.Module):
    """An unconditional DCGANGenerator written out for eager static quantisation: quantise z,
    run every layer in int8, dequantise before tanh."""

    def __init__(self, G: DCGANGenerator):
        super().__init__()
        q = _quantization()
        self.quant, self.dequant = q.QuantStub(), q.DeQuantStub()
        self.linear, self.bn1, self.relu1 = copy.deepcopy(G.project[0]), copy.deepcopy(G.project[1]), nn.ReLU()
        self.up1, self.bn2, self.relu2 = copy.deepcopy(G.net[0]), copy.deepcopy(G.net[1]), nn.ReLU()
        self.up2 = copy.deepcopy(G.net[3])
        self.latent_dim, self.channels, self.side = G.latent_dim, G.channels, G.side
        self.sigmoid = isinstance(G.net[4], nn.Sigmoid)

    def forward(self, z):
        h = self.relu1(self.bn1(self.linear(self.quant(z))))  # (B, C·s·s), int8
        h = h.reshape(-1, self.channels, self.side, self.side)  # (B, C, s, s)
        x = self.dequant(self.up2(self.relu2(self.bn2(self.up1(h)))))  # (B, 1, 4s, 4s), back to float
        return torch.sigmoid(x) if self.sigmoid else torch.tanh(x)


@functools.lru_cache(maxsize=None)
@torch.no_grad()
def int8_conv_transpose_is_correct(tolerance: float = 0.1) -> bool:
    """Whether this PyTorch's static int8 ``ConvTranspose2d`` (32 → 16 channels, 4×4, stride 2, as in
    the course's generator) matches the float layer: mean |int8 − float| below ``tolerance`` × mean |float|."""
    quantization = _quantization()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        layer = nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1)
        x = torch.randn(8, 32, 7, 7)
    model = nn.Sequential(quantization.QuantStub(), layer, quantization.DeQuantStub()).eval()
    expected = model(x)
    with _quiet():
        model.qconfig = quantization.QConfig(activation=quantization.MinMaxObserver.with_args(reduce_range=True),
                                             weight=quantization.default_weight_observer)
        quantization.prepare(model, inplace=True)
        model(x)
        quantization.convert(model, inplace=True)
    return bool((model(x) - expected).abs().mean() < tolerance * expected.abs().mean())


@torch.no_grad()
def quantize_static_int8(G: DCGANGenerator, num_batches: int = 10, batch_size: int = 256, seed: int = 0) -> nn.Module:
    """An int8 copy of an unconditional ``DCGANGenerator`` (dense or channel-pruned): BatchNorm
    folded into the layer before it, activation scales calibrated on ``num_batches`` batches
    of z ~ N(0, I), then every Linear / ConvTranspose2d in int8 (CPU, eval mode)."""
    if not isinstance(G, DCGANGenerator) or G.num_classes:
        raise TypeError(f"quantize_static_int8 supports an unconditional gantutor DCGANGenerator, got {type(G).__name__}"
                        + (" with num_classes" if isinstance(G, DCGANGenerator) else ""))
    quantization = _quantization()
    if not int8_conv_transpose_is_correct():
        warnings.warn(f"PyTorch {torch.__version__} computes int8 ConvTranspose2d wrongly, so this int8 generator "
                      "draws noise; the course's committed int8 results were measured with an earlier PyTorch",
                      RuntimeWarning, stacklevel=2)
    model = _StaticDCGAN(copy.deepcopy(G).cpu().eval()).eval()
    with _quiet():
        model = quantization.fuse_modules(model, [["linear", "bn1"], ["up1", "bn2"]])
        model.qconfig = quantization.QConfig(activation=quantization.HistogramObserver.with_args(reduce_range=True),
                                             weight=quantization.default_weight_observer)  # per-tensor: all ConvTranspose supports
        quantization.prepare(model, inplace=True)
        noise = torch.Generator().manual_seed(seed)
        for _ in range(num_batches):  # calibration: the observers record the activations' ranges
            model(torch.randn(batch_size, G.latent_dim, generator=noise))
        quantization.convert(model, inplace=True)
    return model
