"""Exercise checks with feedback a learner can act on.

A check runs the learner's function on hidden cases and compares it with the package's reference.
On success it prints one line. On failure it raises ``CheckFailure`` (an AssertionError) that
shows the input, the expected and the actual value, and a hint. When the answer matches a known
mistake (a flipped sign, swapped labels, a sigmoid applied twice, a missing ``detach``) the hint
names that mistake. A stub that still raises NotImplementedError is reported as "not done yet".
Checks test behaviour (values, shapes, gradient flow), never the source text.
"""
from __future__ import annotations

import contextlib
import copy
import math
import random

import torch
import torch.nn.functional as F

from gantutor import losses, theory
from gantutor.train import d_step, g_step


class CheckFailure(AssertionError):
    """A learner's answer is wrong; the message says how."""


def exercise(ident: str):
    """Mark a check with the exercise it checks ("1.2"); a test matches it to the notebooks."""
    def mark(check):
        check.exercise = ident
        return check
    return mark


def _fmt(x) -> str:
    if isinstance(x, torch.Tensor):
        flat = x.detach().flatten().tolist()
        values = ", ".join(f"{v:.4g}" for v in flat[:6]) + (", ..." if len(flat) > 6 else "")
        return f"tensor of shape {tuple(x.shape)}: [{values}]"
    if isinstance(x, float):
        return f"{x:.6g}"
    return repr(x)


def _fail(exercise: str, problem: str, *, inputs=None, expected=None, actual=None, hint=None):
    lines = [f"Exercise {exercise}: {problem}"]
    for label, value in (("input", inputs), ("expected", expected), ("actual", actual)):
        if value is not None:
            text = "; ".join(f"{k} = {_fmt(v)}" for k, v in value.items()) if isinstance(value, dict) else _fmt(value)
            lines.append(f"  {label + ':':10s}{text}")
    if hint:
        lines.append(f"  hint:     {hint}")
    raise CheckFailure("\n".join(lines))


def _passed(exercise: str, message: str) -> None:
    print(f"✔ Exercise {exercise} passed: {message}")


def _call(fn, exercise: str, *args, inputs: dict | None = None):
    """Call the learner's function; turn 'not done yet' and crashes into clear messages."""
    if not callable(fn):
        raise TypeError(
            f"Exercise {exercise}: pass your function itself, e.g. check(my_fn), not its result "
            f"(got a {type(fn).__name__})"
        )
    try:
        return fn(*args)
    except NotImplementedError:
        raise NotImplementedError(
            f"Exercise {exercise} is not done yet: replace the `raise NotImplementedError(...)` line "
            "with your code, run that cell, then run this check again."
        ) from None
    except Exception as err:
        _fail(exercise, f"your function raised {type(err).__name__}: {err}",
              inputs=inputs or {f"argument {i + 1}": a for i, a in enumerate(args) if isinstance(a, (torch.Tensor, int, float))},
              hint="the traceback above shows the line in your code that failed")


def _diagnose(actual, mistakes, atol=1e-5):
    """The hint of the first known mistake whose value matches ``actual``, else None."""
    for value, hint in mistakes:
        if torch.allclose(actual.double(), torch.as_tensor(value).double(), atol=atol, equal_nan=True):
            return hint
    return None


def _scalar_loss(out, exercise: str, inputs: dict):
    if not isinstance(out, torch.Tensor):
        _fail(exercise, f"returned a {type(out).__name__}, not a tensor", inputs=inputs,
              hint="keep the loss a torch tensor (no .item(), float() or numpy) so that .backward() works")
    if out.numel() != 1:
        _fail(exercise, f"returned shape {tuple(out.shape)}, not a scalar", inputs=inputs,
              hint="a loss is one number: average over the batch with .mean()")
    return out.reshape(())


def _loss_cases(generator: torch.Generator):
    """Hidden logits: ordinary, zero, and extreme (a confident D) ones."""
    yield torch.randn(8, generator=generator, dtype=torch.float64) * 2, torch.randn(8, generator=generator, dtype=torch.float64) * 2
    yield torch.zeros(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    yield torch.tensor([80.0, -80.0, 5.0], dtype=torch.float64), torch.tensor([-120.0, 90.0, 0.5], dtype=torch.float64)


_UNSTABLE = ("the loss is not finite for confident logits (|l| ≈ 100): log(sigmoid(l)) underflows to log(0). "
             "Use the stable forms -log σ(l) = F.softplus(-l) and -log(1 - σ(l)) = F.softplus(l), "
             "or F.binary_cross_entropy_with_logits")


def _check_loss(fn, exercise: str, reference, mistakes, formula: str, n_args: int) -> None:
    """Shared driver of the loss checks: reference values, stability, gradient, known mistakes."""
    gen = torch.Generator().manual_seed(1234)
    for case in _loss_cases(gen):
        args = [a.clone().requires_grad_(True) for a in case[-n_args:]]
        inputs = dict(zip(("logits_real", "logits_fake")[-n_args:], args))
        out = _scalar_loss(_call(fn, exercise, *args, inputs=inputs), exercise, inputs)
        expected = reference(*[a.detach() for a in args])
        if not torch.isfinite(out):
            _fail(exercise, "the loss is inf or NaN", inputs=inputs, expected=float(expected), actual=out.item(), hint=_UNSTABLE)
        if not torch.allclose(out.double(), expected.double(), atol=1e-5, rtol=1e-5):
            hint = _diagnose(out.detach(), [(m(*[a.detach() for a in args]), h) for m, h in mistakes])
            _fail(exercise, "wrong value", inputs=inputs, expected=float(expected), actual=out.item(),
                  hint=hint or f"the formula is {formula}")
        if not out.requires_grad:
            _fail(exercise, "the loss does not depend on the logits through autograd", inputs=inputs,
                  hint="build the loss from the input tensors with torch operations (no .item(), numpy or .detach())")


def _bce_on_probs(p, target):
    return F.binary_cross_entropy_with_logits(p, torch.full_like(p, target))


@exercise("1.2")
def check_discriminator_loss(fn) -> None:
    """Exercise 1.2: ``fn(logits_real, logits_fake)`` → L_D = -E[log D(x)] - E[log(1 - D(G(z)))]."""
    ref = losses.discriminator_loss
    mistakes = [
        (lambda r, f: -ref(r, f), "the sign is flipped: you returned V(D, G), which D maximises; the loss D "
                                  "minimises is L_D = -V = -E[log D(x)] - E[log(1 - D(G(z)))]"),
        (lambda r, f: F.softplus(r).mean() + F.softplus(-f).mean(),
         "real and fake labels are swapped: D should output 1 (real) on real data and 0 on fakes"),
        (lambda r, f: _bce_on_probs(torch.sigmoid(r), 1.0) + _bce_on_probs(torch.sigmoid(f), 0.0),
         "a sigmoid was applied twice: the inputs are logits, and binary_cross_entropy_with_logits "
         "(or softplus) applies the sigmoid itself; don't pass torch.sigmoid(logits) to it"),
        (lambda r, f: ref(r, f) / 2, "you averaged the two terms; the course's L_D is their sum"),
        (lambda r, f: F.softplus(-r).mean(), "the term for the fakes, -E[log(1 - D(G(z)))], is missing"),
        (lambda r, f: F.softplus(f).mean(), "the term for the real data, -E[log D(x)], is missing"),
    ]
    _check_loss(fn, "1.2", ref, mistakes, "L_D = mean(softplus(-logits_real)) + mean(softplus(logits_fake))", 2)
    _passed("1.2", "matches the reference on ordinary and extreme logits, and is stable.")


@exercise("1.3")
def check_generator_loss_nonsaturating(fn) -> None:
    """Exercise 1.3: ``fn(logits_fake)`` → L_G = -E[log D(G(z))]."""
    mistakes = [
        (losses.generator_loss_minimax, "this is the saturating (minimax) loss E[log(1 - D(G(z)))]; the "
                                        "non-saturating one is -E[log D(G(z))]"),
        (lambda f: F.softplus(f).mean(), "you labelled G's samples as fake (0): G wants D to call them real, so "
                                         "its loss uses label 1: -E[log D(G(z))]"),
        (lambda f: -F.softplus(-f).mean(), "the sign is flipped: E[log D(G(z))] is what G maximises; "
                                           "the loss it minimises is its negative"),
        (lambda f: _bce_on_probs(torch.sigmoid(f), 1.0), "a sigmoid was applied twice: the input is already a logit"),
    ]
    _check_loss(fn, "1.3", losses.generator_loss_nonsaturating, mistakes,
                "L_G = mean(softplus(-logits_fake)) = -mean(log sigmoid(logits_fake))", 1)
    _passed("1.3", "the non-saturating generator loss is right and stable.")


@exercise("1.1")
def check_sample_noise(fn) -> None:
    """Exercise 1.1: ``fn(batch_size, latent_dim)`` → z ~ N(0, I) of shape (batch_size, latent_dim)."""
    ex = "1.1"
    z = _call(fn, ex, 5, 3)
    if not isinstance(z, torch.Tensor):
        _fail(ex, f"returned a {type(z).__name__}, not a torch.Tensor", inputs={"batch_size": 5, "latent_dim": 3},
              hint="use torch.randn, which returns a tensor")
    if tuple(z.shape) != (5, 3):
        _fail(ex, "wrong shape", inputs={"batch_size": 5, "latent_dim": 3}, expected="shape (5, 3)",
              actual=f"shape {tuple(z.shape)}", hint="one row per sample: shape (batch_size, latent_dim)")
    big = _call(fn, ex, 20000, 4)
    if tuple(big.shape) != (20000, 4) or not big.is_floating_point():
        _fail(ex, "wrong shape or dtype for a large batch", inputs={"batch_size": 20000, "latent_dim": 4},
              expected="float tensor of shape (20000, 4)", actual=f"{big.dtype}, shape {tuple(big.shape)}")
    mean, std = float(big.mean()), float(big.std())
    if big.min() >= 0 and big.max() <= 1:
        hint = "torch.rand draws from the uniform distribution on [0, 1); the prior here is N(0, I): torch.randn"
    elif big.min() >= -1 and big.max() <= 1:
        hint = "uniform noise on [-1, 1] is used by some papers, but this course's prior is N(0, I): torch.randn"
    else:
        hint = "z should be standard normal: mean 0, standard deviation 1 in every coordinate (torch.randn)"
    if abs(mean) > 0.05 or abs(std - 1) > 0.05:
        _fail(ex, "the samples do not look like N(0, I)", inputs={"batch_size": 20000, "latent_dim": 4},
              expected="mean ≈ 0, std ≈ 1", actual=f"mean = {mean:.3f}, std = {std:.3f}", hint=hint)
    again = _call(fn, ex, 20000, 4)
    if torch.equal(again, big):
        _fail(ex, "two calls returned the same numbers", hint="don't seed inside the function: each call must draw fresh noise")
    _passed(ex, "z has the right shape and looks standard normal.")


@exercise("1.4")
def check_optimal_discriminator(fn) -> None:
    """Exercise 1.4: ``fn(p_data, p_g)`` → D*(x) = p_data / (p_data + p_g), 1/2 where both are 0."""
    ex = "1.4"
    x = torch.linspace(-6, 6, 241, dtype=torch.float64)
    p_data, p_g = theory.gaussian_density(x, 0.0, 1.0), theory.gaussian_density(x, 1.5, 0.7)
    box = lambda lo, hi: ((x >= lo) & (x < hi)).double() / (hi - lo)  # uniform density on [lo, hi)
    cases = [(p_data, p_g), (box(-4, 0), box(-1, 3))]  # the second has points where both are 0
    for p, q in cases:
        inputs = {"p_data": p, "p_g": q}
        out = _call(fn, ex, p.clone(), q.clone(), inputs=inputs)
        out = torch.as_tensor(out, dtype=torch.float64)
        expected = theory.optimal_discriminator(p, q)
        if out.shape != p.shape:
            _fail(ex, "wrong shape", inputs=inputs, expected=f"shape {tuple(p.shape)}", actual=f"shape {tuple(out.shape)}",
                  hint="D* is computed point by point: one value per grid point")
        both_zero = (p == 0) & (q == 0)
        if torch.isnan(out).any():
            where = "where both densities are 0" if torch.isnan(out[both_zero]).any() else "somewhere"
            _fail(ex, f"D* contains NaN {where}", inputs=inputs, expected=expected, actual=out,
                  hint="0/0 is NaN: where p_data + p_g == 0, return 0.5 (e.g. with torch.where)")
        if not torch.allclose(out, expected, atol=1e-8):
            mistakes = [
                (q / (p + q).clamp_min(1e-300), "you returned p_g / (p_data + p_g) = 1 - D*: D(x) is the probability that x is real"),
                (p / q.clamp_min(1e-300), "p_data / p_g is a density ratio, not a probability: divide by p_data + p_g"),
            ]
            mask = ~both_zero
            hint = _diagnose(out[mask], [(m[mask], h) for m, h in mistakes], atol=1e-6)
            _fail(ex, "wrong values", inputs=inputs, expected=expected, actual=out,
                  hint=hint or "D*(x) = p_data(x) / (p_data(x) + p_g(x)), and 0.5 where both are 0")
    _passed(ex, "D* is right, also where neither distribution has mass.")


def _tiny_gan(seed: int = 0):
    torch.manual_seed(seed)
    G = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    D = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 1), torch.nn.Flatten(0))
    return G, D


