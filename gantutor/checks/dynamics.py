"""Checks of chapters 2 and 3: game dynamics (simultaneous and alternating steps, extragradient,
unrolling) and mode collapse (packing, counting modes, the gradient penalty).
"""
from __future__ import annotations

import math

import torch

from gantutor.checks._core import exercise, _call, _diagnose, _fail, _fmt, _passed, _scalar_loss
from gantutor.data import mixture
from gantutor.metrics import mode_coverage
from gantutor.train import unrolled_parameters


# --- Chapter 2: game dynamics ---------------------------------------------------------------------

_GAME_CASES = [(1.0, 1.0, 0.1), (0.5, -2.0, 0.3), (-1.5, 0.25, 0.05)]


def _check_game_step(fn, reference, mistakes, formula: str) -> None:
    for x, y, lr in _GAME_CASES:
        inputs = {"x": x, "y": y, "lr": lr}
        out = _call(fn, x, y, lr, inputs=inputs)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            _fail(f"returned {_fmt(out)}", inputs=inputs, expected="a pair (x_new, y_new)",
                  hint="end with `return x_new, y_new`")
        actual = torch.tensor([float(v) for v in out], dtype=torch.float64)
        expected = torch.tensor(reference(x, y, lr), dtype=torch.float64)
        if not torch.allclose(actual, expected, atol=1e-9):
            hint = _diagnose(actual, [(torch.tensor(m(x, y, lr), dtype=torch.float64), h) for m, h in mistakes], atol=1e-9)
            _fail("wrong step", inputs=inputs, expected=tuple(expected.tolist()), actual=tuple(actual.tolist()),
                  hint=hint or formula)


@exercise
def check_gda_step(fn) -> None:
    """``fn(x, y, lr)`` → one simultaneous gradient descent-ascent step on f(x, y) = x·y."""
    mistakes = [
        (lambda x, y, lr: (x - lr * y, y - lr * x), "y is the maximising player: it *ascends*, y + lr·∂f/∂y = y + lr·x"),
        (lambda x, y, lr: (x + lr * y, y + lr * x), "x is the minimising player: it *descends*, x − lr·∂f/∂x = x − lr·y"),
        (lambda x, y, lr: (x - lr * y, y + lr * (x - lr * y)),
         "you used the new x in y's update: that is alternating GDA; simultaneous uses the old point for both"),
        (lambda x, y, lr: (x - lr * x, y + lr * y), "∂f/∂x = y and ∂f/∂y = x for f = x·y (the gradients are swapped)"),
    ]
    _check_game_step(fn, lambda x, y, lr: (x - lr * y, y + lr * x), mistakes,
                     "x_new = x − lr·y and y_new = y + lr·x, both computed from the old (x, y)")
    _passed("simultaneous gradient descent-ascent, signs and timing right.")


def _extragradient_step(x, y, lr):
    x_half, y_half = x - lr * y, y + lr * x  # look ahead
    return x - lr * y_half, y + lr * x_half  # update the old point with the look-ahead gradient


@exercise
def check_extragradient_step(fn) -> None:
    """``fn(x, y, lr)`` → one extragradient step on f(x, y) = x·y."""
    mistakes = [
        (lambda x, y, lr: (x - lr * y, y + lr * x), "this is plain GDA: first take a look-ahead step, then update with "
                                                     "the gradient *at the look-ahead point*"),
        (lambda x, y, lr: (lambda xh, yh: (xh - lr * yh, yh + lr * xh))(x - lr * y, y + lr * x),
         "you stepped from the look-ahead point (two GDA steps); the update starts again from the *old* (x, y)"),
    ]
    _check_game_step(fn, _extragradient_step, mistakes,
                     "x½ = x − lr·y, y½ = y + lr·x; then x_new = x − lr·y½, y_new = y + lr·x½")
    _passed("the extragradient step: look ahead, then update the old point.")


# --- Chapter 3: mode collapse ---------------------------------------------------------------------

def _coverage_cases():

    ring = mixture("ring")
    gen = torch.Generator().manual_seed(11)
    near = ring.means[2] + torch.tensor([[0.025, 0.0], [0.035, 0.0]])  # 2.5σ and 3.5σ from mode 2
    return ring, [
        ("2,500 samples of the ring itself", ring.sample(2500, generator=gen)),
        ("a generator collapsed on mode 5", ring.means[5] + 0.01 * torch.randn(500, 2, generator=gen)),
        ("samples between the modes (radius 0.5)", 0.5 * ring.means[[0, 3]].repeat(50, 1)),
        ("one sample at 2.5σ and one at 3.5σ from mode 2", near),
    ]


