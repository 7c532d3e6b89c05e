"""Checks of chapter 7: a global magnitude mask, the cubic schedule, removing channels, SVD
factorisation, counting multiply-accumulates.
"""
from __future__ import annotations

import numbers

import torch
from torch import nn

from gantutor.checks._core import _call, _fail, _passed, exercise
from gantutor.prune.measure import count_macs


def _keep_top(values: torch.Tensor, keep: int) -> torch.Tensor:
    mask = torch.zeros_like(values)
    mask[torch.topk(values, keep).indices] = 1.0
    return mask


def _global_masks(weights, amount, score=torch.abs, keep_fraction=False, largest=True):
    """The reference mask and its known-wrong variants (``largest=False`` is the source document's inverted mask)."""
    flat = torch.cat([score(w).flatten() for w in weights])
    pruned = round((1 - amount if keep_fraction else amount) * flat.numel())
    keep = flat.numel() - pruned
    mask = _keep_top(flat if largest else -flat, keep)
    return [m.view_as(w) for m, w in zip(mask.split([w.numel() for w in weights]), weights)]


def _per_layer_masks(weights, amount):
    return [_keep_top(w.abs().flatten(), w.numel() - round(amount * w.numel())).view_as(w) for w in weights]


@exercise
def check_global_magnitude_mask(fn) -> None:
    """``fn(weights, amount)`` → one 0/1 mask per weight tensor that zeroes the
    fraction ``amount`` of all the weights with the smallest |w|, ranked together."""
    gen = torch.Generator().manual_seed(71)
    weights = [torch.randn(6, 5, generator=gen) * 0.1, torch.randn(4, 3, 3, 3, generator=gen), torch.randn(10, generator=gen) * 3]
    for amount in (0.5, 0.8):
        inputs = {"shapes": [tuple(w.shape) for w in weights], "amount": amount}
        out = _call(fn, [w.clone() for w in weights], amount, inputs=inputs)
        if not isinstance(out, (list, tuple)) or len(out) != len(weights) or any(
                not isinstance(m, torch.Tensor) or m.shape != w.shape for m, w in zip(out, weights)):
            _fail("return a list with one mask per weight tensor, each of that tensor's shape", inputs=inputs,
                  hint="split the global mask back with .split([w.numel() for w in weights]) and .view_as(w)")
        got = torch.cat([m.detach().flatten().float() for m in out])
        expected = torch.cat([m.flatten() for m in _global_masks(weights, amount)])
        if not torch.equal(got, expected):
            known = [
                (_global_masks(weights, amount, largest=False), "your mask keeps the *smallest* weights and zeroes the "
                 "largest (the bug of the source article 001): keep where |w| is above the threshold"),
                (_per_layer_masks(weights, amount), "you pruned each tensor on its own: a *global* mask ranks all "
                 "the weights together, with one threshold, so a layer of small weights loses more"),
                (_global_masks(weights, amount, score=lambda w: w), "you ranked the signed weights: a large negative "
                 "weight matters as much as a large positive one; rank |w|"),
                (_global_masks(weights, amount, keep_fraction=True), "amount is the fraction to *remove*, not to keep"),
            ]
            hint = next((h for masks, h in known if torch.equal(got, torch.cat([m.flatten() for m in masks]))),
                        "concatenate |w| of all tensors, keep the round((1 − amount)·n) largest, split back")
            _fail(f"wrong mask: {int(got.sum())} weights kept, {int(expected.sum())} expected, "
                  f"{int((got != expected).sum())} entries differ", inputs=inputs, hint=hint)
    _passed("the largest |w| kept across all layers, at 50 % and 80 %.")


def _cubic(t, t0, t1, s_i, s_f):
    p = min(max((t - t0) / (t1 - t0), 0.0), 1.0)
    return s_f + (s_i - s_f) * (1 - p) ** 3


