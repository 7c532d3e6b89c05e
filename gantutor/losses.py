"""GAN losses as plain functions of discriminator logits.

Notation: D(x) = sigmoid(l(x)) where l is the discriminator's logit. The value function of
Goodfellow et al. (2014) is

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))],     min_G max_D V(D, G).

Everything is written with the stable identities log sigmoid(l) = -softplus(-l) and
log(1 - sigmoid(l)) = -softplus(l), so that a confident discriminator (|l| ~ 100) gives finite
losses and gradients instead of log(0).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from gantutor._validate import float_tensor, same_shape


def discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """L_D = -E[log D(x)] - E[log(1 - D(G(z)))] = -V(D, G) estimated on a batch.

    Inputs: logits_real, logits_fake: tensors of the same shape, e.g. (N,).
    Returns: a scalar tensor. It is binary cross-entropy with label 1 for real, 0 for fake.
    ``real_label`` < 1 is one-sided label smoothing (Salimans et al., 2016, §3.4): the real
    images' target becomes e.g. 0.9, so D gains nothing from ever more confident logits.
    """
    float_tensor(logits_real, "logits_real")
    float_tensor(logits_fake, "logits_fake")
    same_shape(logits_real, logits_fake, "logits_real", "logits_fake")
    if not 0.5 < real_label <= 1:
        raise ValueError(f"real_label must be in (0.5, 1], got {real_label}")
    real = F.softplus(-logits_real).mean()  # -log σ(l_r)
    if real_label < 1:  # BCE with target t: -t log σ(l) - (1 - t) log(1 - σ(l))
        real = real_label * real + (1 - real_label) * F.softplus(logits_real).mean()
    return real + F.softplus(logits_fake).mean()  # ... - log(1 - σ(l_f))


def generator_loss_minimax(logits_fake: torch.Tensor) -> torch.Tensor:
    """The saturating loss of the original game: L_G = E[log(1 - D(G(z)))], minimised by G.

    Inputs: logits_fake: (N,). Returns a scalar tensor (always ≤ 0).
    Its gradient vanishes when D confidently rejects the fakes (D(G(z)) → 0), early in training.
    """
    float_tensor(logits_fake, "logits_fake")
    return -F.softplus(logits_fake).mean()  # log(1 - σ(l)) = -softplus(l)


def generator_loss_nonsaturating(logits_fake: torch.Tensor) -> torch.Tensor:
    """The non-saturating loss used in practice: L_G = -E[log D(G(z))], minimised by G.

    Inputs: logits_fake: (N,). Returns a scalar tensor (always ≥ 0).
    Same fixed points as the minimax loss, but a strong gradient when D(G(z)) → 0.
    """
    float_tensor(logits_fake, "logits_fake")
    return F.softplus(-logits_fake).mean()  # -log σ(l) = softplus(-l)


# --- Least squares (Mao et al., 2017, LSGAN with a = 0, b = c = 1) ------------------------------
# D outputs an unbounded score s (no sigmoid).

def ls_discriminator_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    """L_D = ½ E[(s(x) − 1)²] + ½ E[s(G(z))²]. Inputs: scores of the same shape (N,). Returns a scalar."""
    float_tensor(scores_real, "scores_real")
    float_tensor(scores_fake, "scores_fake")
    same_shape(scores_real, scores_fake, "scores_real", "scores_fake")
    return 0.5 * ((scores_real - 1) ** 2).mean() + 0.5 * (scores_fake**2).mean()


def ls_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """L_G = ½ E[(s(G(z)) − 1)²]. Input: scores (N,). Returns a scalar."""
    float_tensor(scores_fake, "scores_fake")
    return 0.5 * ((scores_fake - 1) ** 2).mean()


# --- Wasserstein (Arjovsky et al., 2017; Gulrajani et al., 2017) ---------------------------------
# The critic D outputs an unbounded score; it must be (close to) 1-Lipschitz: weight clipping or
# the gradient penalty below.

def wasserstein_critic_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    """L_D = E[D(G(z))] − E[D(x)]: the critic maximises E[D(x)] − E[D(G(z))]. Returns a scalar."""
    float_tensor(scores_real, "scores_real")
    float_tensor(scores_fake, "scores_fake")
    same_shape(scores_real, scores_fake, "scores_real", "scores_fake")
    return scores_fake.mean() - scores_real.mean()


def wasserstein_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """L_G = −E[D(G(z))]. Returns a scalar."""
    float_tensor(scores_fake, "scores_fake")
    return -scores_fake.mean()


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP: E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = εx + (1 − ε)G(z), ε ~ U[0, 1] per sample.

    Inputs: real, fake of the same shape (N, ...); the fakes may carry G's graph, it is cut here.
    Returns a scalar that keeps D's graph (it is added to D's loss, usually × λ = 10).
    """
    float_tensor(real, "real")
    float_tensor(fake, "fake")
    same_shape(real, fake, "real", "fake")
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=generator).to(real)  # (N, 1, ...)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)  # ∇_x̂ D(x̂), (N, ...)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()  # (‖∇D(x̂)‖₂ − 1)²


def clip_weights(module: torch.nn.Module, c: float = 0.01) -> None:
    """The original WGAN's Lipschitz constraint (Arjovsky et al., 2017): after each critic update,
    clamp every parameter to [−c, c] in place (c = 0.01 in the paper)."""
    if not c > 0:
        raise ValueError(f"c must be > 0, got {c}")
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-c, c)


# --- Hinge (Lim & Ye, 2017; Miyato et al., 2018) and R1 (Mescheder et al., 2018) -----------------

def hinge_discriminator_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    """L_D = E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]: D is only pushed until real scores
    exceed +1 and fake scores fall below −1. Inputs: scores of the same shape (N,). Returns a scalar."""
    float_tensor(scores_real, "scores_real")
    float_tensor(scores_fake, "scores_fake")
    same_shape(scores_real, scores_fake, "scores_real", "scores_fake")
    return F.relu(1 - scores_real).mean() + F.relu(1 + scores_fake).mean()


def hinge_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """L_G = −E[D(G(z))] (as in SAGAN / BigGAN). Input: scores (N,). Returns a scalar."""
    float_tensor(scores_fake, "scores_fake")
    return -scores_fake.mean()


def r1_penalty(D, real: torch.Tensor) -> torch.Tensor:
    """R1 = E[‖∇ₓ D(x)‖²] on real data only (Mescheder et al., 2018); added to D's loss × γ/2.

    It penalises D for having a slope at the data, which makes GAN training converge locally
    where plain training circles (chapter 2's Dirac-GAN). Input: real (N, ...). Returns a scalar
    that keeps D's graph.
    """
    float_tensor(real, "real")
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)  # (N, ...)
    return grad.flatten(1).square().sum(dim=1).mean()