def _run_step(step_fn, G, D, x, z, stale_grads: bool):
    """Run a training step on copies with SGD; stale gradients are planted first to catch a missing zero_grad."""
    G, D = copy.deepcopy(G), copy.deepcopy(D)
    opt_G, opt_D = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    if stale_grads:
        for p in list(G.parameters()) + list(D.parameters()):
            p.grad = torch.full_like(p, 0.5)
    backward_passes = [0]
    handle = next(G.parameters()).register_hook(lambda g: backward_passes.__setitem__(0, backward_passes[0] + 1))
    out = step_fn(G, D, opt_G, opt_D, x.clone(), z.clone())
    handle.remove()
    return G, D, out, backward_passes[0]


def _reference_step(G, D, opt_G, opt_D, x_real, z):
    d = d_step(G, D, x_real, z, opt_D)
    g = g_step(G, D, z, opt_G)
    return d["d_loss"], g["g_loss"]


def _mistake_step(detach=True, zero_grad=True, g_loss=losses.generator_loss_nonsaturating, g_first=False):
    """A training step with one known mistake, to recognise it in a learner's answer."""
    def step(G, D, opt_G, opt_D, x_real, z):
        def update_d():
            fake = G(z) if not detach else G(z).detach()
            loss = losses.discriminator_loss(D(x_real), D(fake))
            if zero_grad:
                opt_D.zero_grad()
            loss.backward()
            opt_D.step()

        def update_g():
            loss = g_loss(D(G(z)))
            if zero_grad:
                opt_G.zero_grad()
            loss.backward()
            opt_G.step()

        for update in ((update_g, update_d) if g_first else (update_d, update_g)):
            update()
        return 0.0, 0.0
    return step


def _same_params(a, b) -> bool:
    return all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters()))


@exercise("1.5")
def check_training_step(fn) -> None:
    """Exercise 1.5: ``fn(G, D, opt_G, opt_D, x_real, z)`` does one D update then one G update.

    D descends L_D on x_real and G(z) (detached); then G descends the non-saturating loss on the
    same z through the updated D. Returns (d_loss, g_loss) as numbers.
    """
    ex = "1.5"
    G0, D0 = _tiny_gan()
    gen = torch.Generator().manual_seed(7)
    x, z = torch.randn(16, 2, generator=gen), torch.randn(16, 3, generator=gen)
    inputs = {"x_real": x, "z": z}
    G_ref, D_ref, (d_ref, g_ref), _ = _run_step(_reference_step, G0, D0, x, z, stale_grads=True)
    G_you, D_you, out, passes = _run_step(lambda *a: _call(fn, ex, *a), G0, D0, x, z, stale_grads=True)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        _fail(ex, f"returned {_fmt(out)}", expected="a pair (d_loss, g_loss)", hint="end with `return d_loss.item(), g_loss.item()`")
    if passes > 1:
        _fail(ex, f"G's weights received gradients from {passes} backward passes; only G's own loss should reach them",
              hint="D's loss flowed back into G: in the D step use G(z).detach() (or compute the fakes under torch.no_grad())")
    if passes == 0 or _same_params(G_you, G0):
        _fail(ex, "G's weights did not change", hint="call loss.backward() on G's loss and then opt_G.step()")
    if _same_params(D_you, D0):
        _fail(ex, "D's weights did not change", hint="call loss.backward() on D's loss and then opt_D.step()")
    if not _same_params(D_you, D_ref) or not _same_params(G_you, G_ref):
        which = "D" if not _same_params(D_you, D_ref) else "G"
        known = [
            (_mistake_step(zero_grad=False), "gradients from an earlier step were still in .grad: call opt.zero_grad() before each backward()"),
            (_mistake_step(g_loss=losses.generator_loss_minimax), "G used the saturating loss log(1 - D(G(z))); use the non-saturating -log D(G(z))"),
            (_mistake_step(g_loss=lambda lf: F.softplus(lf).mean()), "G's loss used label 0 (fake): G wants D(G(z)) → 1, so its loss is -log D(G(z))"),
            (_mistake_step(g_first=True), "G was updated against D from before D's update: update D first, then compute D(G(z)) again for G"),
        ]
        hint = None
        for step, text in known:
            G_m, D_m, _, _ = _run_step(step, G0, D0, x, z, stale_grads=True)
            if _same_params(G_m, G_you) and _same_params(D_m, D_you):
                hint = text
                break
        _fail(ex, f"{which}'s weights after the step differ from the reference", inputs=inputs,
              hint=hint or "do exactly: D step on (x_real, G(z).detach()) with discriminator_loss, then G step on "
                           "the same z with generator_loss_nonsaturating, each with zero_grad → backward → step")
    d_you, g_you = (float(v) for v in out)
    if abs(d_you - d_ref) > 1e-5 or abs(g_you - g_ref) > 1e-5:
        _fail(ex, "the returned losses are not the ones the updates used", expected=(round(d_ref, 6), round(g_ref, 6)),
              actual=(round(d_you, 6), round(g_you, 6)), hint="return the D loss and the G loss computed in this step, in that order")
    _passed(ex, "one D step then one G step, with no gradient leaking from D's loss into G.")


