"""Networks of the course.

Chapter 1 uses multilayer perceptrons on 2D data: a generator maps noise z ~ N(0, I) to a point,
a discriminator maps a point to one logit (the sigmoid of the logit is D(x), the probability that
x is real). Discriminators return logits, never probabilities: the losses apply the sigmoid
inside a numerically stable log (see ``gantutor.losses``).
"""
from __future__ import annotations

from torch import nn

from gantutor._validate import batch_of, positive_int


def mlp(in_dim: int, out_dim: int, hidden=(128, 128, 128), activation=nn.ReLU) -> nn.Sequential:
    """Linear → activation blocks of the given ``hidden`` widths, then a final Linear."""
    positive_int(in_dim, "in_dim")
    positive_int(out_dim, "out_dim")
    if len(hidden) == 0:
        raise ValueError("hidden must list at least one width, e.g. (128, 128)")
    layers, width = [], in_dim
    for i, h in enumerate(hidden):
        positive_int(h, f"hidden[{i}]")
        layers += [nn.Linear(width, h), activation()]
        width = h
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """G: z (B, latent_dim) → x (B, out_dim)."""

    def __init__(self, latent_dim: int = 2, out_dim: int = 2, hidden=(128, 128, 128), activation=nn.ReLU):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        self.net = mlp(latent_dim, out_dim, hidden, activation)

    def forward(self, z):
        return self.net(batch_of(z, self.latent_dim, "z"))  # (B, out_dim)


class MLPDiscriminator(nn.Module):
    """D: x (B, in_dim) → logits (B,); D(x) = sigmoid(logit)."""

    def __init__(self, in_dim: int = 2, hidden=(128, 128, 128), activation=lambda: nn.LeakyReLU(0.2)):
        super().__init__()
        self.in_dim = positive_int(in_dim, "in_dim")
        self.net = mlp(in_dim, 1, hidden, activation)

    def forward(self, x):
        return self.net(batch_of(x, self.in_dim, "x")).squeeze(1)  # (B,)
