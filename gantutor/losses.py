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


def discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """L_D = -E[log D(x)] - E[log(1 - D(G(z)))] = -V(D, G) estimated on a batch.

    Inputs: logits_real, logits_fake: tensors of the same shape, e.g. (N,).
    Returns: a scalar tensor. It is binary cross-entropy with label 1 for real, 0 for fake.
    """
    float_tensor(logits_real, "logits_real")
    float_tensor(logits_fake, "logits_fake")
    same_shape(logits_real, logits_fake, "logits_real", "logits_fake")
    return F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean()  # -log σ(l_r) - log(1-σ(l_f))


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
