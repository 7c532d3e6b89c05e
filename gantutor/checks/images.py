"""Checks of chapters 4 and 5: DCGAN shapes, the Fréchet distance, the hinge loss, the gradient
penalty on images, a conditional generator.
"""
from __future__ import annotations

import math

import torch

from gantutor import losses
from gantutor.checks._core import exercise, _call, _check_loss, _fail, _passed, _scalar_loss
from gantutor.checks.dynamics import _LinearCritic
from gantutor.metrics import frechet_distance, psd_sqrt


# --- Chapter 4: DCGAN and honest metrics --------------------------------------------------------


def _convtranspose_reference(size: int, kernel: int, stride: int, padding: int) -> int:
    """What torch itself gives: the ground truth, not a second copy of the formula."""
    layer = torch.nn.ConvTranspose2d(1, 1, kernel, stride=stride, padding=padding)
    with torch.no_grad():
        return int(layer(torch.zeros(1, 1, size, size)).shape[-1])


@exercise
def check_convtranspose_size(fn) -> None:
    """``fn(size, kernel, stride, padding)`` → the side of a ConvTranspose2d's output."""
    for size, kernel, stride, padding in ((7, 4, 2, 1), (14, 4, 2, 1), (1, 7, 1, 0), (5, 3, 2, 0), (4, 5, 3, 2)):
        inputs = {"size": size, "kernel": kernel, "stride": stride, "padding": padding}
        out = _call(fn, size, kernel, stride, padding, inputs=inputs)
        expected = _convtranspose_reference(size, kernel, stride, padding)
        if not isinstance(out, int) or isinstance(out, bool):
            if isinstance(out, float) and out == expected:
                _fail(f"returned the float {out}", inputs=inputs, expected=expected,
                      hint="a size is an int: use // for division, or int(...)")
            _fail(f"returned a {type(out).__name__}", inputs=inputs, expected=expected, hint="return an int")
        if out != expected:
            known = {(size + 2 * padding - kernel) // stride + 1: "that is Conv2d's formula; a transposed "
                     "convolution runs it backwards: out = (in − 1)·stride − 2·padding + kernel",
                     size * stride: "kernel and padding matter too: out = (in − 1)·stride − 2·padding + kernel",
                     (size - 1) * stride + 2 * padding + kernel: "padding *removes* a border from a transposed "
                     "convolution's output: − 2·padding"}
            _fail("wrong size", inputs=inputs, expected=expected, actual=out,
                  hint=known.get(out, "out = (in − 1)·stride − 2·padding + kernel"))
    _passed("your sizes match PyTorch's ConvTranspose2d.")


@exercise
def check_dcgan_generator(fn) -> None:
    """``fn(latent_dim)`` → a module mapping z (B, latent_dim) to (B, 1, 28, 28) in [−1, 1]."""
    torch.manual_seed(0)
    G = _call(fn, 16, inputs={"latent_dim": 16})
    if not isinstance(G, torch.nn.Module):
        _fail(f"returned a {type(G).__name__}, not an nn.Module", hint="build the layers and return the module")
    z = torch.randn(8, 16)
    x = _call(G, z, inputs={"z": z})
    if not isinstance(x, torch.Tensor):
        _fail(f"G(z) returned a {type(x).__name__}", hint="forward must return the image tensor")
    if tuple(x.shape) != (8, 1, 28, 28):
        shape = tuple(x.shape)
        if len(shape) == 2 and shape[1] == 784:
            hint = "reshape the output to images: .view(-1, 1, 28, 28)"
        elif len(shape) == 4 and shape[-1] != 28:
            hint = (f"your images are {shape[-1]}×{shape[-1]}: from 7×7, two ConvTranspose2d(kernel 4, stride 2, "
                    "padding 1) give 14 and 28 (exercise 4.1's formula)")
        else:
            hint = "the projection should give (B, C, 7, 7); then upsample twice to (B, 1, 28, 28)"
        _fail("wrong output shape", inputs={"z": z}, expected=(8, 1, 28, 28), actual=shape, hint=hint)
    if x.min() < -1 or x.max() > 1:
        _fail(f"outputs range from {x.min().item():.3g} to {x.max().item():.3g}", expected="values in [−1, 1]",
              hint="the data are scaled to [−1, 1]: end G with nn.Tanh()")
    if torch.allclose(x[0], x[1:], atol=1e-6):
        _fail("every z gives the same image", hint="the output must depend on z: feed z into the first layer")
    x.square().mean().backward()
    frozen = [name for name, p in G.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum())]
    if frozen:
        _fail(f"these parameters receive no gradient: {frozen}", hint="every layer you build must be used in forward")
    _passed("z (B, 16) → images (B, 1, 28, 28) in [−1, 1], and every layer learns.")


