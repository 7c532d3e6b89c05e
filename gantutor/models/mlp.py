"""The networks of chapters 1–3: multilayer perceptrons on 2D data.

A generator maps noise z ~ N(0, I) to a point, a discriminator maps a point to one logit (the
sigmoid of the logit is D(x), the probability that x is real). Discriminators return logits, never
probabilities: the losses apply the sigmoid inside a numerically stable log (``gantutor.losses``).
PacGAN's packing and the minibatch standard deviation are options of the discriminator.
"""
from __future__ import annotations

import torch
from torch import nn

from gantutor._validate import batch_of, positive_int


def _hidden_layers(in_dim: int, hidden, activation) -> tuple[nn.Sequential, int]:
    """Linear → activation blocks of the given ``hidden`` widths; returns them and the last width."""
    positive_int(in_dim, "in_dim")
    if len(hidden) == 0:
        raise ValueError("hidden must list at least one width, e.g. (128, 128)")
    layers, width = [], in_dim
    for i, h in enumerate(hidden):
        positive_int(h, f"hidden[{i}]")
        layers += [nn.Linear(width, h), activation()]
        width = h
    return nn.Sequential(*layers), width


def mlp(in_dim: int, out_dim: int, hidden=(128, 128, 128), activation=nn.ReLU) -> nn.Sequential:
    """Linear → activation blocks of the given ``hidden`` widths, then a final Linear."""
    body, width = _hidden_layers(in_dim, hidden, activation)
    return nn.Sequential(*body, nn.Linear(width, positive_int(out_dim, "out_dim")))


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """PacGAN packing (Lin et al., 2018): m samples side by side, (B, d) → (B/m, m·d).

    D then judges m samples at once; a generator that repeats itself is easy to spot in a pack.
    """
    positive_int(m, "m")
    if x.dim() != 2 or x.shape[0] % m:
        raise ValueError(f"x must have shape (B, d) with B divisible by m = {m}, got {tuple(x.shape)}")
    return x.reshape(x.shape[0] // m, m * x.shape[1])  # rows i·m … i·m+m−1 form pack i


class MinibatchStd(nn.Module):
    """Appends one feature: the standard deviation over the batch, averaged over features.

    From ProGAN (Karras et al., 2018, §3): D sees how varied the batch is, so a collapsed
    generator (low variety) becomes visible. (B, F) → (B, F + 1).
    """

    def forward(self, h):
        if h.shape[0] < 2:
            raise ValueError("minibatch standard deviation needs a batch of at least 2")
        std = h.std(dim=0, unbiased=False).mean()  # scalar
        return torch.cat([h, std.expand(h.shape[0], 1)], dim=1)  # (B, F + 1)


class MLPGenerator(nn.Module):
    """G: z (B, latent_dim) → x (B, out_dim)."""

    def __init__(self, latent_dim: int = 2, out_dim: int = 2, hidden=(128, 128, 128), activation=nn.ReLU):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        self.net = mlp(latent_dim, out_dim, hidden, activation)

    def forward(self, z):
        return self.net(batch_of(z, self.latent_dim, "z"))  # (B, out_dim)


class MLPDiscriminator(nn.Module):
    """D: x (B, in_dim) → logits (B / pack,); D(x) = sigmoid(logit).

    ``pack = m`` judges m samples at once (PacGAN); ``minibatch_std`` adds the batch's standard
    deviation as a feature before the last layer (ProGAN).
    """

    def __init__(self, in_dim: int = 2, hidden=(128, 128, 128), activation=lambda: nn.LeakyReLU(0.2),
                 pack: int = 1, minibatch_std: bool = False):
        super().__init__()
        self.in_dim = positive_int(in_dim, "in_dim")
        self.pack = positive_int(pack, "pack")
        self.body, width = _hidden_layers(in_dim * pack, hidden, activation)
        self.minibatch_std = MinibatchStd() if minibatch_std else None
        self.head = nn.Linear(width + bool(minibatch_std), 1)

    def forward(self, x):
        x = batch_of(x, self.in_dim, "x")
        h = self.body(pack(x, self.pack) if self.pack > 1 else x)  # (B / pack, width)
        if self.minibatch_std is not None:
            h = self.minibatch_std(h)  # (B / pack, width + 1)
        return self.head(h).squeeze(1)  # (B / pack,)