# --- Chapter 2: game dynamics ---------------------------------------------------------------------

_GAME_CASES = [(1.0, 1.0, 0.1), (0.5, -2.0, 0.3), (-1.5, 0.25, 0.05)]


def _check_game_step(fn, ex: str, reference, mistakes, formula: str) -> None:
    for x, y, lr in _GAME_CASES:
        inputs = {"x": x, "y": y, "lr": lr}
        out = _call(fn, ex, x, y, lr, inputs=inputs)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            _fail(ex, f"returned {_fmt(out)}", inputs=inputs, expected="a pair (x_new, y_new)",
                  hint="end with `return x_new, y_new`")
        actual = torch.tensor([float(v) for v in out], dtype=torch.float64)
        expected = torch.tensor(reference(x, y, lr), dtype=torch.float64)
        if not torch.allclose(actual, expected, atol=1e-9):
            hint = _diagnose(actual, [(torch.tensor(m(x, y, lr), dtype=torch.float64), h) for m, h in mistakes], atol=1e-9)
            _fail(ex, "wrong step", inputs=inputs, expected=tuple(expected.tolist()), actual=tuple(actual.tolist()),
                  hint=hint or formula)


@exercise("2.1")
def check_gda_step(fn) -> None:
    """Exercise 2.1: ``fn(x, y, lr)`` → one simultaneous gradient descent-ascent step on f(x, y) = x·y."""
    mistakes = [
        (lambda x, y, lr: (x - lr * y, y - lr * x), "y is the maximising player: it *ascends*, y + lr·∂f/∂y = y + lr·x"),
        (lambda x, y, lr: (x + lr * y, y + lr * x), "x is the minimising player: it *descends*, x − lr·∂f/∂x = x − lr·y"),
        (lambda x, y, lr: (x - lr * y, y + lr * (x - lr * y)),
         "you used the new x in y's update: that is alternating GDA; simultaneous uses the old point for both"),
        (lambda x, y, lr: (x - lr * x, y + lr * y), "∂f/∂x = y and ∂f/∂y = x for f = x·y (the gradients are swapped)"),
    ]
    _check_game_step(fn, "2.1", lambda x, y, lr: (x - lr * y, y + lr * x), mistakes,
                     "x_new = x − lr·y and y_new = y + lr·x, both computed from the old (x, y)")
    _passed("2.1", "simultaneous gradient descent-ascent, signs and timing right.")


def _extragradient_step(x, y, lr):
    x_half, y_half = x - lr * y, y + lr * x  # look ahead
    return x - lr * y_half, y + lr * x_half  # update the old point with the look-ahead gradient


@exercise("2.2")
def check_extragradient_step(fn) -> None:
    """Exercise 2.2: ``fn(x, y, lr)`` → one extragradient step on f(x, y) = x·y."""
    mistakes = [
        (lambda x, y, lr: (x - lr * y, y + lr * x), "this is plain GDA: first take a look-ahead step, then update with "
                                                     "the gradient *at the look-ahead point*"),
        (lambda x, y, lr: (lambda xh, yh: (xh - lr * yh, yh + lr * xh))(x - lr * y, y + lr * x),
         "you stepped from the look-ahead point (two GDA steps); the update starts again from the *old* (x, y)"),
    ]
    _check_game_step(fn, "2.2", _extragradient_step, mistakes,
                     "x½ = x − lr·y, y½ = y + lr·x; then x_new = x − lr·y½, y_new = y + lr·x½")
    _passed("2.2", "the extragradient step: look ahead, then update the old point.")


# --- Chapter 3: mode collapse ---------------------------------------------------------------------

def _coverage_cases():
    from gantutor.data import mixture

    ring = mixture("ring")
    gen = torch.Generator().manual_seed(11)
    near = ring.means[2] + torch.tensor([[0.025, 0.0], [0.035, 0.0]])  # 2.5σ and 3.5σ from mode 2
    return ring, [
        ("2,500 samples of the ring itself", ring.sample(2500, generator=gen)),
        ("a generator collapsed on mode 5", ring.means[5] + 0.01 * torch.randn(500, 2, generator=gen)),
        ("samples between the modes (radius 0.5)", 0.5 * ring.means[[0, 3]].repeat(50, 1)),
        ("one sample at 2.5σ and one at 3.5σ from mode 2", near),
    ]


@exercise("3.1")
def check_count_modes(fn) -> None:
    """Exercise 3.1: ``fn(samples, means, std)`` → (modes captured, fraction of high-quality samples)."""
    from gantutor.metrics import mode_coverage

    ex = "3.1"
    ring, cases = _coverage_cases()
    for label, x in cases:
        inputs = {"samples": label, "means": "the 8 ring modes", "std": ring.std}
        out = _call(fn, ex, x.clone(), ring.means.clone(), ring.std, inputs=inputs)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            _fail(ex, f"returned {_fmt(out)}", inputs=inputs, expected="a pair (modes, high_quality)")
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
            _fail(ex, "wrong count", inputs=inputs, expected=(ref.modes, round(ref.high_quality, 4)),
                  actual=(modes, round(hq, 4)), hint=hint)
    _passed(ex, "modes and high-quality fraction follow the VEEGAN/PacGAN protocol.")


@exercise("3.2")
def check_pack(fn) -> None:
    """Exercise 3.2: ``fn(x, m)`` → (B/m, m·d): m different samples side by side per row."""
    ex = "3.2"
    x = torch.arange(24.0).reshape(12, 2)  # 12 distinct samples in 2D
    for m in (2, 3, 4):
        inputs = {"x": x, "m": m}
        out = _call(fn, ex, x.clone(), m, inputs=inputs)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (12 // m, 2 * m):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            _fail(ex, "wrong shape", inputs=inputs, expected=f"shape ({12 // m}, {2 * m})", actual=f"{shape}",
                  hint="B samples of dimension d become B/m packs of dimension m·d")
        chunks = out.reshape(-1, 2)  # every sample in every pack
        if not all(any(torch.equal(c, row) for row in x) for c in chunks):
            _fail(ex, "the packs contain points that are not samples", inputs=inputs, actual=out,
                  hint="keep each sample's coordinates together: reshape the (B, d) tensor row-major, don't transpose")
        if sorted(map(tuple, chunks.tolist())) != sorted(map(tuple, x.tolist())):
            _fail(ex, "some samples appear twice and others not at all", inputs=inputs, actual=out,
                  hint="a pack holds m *different* samples and each sample goes into exactly one pack "
                       "(repeating one sample m times shows D nothing about variety)")
    try:
        fn(torch.zeros(6, 2), 4)
    except ValueError:
        pass
    except NotImplementedError:
        raise
    except Exception as err:
        _fail(ex, f"with B = 6 and m = 4 your function raised {type(err).__name__}, not ValueError",
              hint="check `x.shape[0] % m` first and raise ValueError with a message")
    else:
        _fail(ex, "with B = 6 and m = 4 your function returned a result", hint="6 samples cannot form packs of 4: raise ValueError")
    _passed(ex, "every pack holds m different samples, each used once.")