@exercise
def check_cubic_schedule(fn) -> None:
    """``fn(step, start_step, end_step, initial_sparsity, final_sparsity)`` → Zhu & Gupta's s_t."""
    for args in [(0, 100, 1100, 0.0, 0.9), (100, 100, 1100, 0.0, 0.9), (350, 100, 1100, 0.0, 0.9), (600, 100, 1100, 0.1, 0.9),
                 (1100, 100, 1100, 0.0, 0.9), (5000, 100, 1100, 0.0, 0.9)]:
        inputs = dict(zip(("step", "start_step", "end_step", "initial_sparsity", "final_sparsity"), args))
        out = _call(fn, *args, inputs=inputs)
        if isinstance(out, torch.Tensor) and out.numel() == 1:
            out = out.item()
        if isinstance(out, bool) or not isinstance(out, numbers.Real):
            _fail(f"returned a {type(out).__name__}, not a number", inputs=inputs, hint="return s_t as a float")
        expected = _cubic(*args)
        if abs(out - expected) > 1e-6:
            t, t0, t1, s_i, s_f = args
            p = (t - t0) / (t1 - t0)
            clamped = min(max(p, 0.0), 1.0)
            known = [
                (s_f + (s_i - s_f) * (1 - p) ** 3, "outside [start_step, end_step] the schedule holds still: clamp "
                 "(t − t0)/(n·Δt) to [0, 1] (s_i before the start, s_f after the end)"),
                (s_i + (s_f - s_i) * clamped, "that is a linear ramp: the schedule is cubic, (1 − progress)³"),
                (s_i + (s_f - s_i) * clamped**3, "you cubed the progress instead of (1 − progress): that prunes slowly "
                 "first and fast at the end, the opposite of the schedule"),
                (s_f + (s_i - s_f) * (1 - clamped) ** 2, "the exponent is 3"),
            ]
            hint = next((h for v, h in known if abs(out - v) < 1e-6),
                        "s_t = s_f + (s_i − s_f)·(1 − (t − t0)/(n·Δt))³ with the fraction clamped to [0, 1]")
            _fail("wrong sparsity", inputs=inputs, expected=expected, actual=float(out), hint=hint)
    _passed("s_i before the start, the cubic in between, s_f from the end step on.")


def _conv_pair(gen):
    first = nn.Conv2d(3, 6, 3, padding=1)
    second = nn.Conv2d(6, 4, 3, padding=1)
    with torch.no_grad():
        for p in (*first.parameters(), *second.parameters()):
            p.copy_(torch.randn(p.shape, generator=gen))
    return first, second


@exercise
def check_remove_channels(fn) -> None:
    """``fn(conv1, conv2, keep)`` → (new_conv1, new_conv2): conv1 producing only the
    output channels ``keep``, conv2 reading only those; the pair computes what the original
    computes with the other channels of conv1 zeroed."""
    gen = torch.Generator().manual_seed(73)
    conv1, conv2 = _conv_pair(gen)
    keep = torch.tensor([0, 2, 5])
    x = torch.randn(2, 3, 5, 5, generator=gen)
    inputs = {"conv1": "Conv2d(3, 6, 3)", "conv2": "Conv2d(6, 4, 3)", "keep": keep}
    out = _call(fn, conv1, conv2, keep.clone(), inputs=inputs)
    if not isinstance(out, (tuple, list)) or len(out) != 2 or not all(isinstance(m, nn.Conv2d) for m in out):
        _fail("return the two new layers, (new_conv1, new_conv2), both nn.Conv2d", inputs=inputs)
    new1, new2 = out
    shapes = (tuple(new1.weight.shape), tuple(new2.weight.shape))
    if shapes != ((3, 3, 3, 3), (4, 3, 3, 3)):
        hints = {((6, 3, 3, 3), (4, 3, 3, 3)): "conv1 still has 6 output channels: keep only its filters (rows) `keep`",
                 ((3, 3, 3, 3), (4, 6, 3, 3)): "conv2 still reads 6 channels: cut its weight's *input* axis (dim 1) too",
                 ((3, 3, 3, 3), (3, 6, 3, 3)): "you cut conv2's *output* channels (dim 0); the removed channels are its "
                                               "inputs: index dim 1",
                 ((3, 3, 3, 3), (4, 3, 3, 3)): ""}
        _fail("wrong weight shapes", inputs=inputs, expected="conv1 (3, 3, 3, 3), conv2 (4, 3, 3, 3)", actual=str(shapes),
              hint=hints.get(shapes, "conv1.weight[keep] and conv2.weight[:, keep]; update in/out_channels"))
    with torch.no_grad():
        zeroed = nn.Conv2d(3, 6, 3, padding=1)
        zeroed.load_state_dict(conv1.state_dict())
        drop = [c for c in range(6) if c not in keep.tolist()]
        zeroed.weight[drop] = 0.0
        zeroed.bias[drop] = 0.0
        expected, actual = conv2(zeroed(x)), new2(new1(x))
        if actual.shape != expected.shape or not torch.allclose(actual, expected, atol=1e-5):
            if torch.equal(new1.weight, conv1.weight[drop]):
                hint = "you kept the channels *not* in keep: keep is the list of channels to keep"
            elif new1.bias is None or not torch.allclose(new1.bias, conv1.bias[keep]):
                hint = "conv1's bias has one entry per output channel: keep bias[keep] too"
            else:
                hint = "keep conv1.weight[keep] (output axis 0) and conv2.weight[:, keep] (input axis 1), in keep's order"
            _fail("the pruned pair does not compute what the zeroed original computes", inputs=inputs,
                  expected=expected, actual=actual, hint=hint)
    if new1.out_channels != 3 or new2.in_channels != 3:
        _fail("the weights are right but the layers' attributes still say the old sizes", inputs=inputs,
              expected="new_conv1.out_channels == 3 and new_conv2.in_channels == 3",
              actual={"new_conv1.out_channels": new1.out_channels, "new_conv2.in_channels": new2.in_channels},
              hint="build new nn.Conv2d layers of the new sizes")
    _passed("3 of 6 channels removed for real: same output as zeroing them, half the weights of the pair.")


