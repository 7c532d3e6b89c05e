"""Drawing from a trained generator: noise, samples, walks in the latent space, and samples
corrected by a discriminator (rejection sampling, with ``fit_discriminator`` to train that D).
"""
from __future__ import annotations

import functools

import torch

from gantutor._validate import positive_int, train_args
from gantutor.losses import discriminator_loss
from gantutor.runs import adam, linear_decay


def sample_noise(batch_size: int, latent_dim: int, device=None, generator=None) -> torch.Tensor:
    """z ~ N(0, I), shape (batch_size, latent_dim)."""
    positive_int(batch_size, "batch_size")
    positive_int(latent_dim, "latent_dim")
    return torch.randn(batch_size, latent_dim, generator=generator).to(device)


def conditioned(model, y):
    """``model`` itself, or ``model`` with the class labels ``y`` bound (a conditional model)."""
    return model if y is None else functools.partial(model, y=y)


@torch.no_grad()
def generate(G, n: int, device=None, labels=None, z=None) -> torch.Tensor:
    """n samples of G in eval mode, on the CPU, shape (n, ...).

    For a conditional G, ``labels`` is one class for all (an int) or one per sample (n,); by
    default the classes take turns (0, 1, …, K−1, 0, …). ``z`` (n, latent_dim) fixes the noise.
    """
    positive_int(n, "n")
    device = device or next(G.parameters()).device
    z = sample_noise(n, G.latent_dim, device) if z is None else z.to(device)
    num_classes = getattr(G, "num_classes", None)
    y = None
    if num_classes:
        y = torch.arange(n) % num_classes if labels is None else torch.as_tensor(labels)
        y = (y.expand(n) if y.dim() == 0 else y).to(device=device, dtype=torch.int64)
    elif labels is not None:
        raise ValueError("labels were given but G is unconditional (it has no num_classes)")
    was_training = G.training
    G.eval()
    try:
        x = conditioned(G, y)(z).cpu()
    finally:
        G.train(was_training)
    return x


def interpolate_latents(z0, z1, num: int, spherical: bool = True) -> torch.Tensor:
    """``num`` points from z0 to z1 (both (latent_dim,)), shape (num, latent_dim).

    ``spherical`` (the default) follows the great circle (slerp; White, 2016): Gaussian noise lives
    near a sphere of radius √d, and the straight line between two draws passes inside it, where G
    saw few inputs during training.
    """
    z0, z1 = (torch.as_tensor(z, dtype=torch.float32) for z in (z0, z1))
    if z0.dim() != 1 or z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must be vectors of the same size, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    t = torch.linspace(0, 1, positive_int(num, "num")).unsqueeze(1)  # (num, 1)
    if not spherical:
        return (1 - t) * z0 + t * z1
    omega = torch.arccos((z0 / z0.norm()).dot(z1 / z1.norm()).clamp(-1, 1))  # angle between them
    if omega.abs() < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def fit_discriminator(D, sample_real, sample_fake, *, num_steps: int, batch_size: int = 256, lr: float = 1e-3,
                      opt=None, loss_fn=discriminator_loss, lr_decay: bool = False) -> list:
    """The inner max of the game: train D alone against a fixed generator; returns the losses.

    ``sample_real(n)`` and ``sample_fake(n)`` each return a batch of n examples; ``lr_decay``
    decays the learning rate linearly to 0 over ``num_steps``.
    """
    train_args(num_steps, batch_size, lr, 1)
    opt = opt or adam(D, lr)
    schedule = linear_decay(opt, num_steps) if lr_decay else None
    history = []
    for _ in range(num_steps):
        loss = loss_fn(D(sample_real(batch_size)), D(sample_fake(batch_size)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if schedule is not None:
            schedule.step()
        history.append(loss.item())
    return history


@torch.no_grad()
def rejection_sample(G, D, n: int, *, quantile: float = 0.99, burn_in: int = 10_000, chunk: int = 5_000,
                     max_draws: int | None = None):
    """Discriminator rejection sampling (Azadi et al., 2019): n samples of G corrected by D.

    For the optimal discriminator, logit D*(x) = log p_data(x) / p_g(x) (chapter 1), so keeping a
    sample of G with probability exp(logit D(x) − M), M the largest logit, turns p_g into p_data
    wherever D is accurate. D must score single samples (``pack=1``) and be trained against this
    G, e.g. with ``fit_discriminator``.

    ``M`` is the ``quantile`` of the logits of ``burn_in`` samples: 1.0 (the largest) is exact but
    can keep almost nothing when a few samples have huge ratios (a collapsed G); the default 0.99
    keeps at least ~1 % and treats the top 1 % alike (the role of Azadi et al.'s shift γ).
    Returns (samples of shape (n, ...), acceptance rate). Raises RuntimeError when fewer than n
    samples are kept in ``max_draws`` (default 1,000·n) draws.
    """
    positive_int(n, "n")
    if not 0 < quantile <= 1:
        raise ValueError(f"quantile must be in (0, 1], got {quantile}")
    max_draws = max_draws or 1000 * n
    was_training = D.training
    D.eval()
    try:
        device = next(D.parameters()).device
        logits = D(generate(G, burn_in).to(device)).double().cpu()  # (burn_in,)
        if logits.shape != (burn_in,):
            raise ValueError(f"rejection sampling needs one logit per sample, shape ({burn_in},); D returned "
                             f"{tuple(logits.shape)} (a packed D, pack > 1, scores groups: fit an unpacked one)")
        top = torch.quantile(logits, quantile)
        kept, drawn, count = [], 0, 0
        while count < n:
            if drawn >= max_draws:
                raise RuntimeError(f"rejection sampling kept {count} of {drawn} samples, fewer than n = {n}: "
                                   "D rejects almost everything (is it trained against this G?); raise max_draws")
            x = generate(G, chunk)
            keep = torch.rand(chunk, dtype=torch.float64) < torch.exp(D(x.to(device)).double().cpu() - top)  # (chunk,)
            kept.append(x[keep])
            drawn, count = drawn + chunk, count + int(keep.sum())
    finally:
        D.train(was_training)
    return torch.cat(kept)[:n], count / drawn