class _LinearCritic(torch.nn.Module):
    """D(x) = w·x, whose gradient is w at every point: the penalty is known exactly."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w, dtype=torch.float32))

    def forward(self, x):
        return x @ self.w


@exercise("3.3")
def check_gradient_penalty(fn) -> None:
    """Exercise 3.3: ``fn(D, real, fake)`` → E[(‖∇D(x̂)‖₂ − 1)²] at random interpolates x̂."""
    ex = "3.3"
    gen = torch.Generator().manual_seed(5)
    real, fake = torch.randn(16, 2, generator=gen), torch.randn(16, 2, generator=gen)
    for w, expected in (([0.6, 0.8], 0.0), ([0.0, 0.0], 1.0), ([3.0, 4.0], 16.0)):
        D = _LinearCritic(w)
        inputs = {"D": f"D(x) = {w}·x (gradient norm {math.hypot(*w):g} everywhere)", "real": real, "fake": fake}
        out = _scalar_loss(_call(fn, ex, D, real.clone(), fake.clone(), inputs=inputs), ex, inputs)
        if abs(out.item() - expected) > 1e-4:
            norm = math.hypot(*w)
            known = {round(norm**2, 4): "penalise (‖∇D‖ − 1)², not ‖∇D‖²",
                     round(max(norm - 1, 0) ** 2, 4): "WGAN-GP's penalty is two-sided: (‖∇D‖ − 1)², also when ‖∇D‖ < 1",
                     round((norm * 4 - 1) ** 2, 4): "take the norm per sample (dim=1), then the mean over the batch",
                     round(abs(norm - 1), 4): "square the deviation: (‖∇D‖ − 1)²"}
            _fail(ex, "wrong value", inputs=inputs, expected=expected, actual=out.item(),
                  hint=known.get(round(out.item(), 4), "E[(‖∇_x̂ D(x̂)‖₂ − 1)²] with ∇ from torch.autograd.grad"))
    D = _LinearCritic([3.0, 4.0])
    fake_g = fake.clone().requires_grad_(True)
    out = _call(fn, ex, D, real.clone(), fake_g)
    if not out.requires_grad:
        _fail(ex, "the penalty cannot be trained through", hint="call torch.autograd.grad(..., create_graph=True) so that "
                                                               "the penalty's own gradient reaches D's weights")
    out.backward()
    if D.w.grad is None or D.w.grad.abs().sum() == 0:
        _fail(ex, "D's weights received no gradient from the penalty", hint="use create_graph=True in torch.autograd.grad")
    if fake_g.grad is not None and fake_g.grad.abs().sum() > 0:
        _fail(ex, "the penalty sent gradients into the fakes (into G)", hint="build x̂ from real.detach() and fake.detach()")
    _passed(ex, "the gradient penalty is right, trains D, and leaves G alone.")


@exercise("3.4")
def check_unrolled_parameters(fn) -> None:
    """Exercise 3.4: ``fn(D, fake, real_batches, inner_lr)`` → D's parameters after the look-ahead."""
    from gantutor.train import unrolled_parameters

    ex = "3.4"
    torch.manual_seed(3)
    D = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.LeakyReLU(0.2), torch.nn.Linear(8, 1), torch.nn.Flatten(0))
    before = {k: v.detach().clone() for k, v in D.state_dict().items()}
    gen = torch.Generator().manual_seed(4)
    reals = [torch.randn(8, 2, generator=gen) for _ in range(3)]
    fake_you = torch.randn(8, 2, generator=gen).requires_grad_(True)
    fake_ref = fake_you.detach().clone().requires_grad_(True)
    inputs = {"fake": fake_you, "steps": len(reals), "inner_lr": 0.5}
    params = _call(fn, ex, D, fake_you, reals, 0.5, inputs=inputs)
    if any(not torch.equal(v, before[k]) for k, v in D.state_dict().items()):
        _fail(ex, "D's own weights changed", hint="work on a functional copy (a dict of tensors); don't step an optimiser on D")
    if not isinstance(params, dict) or set(params) != set(dict(D.named_parameters())):
        _fail(ex, f"returned {type(params).__name__}", expected=f"a dict with keys {sorted(dict(D.named_parameters()))}",
              hint="start from dict(D.named_parameters()) and return the updated dict")
    ref = unrolled_parameters(D, fake_ref, reals, 0.5)
    for k in ref:
        if not torch.allclose(params[k], ref[k], atol=1e-5):
            ascent = unrolled_parameters(D, fake_ref, reals, -0.5)
            hint = ("D *descends* its loss in the look-ahead: θ − lr·∇θ L_D" if torch.allclose(params[k], ascent[k], atol=1e-5)
                    else "one step per real batch: θ ← θ − lr·∇θ L_D(D_θ(real), D_θ(fake)), with D_θ = functional_call(D, θ, ...)")
            _fail(ex, f"parameter {k!r} differs from the reference after the look-ahead", expected=ref[k], actual=params[k], hint=hint)
    probe = lambda p, f: torch.func.functional_call(D, p, (f,)).sum()
    out_you = probe(params, fake_you)
    g_you = torch.autograd.grad(out_you, fake_you, allow_unused=True)[0] if out_you.requires_grad else None
    (g_ref,) = torch.autograd.grad(probe(ref, fake_ref), fake_ref)
    if g_you is None or not torch.allclose(g_you, g_ref, atol=1e-5):
        _fail(ex, "G cannot see through your look-ahead: the gradient with respect to the fakes differs",
              hint="use torch.autograd.grad(loss, params, create_graph=True), and don't detach the fakes: "
                   "the unrolled GAN differentiates through D's future updates")
    _passed(ex, "the look-ahead matches, and G's gradient flows through it.")


# --- Chapter 4: DCGAN and honest metrics --------------------------------------------------------


def _convtranspose_reference(size: int, kernel: int, stride: int, padding: int) -> int:
    """What torch itself gives: the ground truth, not a second copy of the formula."""
    layer = torch.nn.ConvTranspose2d(1, 1, kernel, stride=stride, padding=padding)
    with torch.no_grad():
        return int(layer(torch.zeros(1, 1, size, size)).shape[-1])


@exercise("4.1")
def check_convtranspose_size(fn) -> None:
    """Exercise 4.1: ``fn(size, kernel, stride, padding)`` → the side of a ConvTranspose2d's output."""
    ex = "4.1"
    for size, kernel, stride, padding in ((7, 4, 2, 1), (14, 4, 2, 1), (1, 7, 1, 0), (5, 3, 2, 0), (4, 5, 3, 2)):
        inputs = {"size": size, "kernel": kernel, "stride": stride, "padding": padding}
        out = _call(fn, ex, size, kernel, stride, padding, inputs=inputs)
        expected = _convtranspose_reference(size, kernel, stride, padding)
        if not isinstance(out, int) or isinstance(out, bool):
            if isinstance(out, float) and out == expected:
                _fail(ex, f"returned the float {out}", inputs=inputs, expected=expected,
                      hint="a size is an int: use // for division, or int(...)")
            _fail(ex, f"returned a {type(out).__name__}", inputs=inputs, expected=expected, hint="return an int")
        if out != expected:
            known = {(size + 2 * padding - kernel) // stride + 1: "that is Conv2d's formula; a transposed "
                     "convolution runs it backwards: out = (in − 1)·stride − 2·padding + kernel",
                     size * stride: "kernel and padding matter too: out = (in − 1)·stride − 2·padding + kernel",
                     (size - 1) * stride + 2 * padding + kernel: "padding *removes* a border from a transposed "
                     "convolution's output: − 2·padding"}
            _fail(ex, "wrong size", inputs=inputs, expected=expected, actual=out,
                  hint=known.get(out, "out = (in − 1)·stride − 2·padding + kernel"))
    _passed(ex, "your sizes match PyTorch's ConvTranspose2d.")


@exercise("4.2")
def check_dcgan_generator(fn) -> None:
    """Exercise 4.2: ``fn(latent_dim)`` → a module mapping z (B, latent_dim) to (B, 1, 28, 28) in [−1, 1]."""
    ex = "4.2"
    torch.manual_seed(0)
    G = _call(fn, ex, 16, inputs={"latent_dim": 16})
    if not isinstance(G, torch.nn.Module):
        _fail(ex, f"returned a {type(G).__name__}, not an nn.Module", hint="build the layers and return the module")
    z = torch.randn(8, 16)
    x = _call(G, ex, z, inputs={"z": z})
    if not isinstance(x, torch.Tensor):
        _fail(ex, f"G(z) returned a {type(x).__name__}", hint="forward must return the image tensor")
    if tuple(x.shape) != (8, 1, 28, 28):
        shape = tuple(x.shape)
        if len(shape) == 2 and shape[1] == 784:
            hint = "reshape the output to images: .view(-1, 1, 28, 28)"
        elif len(shape) == 4 and shape[-1] != 28:
            hint = (f"your images are {shape[-1]}×{shape[-1]}: from 7×7, two ConvTranspose2d(kernel 4, stride 2, "
                    "padding 1) give 14 and 28 (exercise 4.1's formula)")
        else:
            hint = "the projection should give (B, C, 7, 7); then upsample twice to (B, 1, 28, 28)"
        _fail(ex, "wrong output shape", inputs={"z": z}, expected=(8, 1, 28, 28), actual=shape, hint=hint)
    if x.min() < -1 or x.max() > 1:
        _fail(ex, f"outputs range from {x.min().item():.3g} to {x.max().item():.3g}", expected="values in [−1, 1]",
              hint="the data are scaled to [−1, 1]: end G with nn.Tanh()")
    if torch.allclose(x[0], x[1:], atol=1e-6):
        _fail(ex, "every z gives the same image", hint="the output must depend on z: feed z into the first layer")
    x.square().mean().backward()
    frozen = [name for name, p in G.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum())]
    if frozen:
        _fail(ex, f"these parameters receive no gradient: {frozen}", hint="every layer you build must be used in forward")
    _passed(ex, "z (B, 16) → images (B, 1, 28, 28) in [−1, 1], and every layer learns.")