@exercise
def check_low_rank(fn) -> None:
    """``fn(W, rank)`` → (A, B), A (m × r), B (r × n), with A @ B the best rank-r approximation of W."""
    gen = torch.Generator().manual_seed(74)
    W = torch.randn(8, 6, generator=gen, dtype=torch.float64)
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    for rank in (1, 3):
        inputs = {"W": W, "rank": rank}
        out = _call(fn, W.clone(), rank, inputs=inputs)
        if not isinstance(out, (tuple, list)) or len(out) != 2 or not all(isinstance(t, torch.Tensor) for t in out):
            _fail("return the two factors (A, B)", inputs=inputs)
        A, B = (t.detach().double() for t in out)
        if A.shape != (8, rank) or B.shape != (rank, 6):
            _fail("wrong factor shapes", inputs=inputs, expected=f"A (8, {rank}), B ({rank}, 6)",
                  actual=f"A {tuple(A.shape)}, B {tuple(B.shape)}", hint="A = U[:, :r]·Σ[:r], B = Vh[:r] (or split √Σ)")
        expected = U[:, :rank] @ torch.diag(S[:rank]) @ Vh[:rank]
        if not torch.allclose(A @ B, expected, atol=1e-6):
            known = [(U[:, :rank] @ Vh[:rank], "Σ is missing: scale U's columns (or Vh's rows) by the singular values"),
                     (U[:, -rank:] @ torch.diag(S[-rank:]) @ Vh[-rank:], "you kept the *smallest* singular values: "
                      "torch.linalg.svd returns them in descending order, keep the first r"),
                     (U[:, :rank] @ torch.diag(S[:rank]) @ Vh[:, :rank].t(), "Vh is already transposed (rows are the "
                      "right singular vectors): take Vh[:r], not Vh[:, :r].T")]
            hint = next((h for v, h in known if v.shape == (8, 6) and torch.allclose(A @ B, v, atol=1e-6)),
                        "U, S, Vh = torch.linalg.svd(W, full_matrices=False); A = U[:, :r] * S[:r]; B = Vh[:r]")
            _fail("A @ B is not the best rank-r approximation", inputs=inputs, expected=expected, actual=A @ B, hint=hint)
    _passed("A @ B is W's truncated SVD; its error is the norm of the dropped singular values (Eckart–Young).")


@exercise
def check_count_macs(fn) -> None:
    """``fn(model, input_shape)`` → multiply-accumulates of one forward pass of the
    Linear / Conv2d / ConvTranspose2d layers (batch included)."""
    cases = [
        ("Conv2d(3, 8, 3, padding=1)", nn.Conv2d(3, 8, 3, padding=1), (2, 3, 6, 6)),
        ("Linear(10, 4)", nn.Linear(10, 4), (3, 10)),
        ("Conv2d(4, 2, 3, stride=2)", nn.Conv2d(4, 2, 3, stride=2), (1, 4, 9, 9)),
        ("ConvTranspose2d(4, 2, 4, stride=2, padding=1)", nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1), (2, 4, 5, 5)),
        ("Sequential(Linear(8, 32), ReLU, Unflatten to 2×4×4, ConvTranspose2d(2, 1, 4, 2, 1))",
         nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Unflatten(1, (2, 4, 4)), nn.ConvTranspose2d(2, 1, 4, 2, 1)), (3, 8)),
    ]
    for name, model, shape in cases:
        inputs = {"model": name, "input_shape": shape}
        out = _call(fn, model, shape, inputs=inputs)
        if isinstance(out, torch.Tensor) and out.numel() == 1:
            out = out.item()
        expected = count_macs(model, shape)
        if isinstance(out, bool) or not isinstance(out, numbers.Real) or out != expected:
            params = sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)))
            per_sample = expected // shape[0]
            if out == params:
                hint = "that is the number of weights: each weight is used once per output position (and per image)"
            elif out == per_sample:
                hint = "that is for one image: the input shape's first number is the batch, multiply by it"
            elif isinstance(model, nn.ConvTranspose2d) or "ConvTranspose" in name:
                hint = ("a transposed convolution scatters its k×k kernel from every *input* pixel: "
                        "MACs = B·H_in·W_in·C_in·C_out·k² (not the output's H·W)")
            else:
                hint = ("Linear: B·in·out; Conv2d: B·H_out·W_out·C_out·C_in·k² — run the model on torch.zeros(shape) "
                        "with forward hooks to get each layer's input and output shapes")
            _fail("wrong count", inputs=inputs, expected=expected, actual=out, hint=hint)
    _passed("Linear, strided Conv2d, ConvTranspose2d and a small generator all counted right.")
