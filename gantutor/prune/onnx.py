"""Where a compressed generator is deployed: an ONNX file, run by ONNX Runtime.

``export_onnx(G, path)`` writes G in eval mode with a dynamic batch dimension and checks that ONNX
Runtime reproduces PyTorch's output on an example; ``onnx_session`` opens a file with a set number
of threads; ``compare_latency_onnx`` times PyTorch eager and ONNX Runtime, models interleaved, as
``compare_latency`` does.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from gantutor.prune.measure import _interleaved

INPUT, OUTPUT = "input", "output"


def _example_for(model: nn.Module) -> torch.Tensor:
    channels = getattr(model, "in_channels", None)
    size = 2 ** getattr(model, "depth", 5)
    if channels is None:
        raise ValueError("pass example=: a batch of the model's input (its shape cannot be guessed from the model)")
    return torch.zeros(2, channels, max(32, size), max(32, size))


def onnx_session(path, threads: int = 2):
    """An ONNX Runtime session on the CPU with ``threads`` intra-op threads (one inter-op thread)."""
    import onnxruntime as ort
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path must be an ONNX file, got {str(path)!r} (no such file)")
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = int(threads), 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(session, x: torch.Tensor) -> torch.Tensor:
    """The session's output for a float32 batch ``x``, as a tensor."""
    return torch.from_numpy(session.run(None, {INPUT: x.detach().cpu().float().numpy()})[0])


@torch.no_grad()
def export_onnx(model: nn.Module, path, example: torch.Tensor | None = None, tolerance: float = 1e-4) -> Path:
    """Write ``model`` (in eval mode: no dropout, BatchNorm's running statistics) to ``path`` as ONNX,
    with input ``input`` and output ``output`` whose batch dimension is dynamic; then run the file in
    ONNX Runtime on ``example`` (by default zeros of the model's input shape, batch 2) and on a
    random batch of another size, and raise ValueError if the largest difference from PyTorch
    exceeds ``tolerance``. A model that cannot be exported raises ValueError naming it."""
    path = Path(path)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    example = _example_for(model) if example is None else example
    was_training = model.training
    model.eval()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation notice
                torch.onnx.export(model, (example,), str(path), input_names=[INPUT], output_names=[OUTPUT],
                                  dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}}, dynamo=False)
        except Exception as err:
            raise ValueError(f"{type(model).__name__} cannot be exported to ONNX: {type(err).__name__}: {err}") from err
        session = onnx_session(path)
        other = torch.randn(example.shape[0] + 3, *example.shape[1:], generator=torch.Generator().manual_seed(0))
        for x in (example, other):
            diff = (run_onnx(session, x) - model(x).float().cpu()).abs().max().item()
            if not diff <= tolerance:
                raise ValueError(f"{path.name}: ONNX Runtime's output differs from PyTorch's by {diff:.3g} "
                                 f"(tolerance {tolerance:g}) at batch {x.shape[0]}")
    finally:
        model.train(was_training)
    return path


def quantize_onnx_int8(path, out, calibration: torch.Tensor | None = None) -> Path:
    """ONNX Runtime's int8 quantisation of the float model at ``path``, written to ``out``: dynamic
    (weights int8, activations quantised on the fly) without ``calibration``; static (QDQ, the
    activations' ranges measured on the ``calibration`` batch) with it."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static
    path, out = Path(path), Path(out)
    if not path.is_file():
        raise FileNotFoundError(f"path must be an ONNX file, got {str(path)!r} (no such file)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if calibration is None:
            quantize_dynamic(str(path), str(out), weight_type=QuantType.QInt8)
        else:
            batches = iter([{INPUT: b.detach().cpu().float().numpy()} for b in calibration.split(50)])

            class _Reader(CalibrationDataReader):
                def get_next(self):
                    return next(batches, None)
            quantize_static(str(path), str(out), _Reader(), quant_format=QuantFormat.QDQ)
    return out


@torch.no_grad()
def compare_latency_onnx(models: dict, files: dict, example: torch.Tensor, threads: int = 2, rounds: int = 20,
                         per_round: int = 10, warmup: int = 3, onnx_only: dict | None = None) -> dict:
    """Median milliseconds per call, PyTorch eager and ONNX Runtime, all interleaved:
    ``{name: {"eager": ms, "onnx": ms}}`` for ``models`` ({name: module}) and their ONNX ``files``
    ({name: path}); ``{name: {"onnx": ms}}`` for ``onnx_only`` files with no PyTorch model (an
    int8 model of ONNX Runtime). PyTorch runs with ``threads`` threads too (``torch.set_num_threads``)."""
    if set(models) != set(files):
        raise ValueError(f"models and files must name the same models, got {sorted(models)} and {sorted(files)}")
    onnx_only = dict(onnx_only or {})
    sessions = {name: onnx_session(path, threads) for name, path in {**files, **onnx_only}.items()}
    x = example.detach().cpu().float().numpy()
    previous, modes = torch.get_num_threads(), {name: m.training for name, m in models.items()}
    torch.set_num_threads(threads)
    try:
        for m in models.values():
            m.eval()
        passes = {}
        for name, m in models.items():
            passes[(name, "eager")] = lambda m=m: m(example)
            passes[(name, "onnx")] = lambda s=sessions[name]: s.run(None, {INPUT: x})
        for name in onnx_only:
            passes[(name, "onnx")] = lambda s=sessions[name]: s.run(None, {INPUT: x})
        times = _interleaved(passes, rounds, per_round, warmup)
    finally:
        torch.set_num_threads(previous)
        for name, m in models.items():
            m.train(modes[name])
    return ({name: {"eager": times[(name, "eager")], "onnx": times[(name, "onnx")]} for name in models}
            | {name: {"onnx": times[(name, "onnx")]} for name in onnx_only})


def onnx_bytes(path) -> int:
    return Path(path).stat().st_size


__all__ = ["compare_latency_onnx", "export_onnx", "onnx_bytes", "onnx_session", "quantize_onnx_int8", "run_onnx"]