def _frechet_cases():
    gen = torch.Generator().manual_seed(11)
    a = torch.randn(400, 4, generator=gen, dtype=torch.float64)
    mix = torch.randn(4, 4, generator=gen, dtype=torch.float64)
    yield "identical sets", a, a.clone()
    yield "shifted means", a, a + torch.tensor([1.0, -2.0, 0.0, 0.5], dtype=torch.float64)
    yield "diagonal covariances", a, a * torch.tensor([2.0, 0.5, 1.0, 3.0], dtype=torch.float64)
    yield "correlated features", a, a @ mix + 0.3


@exercise("4.3")
def check_frechet_distance(fn) -> None:
    """Exercise 4.3: ``fn(feats_a, feats_b)`` → ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2(Σ_a Σ_b)^½)."""
    from gantutor.metrics import frechet_distance, psd_sqrt

    ex = "4.3"
    for name, a, b in _frechet_cases():
        inputs = {"case": name, "feats_a": a, "feats_b": b}
        out = _call(fn, ex, a.clone(), b.clone(), inputs=inputs)
        try:
            value = float(out)
        except (TypeError, ValueError):
            _fail(ex, f"returned a {type(out).__name__}", inputs=inputs, hint="return one number (a float or a 0-d tensor)")
        expected = frechet_distance(a, b)
        if not math.isfinite(value) or abs(value - expected) > 1e-4 * max(1.0, abs(expected)):
            mu = float((a.mean(0) - b.mean(0)).square().sum())
            ca, cb = torch.cov(a.T), torch.cov(b.T)
            root_a = psd_sqrt(ca)
            product_of_roots = float(ca.trace() + cb.trace() - 2 * (root_a @ psd_sqrt(cb)).trace())
            known = [(expected - mu, "add the distance between the means, ‖μ_a − μ_b‖²"),
                     (mu, "the covariance term is missing: + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½)"),
                     (mu + float(ca.trace() + cb.trace()) - float(psd_sqrt(root_a @ cb @ root_a).trace()),
                      "the cross term is −2·Tr((Σ_a Σ_b)^½): you dropped the 2"),
                     (mu + product_of_roots, "(Σ_a Σ_b)^½ is not Σ_a^½ Σ_b^½ unless the matrices commute (they did in "
                      "the diagonal case): take the square root of the product, e.g. through Σ_a^½ Σ_b Σ_a^½")]
            hint = next((h for v, h in known if math.isfinite(value) and abs(value - v) < 1e-4 * max(1.0, abs(v))), None)
            _fail(ex, "wrong value", inputs=inputs, expected=expected, actual=value,
                  hint=hint or ("a NaN or a complex value comes from a matrix square root of a non-symmetric "
                                "matrix: use the eigenvalues of the symmetric Σ_a^½ Σ_b Σ_a^½" if not math.isfinite(value)
                                else "‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½), with Σ = torch.cov(feats.T)"))
    _passed(ex, "your Fréchet distance agrees with the reference on all four cases (0 for identical sets).")


# --- Chapter 5: losses and conditioning ---------------------------------------------------------


@exercise("5.1")
def check_hinge_discriminator_loss(fn) -> None:
    """Exercise 5.1: ``fn(scores_real, scores_fake)`` → E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]."""
    relu = torch.relu
    mistakes = [
        (lambda r, f: relu(1 + r).mean() + relu(1 - f).mean(), "the signs are swapped: real scores should be pushed *up* "
         "past +1, fake ones *down* past −1"),
        (lambda r, f: (1 - r).mean() + (1 + f).mean(), "without max(0, ·) this is the Wasserstein critic loss (+ 2): "
         "the hinge stops pushing on a sample once its score is past the margin"),
        (lambda r, f: relu(-r).mean() + relu(f).mean(), "the margin is 1: max(0, 1 − D(x)) and max(0, 1 + D(G(z)))"),
        (lambda r, f: relu(1 - r).mean() - relu(1 + f).mean(), "both terms are added: D minimises both hinges"),
    ]
    _check_loss(fn, "5.1", losses.hinge_discriminator_loss, mistakes,
                "E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]", n_args=2)
    _passed("5.1", "the hinge loss is right, differentiable, and penalises only scores inside the margin.")