def _frechet_cases():
    gen = torch.Generator().manual_seed(11)
    a = torch.randn(400, 4, generator=gen, dtype=torch.float64)
    mix = torch.randn(4, 4, generator=gen, dtype=torch.float64)
    yield "identical sets", a, a.clone()
    yield "shifted means", a, a + torch.tensor([1.0, -2.0, 0.0, 0.5], dtype=torch.float64)
    yield "diagonal covariances", a, a * torch.tensor([2.0, 0.5, 1.0, 3.0], dtype=torch.float64)
    yield "correlated features", a, a @ mix + 0.3


@exercise
def check_frechet_distance(fn) -> None:
    """``fn(feats_a, feats_b)`` → ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2(Σ_a Σ_b)^½)."""
    for name, a, b in _frechet_cases():
        inputs = {"case": name, "feats_a": a, "feats_b": b}
        out = _call(fn, a.clone(), b.clone(), inputs=inputs)
        try:
            value = float(out)
        except (TypeError, ValueError):
            _fail(f"returned a {type(out).__name__}", inputs=inputs, hint="return one number (a float or a 0-d tensor)")
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
            _fail("wrong value", inputs=inputs, expected=expected, actual=value,
                  hint=hint or ("a NaN or a complex value comes from a matrix square root of a non-symmetric "
                                "matrix: use the eigenvalues of the symmetric Σ_a^½ Σ_b Σ_a^½" if not math.isfinite(value)
                                else "‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½), with Σ = torch.cov(feats.T)"))
    _passed("your Fréchet distance agrees with the reference on all four cases (0 for identical sets).")


# --- Chapter 5: losses and conditioning ---------------------------------------------------------


@exercise
def check_hinge_discriminator_loss(fn) -> None:
    """``fn(scores_real, scores_fake)`` → E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]."""
    relu = torch.relu
    mistakes = [
        (lambda r, f: relu(1 + r).mean() + relu(1 - f).mean(), "the signs are swapped: real scores should be pushed *up* "
         "past +1, fake ones *down* past −1"),
        (lambda r, f: (1 - r).mean() + (1 + f).mean(), "without max(0, ·) this is the Wasserstein critic loss (+ 2): "
         "the hinge stops pushing on a sample once its score is past the margin"),
        (lambda r, f: relu(-r).mean() + relu(f).mean(), "the margin is 1: max(0, 1 − D(x)) and max(0, 1 + D(G(z)))"),
        (lambda r, f: relu(1 - r).mean() - relu(1 + f).mean(), "both terms are added: D minimises both hinges"),
    ]
    _check_loss(fn, losses.hinge_discriminator_loss, mistakes,
                "E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]", n_args=2)
    _passed("the hinge loss is right, differentiable, and penalises only scores inside the margin.")


