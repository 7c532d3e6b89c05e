"""Checks of chapter 1 (the minimax game): the GAN losses, noise, the optimal discriminator,
the training step.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from gantutor import losses, theory
from gantutor.train import d_step, g_step
from gantutor.checks._core import exercise, _call, _check_loss, _diagnose, _fail, _fmt, _passed


def _bce_on_probs(p, target):
    return F.binary_cross_entropy_with_logits(p, torch.full_like(p, target))


@exercise
def check_discriminator_loss(fn) -> None:
    """``fn(logits_real, logits_fake)`` → L_D = -E[log D(x)] - E[log(1 - D(G(z)))]."""
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
    _check_loss(fn, ref, mistakes, "L_D = mean(softplus(-logits_real)) + mean(softplus(logits_fake))", n_args=2)
    _passed("matches the reference on ordinary and extreme logits, and is stable.")


@exercise
def check_generator_loss_nonsaturating(fn) -> None:
    """``fn(logits_fake)`` → L_G = -E[log D(G(z))]."""
    mistakes = [
        (losses.generator_loss_minimax, "this is the saturating (minimax) loss E[log(1 - D(G(z)))]; the "
                                        "non-saturating one is -E[log D(G(z))]"),
        (lambda f: F.softplus(f).mean(), "you labelled G's samples as fake (0): G wants D to call them real, so "
                                         "its loss uses label 1: -E[log D(G(z))]"),
        (lambda f: -F.softplus(-f).mean(), "the sign is flipped: E[log D(G(z))] is what G maximises; "
                                           "the loss it minimises is its negative"),
        (lambda f: _bce_on_probs(torch.sigmoid(f), 1.0), "a sigmoid was applied twice: the input is already a logit"),
    ]
    _check_loss(fn, losses.generator_loss_nonsaturating, mistakes,
                "L_G = mean(softplus(-logits_fake)) = -mean(log sigmoid(logits_fake))", n_args=1)
    _passed("the non-saturating generator loss is right and stable.")


@exercise
def check_sample_noise(fn) -> None:
    """``fn(batch_size, latent_dim)`` → z ~ N(0, I) of shape (batch_size, latent_dim)."""
    z = _call(fn, 5, 3)
    if not isinstance(z, torch.Tensor):
        _fail(f"returned a {type(z).__name__}, not a torch.Tensor", inputs={"batch_size": 5, "latent_dim": 3},
              hint="use torch.randn, which returns a tensor")
    if tuple(z.shape) != (5, 3):
        _fail("wrong shape", inputs={"batch_size": 5, "latent_dim": 3}, expected="shape (5, 3)",
              actual=f"shape {tuple(z.shape)}", hint="one row per sample: shape (batch_size, latent_dim)")
    big = _call(fn, 20000, 4)
    if tuple(big.shape) != (20000, 4) or not big.is_floating_point():
        _fail("wrong shape or dtype for a large batch", inputs={"batch_size": 20000, "latent_dim": 4},
              expected="float tensor of shape (20000, 4)", actual=f"{big.dtype}, shape {tuple(big.shape)}")
    mean, std = float(big.mean()), float(big.std())
    if big.min() >= 0 and big.max() <= 1:
        hint = "torch.rand draws from the uniform distribution on [0, 1); the prior here is N(0, I): torch.randn"
    elif big.min() >= -1 and big.max() <= 1:
        hint = "uniform noise on [-1, 1] is used by some papers, but this course's prior is N(0, I): torch.randn"
    else:
        hint = "z should be standard normal: mean 0, standard deviation 1 in every coordinate (torch.randn)"
    if abs(mean) > 0.05 or abs(std - 1) > 0.05:
        _fail("the samples do not look like N(0, I)", inputs={"batch_size": 20000, "latent_dim": 4},
              expected="mean ≈ 0, std ≈ 1", actual=f"mean = {mean:.3f}, std = {std:.3f}", hint=hint)
    again = _call(fn, 20000, 4)
    if torch.equal(again, big):
        _fail("two calls returned the same numbers", hint="don't seed inside the function: each call must draw fresh noise")
    _passed("z has the right shape and looks standard normal.")


@exercise
def check_optimal_discriminator(fn) -> None:
    """``fn(p_data, p_g)`` → D*(x) = p_data / (p_data + p_g), 1/2 where both are 0."""
    x = torch.linspace(-6, 6, 241, dtype=torch.float64)
    p_data, p_g = theory.gaussian_density(x, 0.0, 1.0), theory.gaussian_density(x, 1.5, 0.7)
    box = lambda lo, hi: ((x >= lo) & (x < hi)).double() / (hi - lo)  # uniform density on [lo, hi)
    cases = [(p_data, p_g), (box(-4, 0), box(-1, 3))]  # the second has points where both are 0
    for p, q in cases:
        inputs = {"p_data": p, "p_g": q}
        out = _call(fn, p.clone(), q.clone(), inputs=inputs)
        out = torch.as_tensor(out, dtype=torch.float64)
        expected = theory.optimal_discriminator(p, q)
        if out.shape != p.shape:
            _fail("wrong shape", inputs=inputs, expected=f"shape {tuple(p.shape)}", actual=f"shape {tuple(out.shape)}",
                  hint="D* is computed point by point: one value per grid point")
        both_zero = (p == 0) & (q == 0)
        if torch.isnan(out).any():
            where = "where both densities are 0" if torch.isnan(out[both_zero]).any() else "somewhere"
            _fail(f"D* contains NaN {where}", inputs=inputs, expected=expected, actual=out,
                  hint="0/0 is NaN: where p_data + p_g == 0, return 0.5 (e.g. with torch.where)")
        if not torch.allclose(out, expected, atol=1e-8):
            mistakes = [
                (q / (p + q).clamp_min(1e-300), "you returned p_g / (p_data + p_g) = 1 - D*: D(x) is the probability that x is real"),
                (p / q.clamp_min(1e-300), "p_data / p_g is a density ratio, not a probability: divide by p_data + p_g"),
            ]
            mask = ~both_zero
            hint = _diagnose(out[mask], [(m[mask], h) for m, h in mistakes], atol=1e-6)
            _fail("wrong values", inputs=inputs, expected=expected, actual=out,
                  hint=hint or "D*(x) = p_data(x) / (p_data(x) + p_g(x)), and 0.5 where both are 0")
    _passed("D* is right, also where neither distribution has mass.")


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


@exercise
def check_training_step(fn) -> None:
    """``fn(G, D, opt_G, opt_D, x_real, z)`` does one D update then one G update.

    D descends L_D on x_real and G(z) (detached); then G descends the non-saturating loss on the
    same z through the updated D. Returns (d_loss, g_loss) as numbers.
    """
    G0, D0 = _tiny_gan()
    gen = torch.Generator().manual_seed(7)
    x, z = torch.randn(16, 2, generator=gen), torch.randn(16, 3, generator=gen)
    inputs = {"x_real": x, "z": z}
    G_ref, D_ref, (d_ref, g_ref), _ = _run_step(_reference_step, G0, D0, x, z, stale_grads=True)
    G_you, D_you, out, passes = _run_step(lambda *a: _call(fn, *a), G0, D0, x, z, stale_grads=True)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        _fail(f"returned {_fmt(out)}", expected="a pair (d_loss, g_loss)", hint="end with `return d_loss.item(), g_loss.item()`")
    if passes > 1:
        _fail(f"G's weights received gradients from {passes} backward passes; only G's own loss should reach them",
              hint="D's loss flowed back into G: in the D step use G(z).detach() (or compute the fakes under torch.no_grad())")
    if passes == 0 or _same_params(G_you, G0):
        _fail("G's weights did not change", hint="call loss.backward() on G's loss and then opt_G.step()")
    if _same_params(D_you, D0):
        _fail("D's weights did not change", hint="call loss.backward() on D's loss and then opt_D.step()")
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
        _fail(f"{which}'s weights after the step differ from the reference", inputs=inputs,
              hint=hint or "do exactly: D step on (x_real, G(z).detach()) with discriminator_loss, then G step on "
                           "the same z with generator_loss_nonsaturating, each with zero_grad → backward → step")
    d_you, g_you = (float(v) for v in out)
    if abs(d_you - d_ref) > 1e-5 or abs(g_you - g_ref) > 1e-5:
        _fail("the returned losses are not the ones the updates used", expected=(round(d_ref, 6), round(g_ref, 6)),
              actual=(round(d_you, 6), round(g_you, 6)), hint="return the D loss and the G loss computed in this step, in that order")
    _passed("one D step then one G step, with no gradient leaking from D's loss into G.")