class _PixelCritic(torch.nn.Module):
    """D(x) = w·vec(x) on images (N, 1, 2, 2): its gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w, dtype=torch.float32))

    def forward(self, x):
        return x.flatten(1) @ self.w


@exercise("5.2")
def check_image_gradient_penalty(fn) -> None:
    """Exercise 5.2: ``fn(D, real, fake)`` on images (N, C, H, W) → E[(‖∇D(x̂)‖₂ − 1)²], one norm per image."""
    ex = "5.2"
    gen = torch.Generator().manual_seed(6)
    real, fake = torch.randn(16, 1, 2, 2, generator=gen), torch.randn(16, 1, 2, 2, generator=gen)
    for w, expected in (([0.5, 0.5, 0.5, 0.5], 0.0), ([0.0] * 4, 1.0), ([1.0, 2.0, 2.0, 4.0], 16.0)):
        D = _PixelCritic(w)
        norm = math.sqrt(sum(v * v for v in w))
        inputs = {"D": f"D(x) = {w}·vec(x) (gradient norm {norm:g} per image)", "real": real, "fake": fake}
        out = _scalar_loss(_call(fn, ex, D, real.clone(), fake.clone(), inputs=inputs), ex, inputs)
        if abs(out.item() - expected) > 1e-4:
            per_pixel = float(((torch.tensor(w).abs() - 1) ** 2).mean())  # a norm over dim=1 (the channel) only
            known = {round(per_pixel, 4): "the norm runs over the whole image: grad.flatten(1).norm(2, dim=1), "
                     "not over dim=1 of a (N, C, H, W) gradient (that is one norm per pixel)",
                     round(norm**2, 4): "penalise (‖∇D‖ − 1)², not ‖∇D‖²",
                     round((4 * norm - 1) ** 2, 4): "one norm per image, then the mean over the batch"}
            _fail(ex, "wrong value", inputs=inputs, expected=expected, actual=out.item(),
                  hint=known.get(round(out.item(), 4), "E[(‖∇_x̂ D(x̂)‖₂ − 1)²], one norm per image over all its pixels"))
    D = _PixelCritic([1.0, 2.0, 2.0, 4.0])
    out = _call(fn, ex, D, real.clone(), fake.clone())
    if not out.requires_grad:
        _fail(ex, "the penalty cannot be trained through", hint="torch.autograd.grad(..., create_graph=True)")
    _passed(ex, "one gradient norm per image, penalised two-sided, and trainable.")


class ConditionalGeneratorSkeleton(torch.nn.Module):
    """The layers of exercise 5.3 (the learner writes ``forward``): z and a class embedding,
    concatenated, through a small MLP to a 28×28 image."""

    def __init__(self, latent_dim: int = 16, num_classes: int = 10):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.embed = torch.nn.Embedding(num_classes, 10)  # class -> (10,): small beside z (chapter 5)
        self.net = torch.nn.Sequential(torch.nn.Linear(latent_dim + 10, 64), torch.nn.ReLU(),
                                       torch.nn.Linear(64, 28 * 28), torch.nn.Tanh())


@exercise("5.3")
def check_conditional_forward(cls) -> None:
    """Exercise 5.3: a ``ConditionalGeneratorSkeleton`` subclass whose ``forward(z, y)`` returns
    ``net([z, embed(y)])`` as images (B, 1, 28, 28)."""
    ex = "5.3"
    torch.manual_seed(0)
    G = _call(cls, ex, 16, 10, inputs={"latent_dim": 16, "num_classes": 10})
    z, y = torch.randn(6, 16), torch.tensor([0, 1, 2, 3, 7, 9])
    out = _call(G, ex, z, y, inputs={"z": z, "y": y})
    with torch.no_grad():
        expected = G.net(torch.cat([z, G.embed(y)], dim=1)).view(-1, 1, 28, 28)
        swapped = G.net(torch.cat([G.embed(y), z], dim=1)).view(-1, 1, 28, 28)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (6, 1, 28, 28):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        _fail(ex, "wrong output", inputs={"z": z, "y": y}, expected=(6, 1, 28, 28), actual=shape,
              hint="reshape net's (B, 784) output to images: .view(-1, 1, 28, 28)" if shape == (6, 784)
              else "concatenate along the feature axis: torch.cat([z, self.embed(y)], dim=1) is (B, latent_dim + 10)")
    if not torch.allclose(out, expected, atol=1e-6):
        other = _call(G, ex, z, torch.tensor([5, 5, 5, 5, 5, 5]))
        hint = ("the class has no effect on the image: feed self.embed(y) into the network" if torch.allclose(other, out, atol=1e-6)
                else "z first, then the embedding: torch.cat([z, self.embed(y)], dim=1)" if torch.allclose(out, swapped, atol=1e-6)
                else "forward(z, y) = self.net(torch.cat([z, self.embed(y)], dim=1)).view(-1, 1, 28, 28)")
        _fail(ex, "wrong images", inputs={"z": z, "y": y}, expected=expected, actual=out, hint=hint)
    _passed(ex, "the class embedding joins z and changes the image.")


# --- Chapter 6: image-to-image translation ------------------------------------------------------


def _match(out: torch.Tensor, mistakes, atol: float = 1e-5):
    """The hint of the first known mistake whose value has ``out``'s shape and values, else None.

    ``mistakes`` holds (make, hint) pairs; ``make()`` computes the wrong answer lazily, and one
    that cannot be computed on this case (e.g. shapes that do not fit) is skipped.
    """
    for make, hint in mistakes:
        try:
            value = make()
        except (RuntimeError, ValueError, IndexError):
            continue
        if value.shape == out.shape and torch.allclose(out.detach().double(), value.detach().double(), atol=atol, rtol=1e-5):
            return hint
    return None


def _missing_grad(out: torch.Tensor, tensors: dict) -> list[str]:
    """The names of the inputs that ``out`` sends no gradient to."""
    if not out.requires_grad:
        return list(tensors)
    grads = torch.autograd.grad(out.sum(), list(tensors.values()), allow_unused=True)
    return [name for name, g in zip(tensors, grads) if g is None or not g.abs().sum()]


@exercise("6.1")
def check_unet_skip(fn) -> None:
    """Exercise 6.1: ``fn(decoded, encoded)`` → the U-Net skip, torch.cat([decoded, encoded], dim=1)."""
    ex = "6.1"
    gen = torch.Generator().manual_seed(61)
    for b, c_d, c_e, s in ((2, 3, 3, 4), (3, 4, 2, 2)):  # the first case fits every wrong axis, the second does not
        decoded = torch.randn(b, c_d, s, s, generator=gen).requires_grad_(True)
        encoded = torch.randn(b, c_e, s, s, generator=gen).requires_grad_(True)
        inputs = {"decoded": decoded, "encoded": encoded}
        out = _call(fn, ex, decoded, encoded, inputs=inputs)
        if not isinstance(out, torch.Tensor):
            _fail(ex, f"returned a {type(out).__name__}, not a tensor", inputs=inputs, hint="return torch.cat([...], dim=...)")
        d, e = decoded.detach(), encoded.detach()
        expected = torch.cat([d, e], dim=1)  # (B, c_d + c_e, s, s)
        if out.shape != expected.shape or not torch.allclose(out.detach(), expected):
            cat = lambda parts, dim: lambda: torch.cat(parts, dim=dim)  # noqa: E731
            batch = ("you concatenated along the batch axis (dim 0): that gives more images, not more features per "
                     "pixel; the skip joins the channels, dim=1")
            spatial = ("you concatenated along a spatial axis: that glues two feature maps side by side into a wider "
                       "image; the skip joins the channels of each pixel, dim=1")
            mistakes = [(cat(parts, dim), batch if dim == 0 else spatial) for dim in (0, 2, 3) for parts in ([d, e], [e, d])]
            mistakes += [
                (lambda: d + e, "adding the features is a ResNet-style skip; a U-Net *concatenates* them, so the next "
                                "layer sees both sets side by side: torch.cat([decoded, encoded], dim=1)"),
                (lambda: torch.cat([e, d], dim=1), "the decoder's features come first, then the encoder's: the next "
                 "layer's weights expect the channels in the order torch.cat([decoded, encoded], dim=1)"),
            ]
            _fail(ex, "wrong skip connection", inputs=inputs, expected=expected, actual=out,
                  hint=_match(out, mistakes) or "concatenate along the channel axis, decoder first: "
                                                "torch.cat([decoded, encoded], dim=1) is (B, c_d + c_e, s, s)")
        missing = _missing_grad(out, inputs)
        if missing:
            _fail(ex, f"no gradient reaches {' and '.join(missing)} through your skip", inputs=inputs,
                  hint="don't .detach() (or use .data on) the features: the encoder learns through the skip as well")
    _passed(ex, "the decoder's and the encoder's features are joined along the channels, and both get gradients.")


def _rf_variant(module, *, stride=True, jump_first=False, dilation=True, padding=0, pools=True, start=1) -> int:
    """The receptive field computed with one known mistake (the defaults compute it right)."""
    first = lambda v: v if isinstance(v, int) else v[0]  # noqa: E731
    kinds = (torch.nn.Conv2d, torch.nn.MaxPool2d, torch.nn.AvgPool2d) if pools else (torch.nn.Conv2d,)
    r, j = start, 1
    for layer in module.modules():
        if isinstance(layer, kinds):
            k, p = first(layer.kernel_size), first(layer.padding)
            s = first(layer.stride) if stride else 1
            d = first(getattr(layer, "dilation", 1)) if dilation else 1
            if jump_first:
                j *= s
            r += (d * (k - 1) + padding * p) * j  # padding: 0 (right), or 1 or 2 (the mistake of adding it)
            if not jump_first:
                j *= s
    return r


def _rf_cases():
    from gantutor.models import PatchDiscriminator

    nn = torch.nn
    yield "nn.Sequential(Conv2d(1, 1, 5, stride=2, padding=1))", nn.Sequential(nn.Conv2d(1, 1, 5, stride=2, padding=1))
    for n in (1, 3, 5):
        yield f"PatchDiscriminator(3, n_layers={n}).net", PatchDiscriminator(3, base_channels=2, n_layers=n).net
    yield ("three 3×3 convolutions with dilation 1, 2, 4 (stride 1)",
           nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 3, padding=2, dilation=2),
                         nn.ReLU(), nn.Conv2d(2, 1, 3, padding=4, dilation=4)))
    yield ("Conv 3×3, MaxPool2d(2), Conv 3×3, AvgPool2d(2), Conv 3×3",
           nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(2, 2, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(2, 1, 3)))


@exercise("6.2")
def check_receptive_field(fn) -> None:
    """Exercise 6.2: ``fn(module)`` → the receptive field of one output of a stack of convolutions and poolings."""
    import numbers

    from gantutor.models import receptive_field

    ex = "6.2"
    for name, module in _rf_cases():
        inputs = {"module": name}
        out = _call(fn, ex, module, inputs=inputs)
        expected = receptive_field(module)
        if isinstance(out, bool) or not isinstance(out, numbers.Integral):
            exact = isinstance(out, (float, torch.Tensor)) and out == expected
            _fail(ex, f"returned a {type(out).__name__}", inputs=inputs, expected=expected, actual=out,
                  hint="a receptive field is a whole number of pixels: return an int" + (" (int(...))" if exact else ""))
        if out != expected:
            known = [
                (_rf_variant(module, jump_first=True), "you multiplied the jump by the stride *before* widening the "
                 "field: a layer's kernel steps over its *input*, whose jump is the one before its own stride: "
                 "r ← r + d·(k − 1)·j first, then j ← j·s"),
                (_rf_variant(module, stride=False), "the stride is ignored: after a stride-s layer, neighbouring "
                 "positions are s times further apart in the input, so each later kernel widens the field by "
                 "d·(k − 1)·j with the jump j ← j·s (r += k − 1 holds only for stride-1 stacks)"),
                (_rf_variant(module, dilation=False), "a dilated kernel of size k spans d·(k − 1) + 1 positions: "
                 "multiply k − 1 by the dilation"),
                (_rf_variant(module, padding=2), "padding shifts the field (it adds zeros at the border), it does not "
                 "widen it: leave the padding out"),
                (_rf_variant(module, padding=1), "padding shifts the field (it adds zeros at the border), it does not "
                 "widen it: leave the padding out"),
                (_rf_variant(module, pools=False), "a pooling layer has a kernel and a stride too: MaxPool2d and "
                 "AvgPool2d widen the field and multiply the jump like a convolution"),
                (_rf_variant(module, start=0), "start from r = 1: with no layer, an output sees exactly one input pixel"),
            ]
            hint = next((h for v, h in known if v == out), "r ← r + d·(k − 1)·j, then j ← j·s, layer by layer from r = j = 1")
            _fail(ex, "wrong receptive field", inputs=inputs, expected=expected, actual=int(out), hint=hint)
    _passed(ex, "16, 70 and 286 pixels for the PatchGANs, and right with dilation and pooling.")


def _check_loss_cases(fn, ex: str, cases, reference, mistakes, formula: str, trained, unstable: str) -> None:
    """Shared driver of chapter 6's losses: ``cases`` are dicts of fn's arguments by name, in order;
    ``mistakes`` are (fn of the same arguments, hint); ``trained`` names the inputs the loss must
    send gradient to."""
    for case in cases:
        args = {k: v.clone().requires_grad_(k in trained) if isinstance(v, torch.Tensor) else v for k, v in case.items()}
        out = _scalar_loss(_call(fn, ex, *args.values(), inputs=args), ex, args)
        plain = [v.detach() if isinstance(v, torch.Tensor) else v for v in args.values()]
        expected = reference(*plain)
        if not torch.isfinite(out):
            _fail(ex, "the loss is inf or NaN", inputs=args, expected=float(expected), actual=out.item(), hint=unstable)
        if not torch.allclose(out.detach().double(), expected.double(), atol=1e-5, rtol=1e-5):
            hint = _match(out.reshape(()), [(lambda m=m: m(*plain).reshape(()), h) for m, h in mistakes])
            _fail(ex, "wrong value", inputs=args, expected=float(expected), actual=out.item(),
                  hint=hint or f"the formula is {formula}")
        missing = _missing_grad(out, {k: args[k] for k in trained})
        if missing:
            _fail(ex, f"the loss sends no gradient to {' and '.join(missing)}", inputs=args,
                  hint="build the loss from the input tensors with torch operations (no .item(), float(), numpy or "
                       ".detach()): the generators learn through it")


def _images(gen, *shape, dtype=torch.float64):
    return torch.tanh(torch.randn(*shape, generator=gen, dtype=dtype))  # in [−1, 1], like G's outputs


@exercise("6.3")
def check_cycle_consistency_loss(fn) -> None:
    """Exercise 6.3: ``fn(real_a, reconstructed_a, real_b, reconstructed_b, lambda_cyc)`` →
    λ·(E[|F(G(a)) − a|] + E[|G(F(b)) − b|])."""
    gen = torch.Generator().manual_seed(63)
    near = lambda x: x + 0.3 * torch.randn(x.shape, generator=gen, dtype=x.dtype)  # noqa: E731  an imperfect cycle
    cases = []
    for shape_a, shape_b, lam in (((2, 1, 4, 4), (2, 1, 4, 4), 10.0), ((3, 1, 4, 4), (3, 3, 2, 2), 2.5)):
        real_a, real_b = _images(gen, *shape_a), _images(gen, *shape_b)  # the second case: domains of other shapes
        cases.append({"real_a": real_a, "reconstructed_a": near(real_a), "real_b": real_b, "reconstructed_b": near(real_b),
                      "lambda_cyc": lam})
    l1 = lambda x, y: (x - y).abs().mean()  # noqa: E731
    mistakes = [
        (lambda ra, xa, rb, xb, lam: lam * (l1(xa, rb) + l1(xb, ra)), "each reconstruction goes with the image it "
         "started from: F(G(a)) with real_a and G(F(b)) with real_b; you compared each with the other domain's image"),
        (lambda ra, xa, rb, xb, lam: lam * (l1(xa, ra) + l1(xb, ra)), "a cycle loss that compares G(F(y)) with x: "
         "reconstructed_b = G(F(b)) started from real_b, so compare it with real_b"),
        (lambda ra, xa, rb, xb, lam: lam * (l1(xa, rb) + l1(xb, rb)), "a cycle loss that compares F(G(x)) with y: "
         "reconstructed_a = F(G(a)) started from real_a, so compare it with real_a"),
        (lambda ra, xa, rb, xb, lam: lam * (F.mse_loss(xa, ra) + F.mse_loss(xb, rb)), "the cycle loss is L1, the mean "
         "*absolute* difference |F(G(a)) − a|, not the squared one (F.l1_loss, not F.mse_loss)"),
        (lambda ra, xa, rb, xb, lam: l1(xa, ra) + l1(xb, rb), "multiply by lambda_cyc: the cycle terms are weighted "
         "(λ = 10 in the paper) against the adversarial ones"),
        (lambda ra, xa, rb, xb, lam: 10 * (l1(xa, ra) + l1(xb, rb)), "use the lambda_cyc argument, not a fixed 10"),
        (lambda ra, xa, rb, xb, lam: lam * l1(xa, ra), "only one direction: the b → a → b cycle, |G(F(b)) − b|, is missing"),
        (lambda ra, xa, rb, xb, lam: lam * l1(xb, rb), "only one direction: the a → b → a cycle, |F(G(a)) − a|, is missing"),
        (lambda ra, xa, rb, xb, lam: lam * ((xa - ra).abs().sum() + (xb - rb).abs().sum()), "average the absolute "
         "differences (.mean()), don't sum them: a sum grows with the image size and the batch"),
        (lambda ra, xa, rb, xb, lam: lam * (l1(xa, ra) + l1(xb, rb)) / 2, "add the two cycles' means, don't average "
         "them: L_cyc = λ·(E|F(G(a)) − a| + E|G(F(b)) − b|)"),
        (lambda ra, xa, rb, xb, lam: lam * l1(xa, ra) + l1(xb, rb), "λ multiplies both cycles, not only the first"),
        (lambda ra, xa, rb, xb, lam: l1(xa, ra) + lam * l1(xb, rb), "λ multiplies both cycles, not only the second"),
        (lambda ra, xa, rb, xb, lam: lam * ((xa - ra).mean() + (xb - rb).mean()), "take the absolute value before the "
         "mean: otherwise positive and negative errors cancel"),
    ]
    _check_loss_cases(fn, "6.3", cases, losses.cycle_consistency_loss, mistakes,
                      "λ·(mean|reconstructed_a − real_a| + mean|reconstructed_b − real_b|)",
                      trained=("reconstructed_a", "reconstructed_b"),
                      unstable="the loss is not finite on finite images: look for a division or a log")
    _passed("6.3", "both cycles, L1, weighted by λ, and it trains both generators.")


_POOL_PATTERN = torch.tensor([[[0.0, 0.25], [0.5, 0.75]]])  # (1, 2, 2): every test image has this shape


def _pool_batch(start: int, n: int) -> torch.Tensor:
    """Images number start … start + n − 1, (n, 1, 2, 2): image k is k + the pattern, so it can be recognised."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1) + _POOL_PATTERN