@exercise
def check_count_modes(fn) -> None:
    """``fn(samples, means, std)`` → (modes captured, fraction of high-quality samples)."""
    ring, cases = _coverage_cases()
    for label, x in cases:
        inputs = {"samples": label, "means": "the 8 ring modes", "std": ring.std}
        out = _call(fn, x.clone(), ring.means.clone(), ring.std, inputs=inputs)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            _fail(f"returned {_fmt(out)}", inputs=inputs, expected="a pair (modes, high_quality)")
        modes, hq = int(out[0]), float(out[1])
        ref = mode_coverage(x, ring)
        if (modes, round(hq, 6)) != (ref.modes, round(ref.high_quality, 6)):
            dist, nearest = torch.cdist(x, ring.means).min(1)
            any_nearest = len(set(nearest.tolist()))
            unscaled = ((dist < 3).float().mean().item(), len(set(nearest[dist < 3].tolist())))
            if hq > 1:
                hint = "high_quality is a fraction of the samples (between 0 and 1), not a count"
            elif modes == any_nearest != ref.modes:
                hint = "a mode counts only when a *high-quality* sample (within 3σ) has it as its nearest mode"
            elif (round(hq, 6), modes) == (round(unscaled[0], 6), unscaled[1]):
                hint = "standardise the distance: a sample is high quality when distance / std < 3, not distance < 3"
            else:
                hint = "for each sample: nearest mode and its distance; high quality when distance / std < 3"
            _fail("wrong count", inputs=inputs, expected=(ref.modes, round(ref.high_quality, 4)),
                  actual=(modes, round(hq, 4)), hint=hint)
    _passed("modes and high-quality fraction follow the VEEGAN/PacGAN protocol.")


@exercise
def check_pack(fn) -> None:
    """``fn(x, m)`` → (B/m, m·d): m different samples side by side per row."""
    x = torch.arange(24.0).reshape(12, 2)  # 12 distinct samples in 2D
    for m in (2, 3, 4):
        inputs = {"x": x, "m": m}
        out = _call(fn, x.clone(), m, inputs=inputs)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (12 // m, 2 * m):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            _fail("wrong shape", inputs=inputs, expected=f"shape ({12 // m}, {2 * m})", actual=f"{shape}",
                  hint="B samples of dimension d become B/m packs of dimension m·d")
        chunks = out.reshape(-1, 2)  # every sample in every pack
        if not all(any(torch.equal(c, row) for row in x) for c in chunks):
            _fail("the packs contain points that are not samples", inputs=inputs, actual=out,
                  hint="keep each sample's coordinates together: reshape the (B, d) tensor row-major, don't transpose")
        if sorted(map(tuple, chunks.tolist())) != sorted(map(tuple, x.tolist())):
            _fail("some samples appear twice and others not at all", inputs=inputs, actual=out,
                  hint="a pack holds m *different* samples and each sample goes into exactly one pack "
                       "(repeating one sample m times shows D nothing about variety)")
    try:
        fn(torch.zeros(6, 2), 4)
    except ValueError:
        pass
    except NotImplementedError:
        raise
    except Exception as err:
        _fail(f"with B = 6 and m = 4 your function raised {type(err).__name__}, not ValueError",
              hint="check `x.shape[0] % m` first and raise ValueError with a message")
    else:
        _fail("with B = 6 and m = 4 your function returned a result", hint="6 samples cannot form packs of 4: raise ValueError")
    _passed("every pack holds m different samples, each used once.")


