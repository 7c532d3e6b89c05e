"""Checks of chapter 10 (compressing the translator): the feature-distillation loss with its learned
projections, and the input channels a U-Net decoder layer keeps across a skip.
"""
from __future__ import annotations

import torch
from torch import nn

from gantutor.checks._core import _call, _diagnose, _fail, _passed, exercise
from gantutor.prune.translator import feature_distillation_loss, skip_input_channels


def _feature_case(seed: int):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    projections = nn.ModuleList([nn.Conv2d(3, 5, 1), nn.Conv2d(2, 4, 1)]).double()
    student = [torch.randn(4, 3, 8, 8, generator=gen, dtype=torch.float64, requires_grad=True),
               torch.randn(4, 2, 16, 16, generator=gen, dtype=torch.float64, requires_grad=True)]
    teacher = [torch.randn(4, 5, 8, 8, generator=gen, dtype=torch.float64, requires_grad=True),
               torch.randn(4, 4, 16, 16, generator=gen, dtype=torch.float64, requires_grad=True)]
    return student, teacher, projections


@exercise
def check_feature_distillation_loss(fn) -> None:
    """``fn(student_features, teacher_features, projections)`` → Σ_k mean((P_k(f_S,k) − f_T,k)²),
    with no gradient into the teacher's features."""
    student, teacher, projections = _feature_case(101)
    inputs = {"student_features": "2 tensors (4, 3, 8, 8), (4, 2, 16, 16)",
              "teacher_features": "2 tensors (4, 5, 8, 8), (4, 4, 16, 16)"}
    out = _call(fn, student, teacher, projections, inputs=inputs)
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        _fail("return one number: a scalar tensor", inputs=inputs, actual=type(out).__name__ if not isinstance(out, torch.Tensor)
              else f"shape {tuple(out.shape)}", hint="sum the per-layer means into one loss")
    with torch.no_grad():
        expected = feature_distillation_loss(student, teacher, projections)
        mistakes = [
            (lambda: sum(((p(s) - t) ** 2).sum() for s, t, p in zip(student, teacher, projections)),
             "you summed the squared errors; take each layer's mean (F.mse_loss), then add the layers"),
            (lambda: sum((p(s) - t).abs().mean() for s, t, p in zip(student, teacher, projections)),
             "this is an L1 distance; GAN Compression matches features with the mean squared error"),
            (lambda: sum(((p(s) - t) ** 2).mean() for s, t, p in zip(student, teacher, projections)) / len(student),
             "you averaged the layers; the loss adds them"),
            (lambda: ((projections[0](student[0]) - teacher[0]) ** 2).mean(),
             "only the first layer is counted: add the term of every layer"),
        ]
        if not torch.allclose(out.detach().double(), expected, atol=1e-8):
            _fail("wrong value", inputs=inputs, expected=expected, actual=out.detach().reshape(()),
                  hint=_diagnose(out.detach().double(), mistakes) or
                  "project each student feature with its 1×1 convolution, compare it with the teacher's feature by "
                  "the mean squared error, and add the layers")
    out.reshape(()).backward()
    if any(t.grad is not None and t.grad.abs().sum() > 0 for t in teacher):
        _fail("the loss sends gradient into the teacher's features", inputs=inputs,
              hint="the teacher is the target: use teacher_feature.detach()")
    if student[0].grad is None or projections[0].weight.grad is None:
        _fail("the loss sends no gradient to the student's features or the projections", inputs=inputs,
              hint="build the loss from the student's features through the projections, with torch operations")
    _passed("each layer projected by its 1×1 convolution, compared by its mean squared error, and added; the teacher is a fixed target.")


@exercise
def check_skip_input_channels(fn) -> None:
    """``fn(keep_decoded, keep_encoded, decoded_width)`` → the input channels a decoder layer after a
    skip keeps: keep_decoded, then decoded_width + keep_encoded."""
    cases = [(torch.tensor([0, 2, 3]), torch.tensor([1, 4]), 5), (torch.tensor([1]), torch.tensor([0, 1, 2]), 2),
             (torch.tensor([0, 1, 2, 3]), torch.tensor([3]), 4)]
    for keep_d, keep_e, width in cases:
        inputs = {"keep_decoded": keep_d, "keep_encoded": keep_e, "decoded_width": width}
        out = _call(fn, keep_d.clone(), keep_e.clone(), width, inputs=inputs)
        expected = skip_input_channels(keep_d, keep_e, width)
        out_t = torch.as_tensor(out) if not isinstance(out, torch.Tensor) else out
        if out_t.shape == expected.shape and torch.equal(out_t.long(), expected):
            continue
        mistakes = [
            (torch.cat([keep_d, keep_e]), "the encoder's channels come after the decoder's decoded_width ones: "
                                          "add decoded_width to keep_encoded"),
            (torch.cat([width + keep_e, keep_d]), "the order is torch.cat([decoded, encoded]): the decoder's channels first"),
            (torch.cat([keep_e, width + keep_d]), "the order is torch.cat([decoded, encoded]): the decoder's channels "
                                                  "first, and the offset goes on the encoder's"),
        ]
        hint = _diagnose(out_t.double(), [(m.double(), h) for m, h in mistakes]) if out_t.dim() == 1 else None
        _fail("wrong channels", inputs=inputs, expected=expected, actual=out_t,
              hint=hint or "the layer reads torch.cat([decoded, encoded]): keep keep_decoded, then decoded_width + keep_encoded")
    _passed("the decoder's kept channels, then the encoder's shifted by the decoder's width, in that order.")