@contextlib.contextmanager
def _seeded(seed: int):
    """Seed torch's, Python's and NumPy's global generators, and give them back their state afterwards."""
    import numpy as np

    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


class _Pool:
    """Runs the learner's pool and checks each answer's form: a tensor of the input's shape, made of given images."""

    def __init__(self, pool, size: int, ex: str):
        self.pool, self.size, self.ex, self.given = pool, size, ex, 0  # given: how many images it has been sent

    def __len__(self) -> int:
        if not hasattr(type(self.pool), "__len__"):
            _fail(self.ex, "len(pool) does not work", hint="define __len__(self) returning how many images the pool holds")
        return _call(len, self.ex, self.pool)

    def query(self, images: torch.Tensor) -> list[int]:
        """Query with ``images`` (numbered self.given, …); the numbers of the returned images."""
        inputs = {"images": images, "images already given": self.given, "pool size": self.size}
        if not callable(getattr(self.pool, "query", None)):
            _fail(self.ex, "the pool has no query method", hint="define query(self, images) returning a batch of images")
        out = _call(self.pool.query, self.ex, images, inputs=inputs)
        if not isinstance(out, torch.Tensor) or out.shape != images.shape:
            actual = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else f"a {type(out).__name__}"
            _fail(self.ex, "query returned a batch of the wrong form", inputs=inputs, expected=f"shape {tuple(images.shape)}",
                  actual=actual, hint="return one image for each input image, stacked: torch.stack(out) has the input's shape")
        self.given += len(images)
        ids = []
        for image in out.detach().float():
            k = round(float(image.flatten()[0])) if torch.isfinite(image).all() else -1
            if not (0 <= k < self.given and torch.equal(image, _pool_batch(k, 1)[0])):
                _fail(self.ex, "query returned an image it was never given", inputs=inputs, actual=out,
                      hint="return each new image itself or an earlier image taken from the pool, unchanged")
            ids.append(k)
        self.kept_graph = out.requires_grad  # some returned image still carries a graph
        return ids


