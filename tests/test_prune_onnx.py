"""Exporting generators to ONNX: ONNX Runtime reproduces PyTorch at any batch size; what cannot be
exported, or exports wrongly, is a clear error; latency eager vs ONNX Runtime."""
import pytest
import torch
from torch import nn

from gantutor import prune as P
from gantutor.models import UNetGenerator


def _student():
    torch.manual_seed(0)
    G = UNetGenerator(channels=[3, 5, 9, 20], decoder_channels=[11, 6, 4])
    G.train()  # export_onnx exports eval mode whatever the mode, and gives the mode back
    return G


def test_the_onnx_file_reproduces_pytorch_at_any_batch_size(tmp_path):
    G = _student()
    path = P.export_onnx(G, tmp_path / "g.onnx")
    assert G.training and path.exists() and P.onnx_bytes(path) > 0
    session = P.onnx_session(path, threads=1)
    G.eval()
    for batch in (1, 7, 64):
        x = torch.rand(batch, 1, 32, 32) * 2 - 1
        with torch.no_grad():
            assert (P.run_onnx(session, x) - G(x)).abs().max().item() <= 1e-4


class _Unexportable(nn.Module):
    def forward(self, x):
        return torch.linalg.svd(x.flatten(1)).S  # no ONNX operator for an SVD


class _BakesAConstant(nn.Module):
    def forward(self, x):
        return x * float(x.mean())  # the trace freezes the example's mean: other inputs come out wrong


def test_a_model_that_cannot_be_exported_or_exports_wrongly_is_named(tmp_path):
    with pytest.raises(ValueError, match="_Unexportable cannot be exported to ONNX"):
        P.export_onnx(_Unexportable(), tmp_path / "a.onnx", example=torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="b.onnx: ONNX Runtime's output differs from PyTorch's"):
        P.export_onnx(_BakesAConstant(), tmp_path / "b.onnx", example=torch.randn(2, 3) + 1)
    with pytest.raises(ValueError, match="pass example="):
        P.export_onnx(nn.Linear(3, 3), tmp_path / "c.onnx")
    with pytest.raises(FileNotFoundError, match="no such file"):
        P.onnx_session(tmp_path / "missing.onnx")


def test_latency_is_measured_for_both_runtimes(tmp_path):
    G = _student().eval()
    file = P.export_onnx(G, tmp_path / "g.onnx")
    times = P.compare_latency_onnx({"g": G}, {"g": file}, torch.zeros(4, 1, 32, 32), rounds=2, per_round=2, warmup=1)
    assert set(times["g"]) == {"eager", "onnx"} and all(v > 0 for v in times["g"].values())
    with pytest.raises(ValueError, match="the same models"):
        P.compare_latency_onnx({"g": G}, {"h": file}, torch.zeros(1, 1, 32, 32))


def test_int8_quantisation_by_onnx_runtime_writes_smaller_files_that_run(tmp_path):
    G = _student().eval()
    path = P.export_onnx(G, tmp_path / "g.onnx")
    dynamic = P.quantize_onnx_int8(path, tmp_path / "dyn.onnx")
    static = P.quantize_onnx_int8(path, tmp_path / "st.onnx", calibration=torch.rand(100, 1, 32, 32) * 2 - 1)
    assert P.onnx_bytes(static) < P.onnx_bytes(path)
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        ref = G(x)
    for q in (dynamic, static):
        y = P.run_onnx(P.onnx_session(q), x)
        assert y.shape == ref.shape and (y - ref).abs().max() < 0.5  # int8: close, not equal
    times = P.compare_latency_onnx({"g": G}, {"g": path}, x, rounds=1, per_round=1, warmup=0, onnx_only={"g_int8": static})
    assert set(times["g_int8"]) == {"onnx"}
    with pytest.raises(FileNotFoundError, match="no such file"):
        P.quantize_onnx_int8(tmp_path / "missing.onnx", tmp_path / "x.onnx")