class _LinearCritic(torch.nn.Module):
    """D(x) = w·vec(x) (points (N, d) or images (N, 1, h, w)), whose gradient is w at every point:
    the penalty is known exactly."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w, dtype=torch.float32))

    def forward(self, x):
        return x.flatten(1) @ self.w


@exercise
def check_gradient_penalty(fn) -> None:
    """``fn(D, real, fake)`` → E[(‖∇D(x̂)‖₂ − 1)²] at random interpolates x̂."""
    gen = torch.Generator().manual_seed(5)
    real, fake = torch.randn(16, 2, generator=gen), torch.randn(16, 2, generator=gen)
    for w, expected in (([0.6, 0.8], 0.0), ([0.0, 0.0], 1.0), ([3.0, 4.0], 16.0)):
        D = _LinearCritic(w)
        inputs = {"D": f"D(x) = {w}·x (gradient norm {math.hypot(*w):g} everywhere)", "real": real, "fake": fake}
        out = _scalar_loss(_call(fn, D, real.clone(), fake.clone(), inputs=inputs), inputs)
        if abs(out.item() - expected) > 1e-4:
            norm = math.hypot(*w)
            known = {round(norm**2, 4): "penalise (‖∇D‖ − 1)², not ‖∇D‖²",
                     round(max(norm - 1, 0) ** 2, 4): "WGAN-GP's penalty is two-sided: (‖∇D‖ − 1)², also when ‖∇D‖ < 1",
                     round((norm * 4 - 1) ** 2, 4): "take the norm per sample (dim=1), then the mean over the batch",
                     round(abs(norm - 1), 4): "square the deviation: (‖∇D‖ − 1)²"}
            _fail("wrong value", inputs=inputs, expected=expected, actual=out.item(),
                  hint=known.get(round(out.item(), 4), "E[(‖∇_x̂ D(x̂)‖₂ − 1)²] with ∇ from torch.autograd.grad"))
    D = _LinearCritic([3.0, 4.0])
    fake_g = fake.clone().requires_grad_(True)
    out = _call(fn, D, real.clone(), fake_g)
    if not out.requires_grad:
        _fail("the penalty cannot be trained through", hint="call torch.autograd.grad(..., create_graph=True) so that "
                                                               "the penalty's own gradient reaches D's weights")
    out.backward()
    if D.w.grad is None or D.w.grad.abs().sum() == 0:
        _fail("D's weights received no gradient from the penalty", hint="use create_graph=True in torch.autograd.grad")
    if fake_g.grad is not None and fake_g.grad.abs().sum() > 0:
        _fail("the penalty sent gradients into the fakes (into G)", hint="build x̂ from real.detach() and fake.detach()")
    _passed("the gradient penalty is right, trains D, and leaves G alone.")


@exercise
def check_unrolled_parameters(fn) -> None:
    """``fn(D, fake, real_batches, inner_lr)`` → D's parameters after the look-ahead."""
    torch.manual_seed(3)
    D = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.LeakyReLU(0.2), torch.nn.Linear(8, 1), torch.nn.Flatten(0))
    before = {k: v.detach().clone() for k, v in D.state_dict().items()}
    gen = torch.Generator().manual_seed(4)
    reals = [torch.randn(8, 2, generator=gen) for _ in range(3)]
    fake_you = torch.randn(8, 2, generator=gen).requires_grad_(True)
    fake_ref = fake_you.detach().clone().requires_grad_(True)
    inputs = {"fake": fake_you, "steps": len(reals), "inner_lr": 0.5}
    params = _call(fn, D, fake_you, reals, 0.5, inputs=inputs)
    if any(not torch.equal(v, before[k]) for k, v in D.state_dict().items()):
        _fail("D's own weights changed", hint="work on a functional copy (a dict of tensors); don't step an optimiser on D")
    if not isinstance(params, dict) or set(params) != set(dict(D.named_parameters())):
        _fail(f"returned {type(params).__name__}", expected=f"a dict with keys {sorted(dict(D.named_parameters()))}",
              hint="start from dict(D.named_parameters()) and return the updated dict")
    ref = unrolled_parameters(D, fake_ref, reals, 0.5)
    for k in ref:
        if not torch.allclose(params[k], ref[k], atol=1e-5):
            ascent = unrolled_parameters(D, fake_ref, reals, -0.5)
            hint = ("D *descends* its loss in the look-ahead: θ − lr·∇θ L_D" if torch.allclose(params[k], ascent[k], atol=1e-5)
                    else "one step per real batch: θ ← θ − lr·∇θ L_D(D_θ(real), D_θ(fake)), with D_θ = functional_call(D, θ, ...)")
            _fail(f"parameter {k!r} differs from the reference after the look-ahead", expected=ref[k], actual=params[k], hint=hint)
    probe = lambda p, f: torch.func.functional_call(D, p, (f,)).sum()
    out_you = probe(params, fake_you)
    g_you = torch.autograd.grad(out_you, fake_you, allow_unused=True)[0] if out_you.requires_grad else None
    (g_ref,) = torch.autograd.grad(probe(ref, fake_ref), fake_ref)
    if g_you is None or not torch.allclose(g_you, g_ref, atol=1e-5):
        _fail("G cannot see through your look-ahead: the gradient with respect to the fakes differs",
              hint="use torch.autograd.grad(loss, params, create_graph=True), and don't detach the fakes: "
                   "the unrolled GAN differentiates through D's future updates")
    _passed("the look-ahead matches, and G's gradient flows through it.")