def _check_pool_fills(pool: _Pool, size: int, ex: str) -> None:
    """Two batches of 4 fakes that carry G's graph: the first fits, the second fills the pool (size 6)."""
    w = torch.ones((), requires_grad=True)  # the fakes carry G's graph, as G(z) would
    for n_room, batch in ((4, _pool_batch(0, 4) * w), (2, _pool_batch(4, 4) * w)):
        start = pool.given
        ids = pool.query(batch)
        if pool.kept_graph and start == 0:  # nothing stored yet: the new images kept their graph
            _fail(ex, "query returned images that still carry G's graph", inputs={"images": batch},
                  hint="detach: begin query with images = images.detach(); the D step must not backpropagate into "
                       "G, and a stored fake must not keep an old G's graph alive")
        if pool.kept_graph:
            _fail(ex, "the stored images still carry G's graph", inputs={"images": batch},
                  hint="store image.detach().clone(), not the image itself")
        if ids[:n_room] != list(range(start, start + n_room)):
            _fail(ex, f"with room for {n_room} more image(s), the pool did not return the new ones as they are",
                  inputs={"images": batch, "images already stored": start}, expected=list(range(start, start + n_room)),
                  actual=ids[:n_room], hint="while the pool is not full, store each new image and return it "
                                            "unchanged; only a full pool swaps in stored images")
        stored, expected_len = len(pool), min(start + len(batch), size)
        if stored != expected_len:
            _fail(ex, f"after {start + len(batch)} images, len(pool) = {stored}", expected=expected_len, actual=stored,
                  hint=(f"the pool holds at most size = {size} images: once it is full, put a new image in the place "
                        "of the stored one you return, instead of appending it") if stored > size
                  else "store each new image (a detached clone) while the pool has fewer than size images")


def _check_pool_swaps(pool: _Pool, size: int, ex: str, queries: int = 100) -> float:
    """Batches of 4 plain fakes into a full pool; the fraction of stored images returned in their place."""
    swapped, newer = 0, False
    for _ in range(queries):
        start = pool.given
        ids = pool.query(_pool_batch(start, 4))
        if pool.kept_graph:
            _fail(ex, "the stored images still carry G's graph", hint="store image.detach().clone(), not the image itself")
        old = [k for i, k in enumerate(ids) if k != start + i]  # a stored image in place of new image i
        swapped, newer = swapped + len(old), newer or any(k >= size for k in old)
        if len(pool) > size:
            _fail(ex, f"the pool grew past its size: len(pool) = {len(pool)} > size = {size}",
                  hint="once full, replace a stored image by the new one instead of appending it")
    fraction = swapped / (4 * queries)
    if not 0.35 <= fraction <= 0.65:  # 400 fair coins: 0.5 ± 0.025
        hint = ("the pool has no effect: it always returns the new images. Once it is full, with probability ½ "
                "return a random stored image (and store the new one in its place)" if fraction == 0 else
                "once full, return a stored image with probability ½ only, the new image otherwise")
        _fail(ex, "a full pool should return a stored image about half of the time", inputs={"pool size": size,
              "queries": f"{queries} batches of 4 new images"}, expected="a fraction ≈ 0.5", actual=fraction, hint=hint)
    if not newer:
        _fail(ex, "the full pool only ever returned the first images it stored",
              hint="when you return a stored image, store the new one in its place: the pool must follow G's recent fakes")
    return fraction


@exercise("6.4")
def check_image_pool(cls) -> None:
    """Exercise 6.4: ``cls(size, generator=None)`` → a history of past fakes with ``query(images)`` and ``len()``.

    While it has room the pool stores each new image and returns it; once full, with probability ½
    it returns a random stored image and stores the new one in its place, else it returns the new
    image. It never holds more than ``size``; ``size = 0`` passes batches through; images come back
    (and are kept) detached.
    """
    ex, size = "6.4", 6
    with _seeded(64):
        pool = _Pool(_call(cls, ex, size, torch.Generator().manual_seed(64), inputs={"size": size}), size, ex)
        _check_pool_fills(pool, size, ex)
        fraction = _check_pool_swaps(pool, size, ex)
        empty = _Pool(_call(cls, ex, 0, torch.Generator().manual_seed(0), inputs={"size": 0}), 0, ex)
        batch = _pool_batch(0, 3)
        if empty.query(batch) != [0, 1, 2] or len(empty) != 0:
            _fail(ex, "a pool of size 0 should pass every batch through and store nothing", inputs={"images": batch},
                  hint="if size == 0, return the images as they are")
    _passed(ex, f"the pool fills, then returns stored fakes {fraction:.0%} of the time, never holds more than its size, "
                "and keeps no graph.")


@exercise("6.5")
def check_pix2pix_generator_loss(fn) -> None:
    """Exercise 6.5: ``fn(logits_fake, fake, target, lambda_l1)`` → −E[log D(x, G(x))] + λ·E[|y − G(x)|]."""
    gen = torch.Generator().manual_seed(65)
    cases = [{"logits_fake": 2 * torch.randn(2, 1, 3, 3, generator=gen, dtype=torch.float64),
              "fake": _images(gen, 2, 1, 4, 4), "target": _images(gen, 2, 1, 4, 4), "lambda_l1": 100.0},
             {"logits_fake": 2 * torch.randn(3, 1, 2, 2, generator=gen, dtype=torch.float64),
              "fake": _images(gen, 3, 3, 4, 4), "target": _images(gen, 3, 3, 4, 4), "lambda_l1": 7.5},
             # a confident D in float32, as in training: σ(−120) is 0 there
             {"logits_fake": torch.tensor([[[[-120.0, 90.0], [3.0, -0.5]]]]),
              "fake": _images(gen, 1, 1, 2, 2, dtype=torch.float32), "target": _images(gen, 1, 1, 2, 2, dtype=torch.float32),
              "lambda_l1": 100.0}]
    gan = lambda lf: F.softplus(-lf).mean()  # noqa: E731  −log σ(l), over every patch
    l1 = lambda f, t: (t - f).abs().mean()  # noqa: E731
    mistakes = [
        (lambda lf, f, t, lam: gan(lf) + lam * F.mse_loss(f, t), "pix2pix uses L1, the mean *absolute* difference "
         "|y − G(x)|, not the squared one: L2 blurs more (F.l1_loss, not F.mse_loss)"),
        (lambda lf, f, t, lam: -F.softplus(lf).mean() + lam * l1(f, t), "this adversarial term is the saturating "
         "(minimax) log(1 − D(x, G(x))); pix2pix's G minimises the non-saturating −log D(x, G(x))"),
        (lambda lf, f, t, lam: lam * gan(lf) + l1(f, t), "λ weights the L1 term, not the GAN term: "
         "−log D(x, G(x)) + λ·|y − G(x)|"),
        (lambda lf, f, t, lam: gan(torch.sigmoid(lf)) + lam * l1(f, t), "a sigmoid was applied twice: logits_fake are "
         "logits, and binary_cross_entropy_with_logits (or softplus) applies the sigmoid itself"),
        (lambda lf, f, t, lam: F.softplus(lf).mean() + lam * l1(f, t), "you labelled G's output as fake (0): G wants D "
         "to call its pairs real, so its loss uses label 1: −log D(x, G(x))"),
        (lambda lf, f, t, lam: -gan(lf) + lam * l1(f, t), "the sign of the adversarial term is flipped: G minimises "
         "−log D(x, G(x))"),
        (lambda lf, f, t, lam: gan(lf) + l1(f, t), "multiply the L1 term by lambda_l1 (λ = 100 in the paper)"),
        (lambda lf, f, t, lam: gan(lf) + 100 * l1(f, t), "use the lambda_l1 argument, not a fixed 100"),
        (lambda lf, f, t, lam: lam * l1(f, t), "the adversarial term −log D(x, G(x)) is missing: without it this is the "
         "paper's blurry \"L1 only\" ablation"),
        (lambda lf, f, t, lam: gan(lf), "the L1 term λ·|y − G(x)| is missing: without it this is \"cGAN only\""),
        (lambda lf, f, t, lam: gan(lf) + lam * (t - f).abs().sum(), "average the absolute differences (.mean()), "
         "don't sum them"),
        (lambda lf, f, t, lam: F.softplus(-lf).flatten(1).sum(1).mean() + lam * l1(f, t), "average the adversarial "
         "term over every patch logit (.mean() over the whole (B, 1, h, w) map), don't sum over the patches"),
        (lambda lf, f, t, lam: gan(lf) + lam * (t - f).mean(), "take the absolute value before the mean: otherwise "
         "positive and negative errors cancel"),
        (lambda lf, f, t, lam: F.binary_cross_entropy(torch.sigmoid(lf), torch.ones_like(lf)) + lam * l1(f, t),
         "torch.sigmoid followed by binary_cross_entropy loses the loss of confident logits (σ(−120) = 0 in float32, "
         "and BCE clips log 0 to −100): use F.binary_cross_entropy_with_logits(logits_fake, ones) or F.softplus(−l)"),
    ]
    _check_loss_cases(fn, "6.5", cases, losses.pix2pix_generator_loss, mistakes,
                      "mean(softplus(−logits_fake)) + lambda_l1·mean(|target − fake|)",
                      trained=("logits_fake", "fake"), unstable=_UNSTABLE)
    _passed("6.5", "the non-saturating patch loss plus λ·L1 to the target, stable and trainable.")