@exercise
def check_image_gradient_penalty(fn) -> None:
    """``fn(D, real, fake)`` on images (N, C, H, W) → E[(‖∇D(x̂)‖₂ − 1)²], one norm per image."""
    gen = torch.Generator().manual_seed(6)
    real, fake = torch.randn(16, 1, 2, 2, generator=gen), torch.randn(16, 1, 2, 2, generator=gen)
    for w, expected in (([0.5, 0.5, 0.5, 0.5], 0.0), ([0.0] * 4, 1.0), ([1.0, 2.0, 2.0, 4.0], 16.0)):
        D = _LinearCritic(w)
        norm = math.sqrt(sum(v * v for v in w))
        inputs = {"D": f"D(x) = {w}·vec(x) (gradient norm {norm:g} per image)", "real": real, "fake": fake}
        out = _scalar_loss(_call(fn, D, real.clone(), fake.clone(), inputs=inputs), inputs)
        if abs(out.item() - expected) > 1e-4:
            per_pixel = float(((torch.tensor(w).abs() - 1) ** 2).mean())  # a norm over dim=1 (the channel) only
            known = {round(per_pixel, 4): "the norm runs over the whole image: grad.flatten(1).norm(2, dim=1), "
                     "not over dim=1 of a (N, C, H, W) gradient (that is one norm per pixel)",
                     round(norm**2, 4): "penalise (‖∇D‖ − 1)², not ‖∇D‖²",
                     round((4 * norm - 1) ** 2, 4): "one norm per image, then the mean over the batch"}
            _fail("wrong value", inputs=inputs, expected=expected, actual=out.item(),
                  hint=known.get(round(out.item(), 4), "E[(‖∇_x̂ D(x̂)‖₂ − 1)²], one norm per image over all its pixels"))
    D = _LinearCritic([1.0, 2.0, 2.0, 4.0])
    out = _call(fn, D, real.clone(), fake.clone())
    if not out.requires_grad:
        _fail("the penalty cannot be trained through", hint="torch.autograd.grad(..., create_graph=True)")
    _passed("one gradient norm per image, penalised two-sided, and trainable.")


class ConditionalGeneratorSkeleton(torch.nn.Module):
    """The layers of exercise 5.3 (the learner writes ``forward``): z and a class embedding,
    concatenated, through a small MLP to a 28×28 image."""

    def __init__(self, latent_dim: int = 16, num_classes: int = 10):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.embed = torch.nn.Embedding(num_classes, 10)  # class -> (10,): small beside z (chapter 5)
        self.net = torch.nn.Sequential(torch.nn.Linear(latent_dim + 10, 64), torch.nn.ReLU(),
                                       torch.nn.Linear(64, 28 * 28), torch.nn.Tanh())


@exercise
def check_conditional_forward(cls) -> None:
    """a ``ConditionalGeneratorSkeleton`` subclass whose ``forward(z, y)`` returns
    ``net([z, embed(y)])`` as images (B, 1, 28, 28)."""
    torch.manual_seed(0)
    G = _call(cls, 16, 10, inputs={"latent_dim": 16, "num_classes": 10})
    z, y = torch.randn(6, 16), torch.tensor([0, 1, 2, 3, 7, 9])
    out = _call(G, z, y, inputs={"z": z, "y": y})
    with torch.no_grad():
        expected = G.net(torch.cat([z, G.embed(y)], dim=1)).view(-1, 1, 28, 28)
        swapped = G.net(torch.cat([G.embed(y), z], dim=1)).view(-1, 1, 28, 28)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (6, 1, 28, 28):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        _fail("wrong output", inputs={"z": z, "y": y}, expected=(6, 1, 28, 28), actual=shape,
              hint="reshape net's (B, 784) output to images: .view(-1, 1, 28, 28)" if shape == (6, 784)
              else "concatenate along the feature axis: torch.cat([z, self.embed(y)], dim=1) is (B, latent_dim + 10)")
    if not torch.allclose(out, expected, atol=1e-6):
        other = _call(G, z, torch.tensor([5, 5, 5, 5, 5, 5]))
        hint = ("the class has no effect on the image: feed self.embed(y) into the network" if torch.allclose(other, out, atol=1e-6)
                else "z first, then the embedding: torch.cat([z, self.embed(y)], dim=1)" if torch.allclose(out, swapped, atol=1e-6)
                else "forward(z, y) = self.net(torch.cat([z, self.embed(y)], dim=1)).view(-1, 1, 28, 28)")
        _fail("wrong images", inputs={"z": z, "y": y}, expected=expected, actual=out, hint=hint)
    _passed("the class embedding joins z and changes the image.")
