"""DCGAN (Radford et al., 2016) for 28×28 digits (and 8×8), chapters 4, 5 and 7.

Strided (transposed) convolutions, BatchNorm in G, LeakyReLU in D, tanh output in [−1, 1].
Conditional versions: G takes a class embedding beside z; D is a projection discriminator
(Miyato & Koyama, 2018). ``dcgan()`` is the course's pair.
"""
from __future__ import annotations

import torch
from torch import nn

from gantutor._validate import batch_of, positive_int
from gantutor.models.mlp import MinibatchStd


_SIZES = {28: 7, 8: 2}  # image side -> side of G's first feature map (two ×2 upsamplings)


def _check_image_size(image_size: int) -> int:
    if image_size not in _SIZES:
        raise ValueError(f"image_size must be 28 or 8, got {image_size}")
    return _SIZES[image_size]


def _check_labels(y, batch: int, num_classes: int):
    if y is None:
        raise ValueError("this model is conditional: pass the class labels y (B,)")
    if y.dim() != 1 or y.shape[0] != batch or y.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"y must hold one integer label per image, shape ({batch},), got {tuple(y.shape)} {y.dtype}")
    if (y < 0).any() or (y >= num_classes).any():
        raise ValueError(f"labels must be in [0, {num_classes}), got {y.min().item()}..{y.max().item()}")
    return y


class DCGANGenerator(nn.Module):
    """G: z (B, latent_dim) [, y (B,)] → images (B, 1, S, S) in [−1, 1], S = ``image_size`` (28 or 8).

    ``num_classes`` makes it conditional: a learned class embedding of ``embed_dim`` numbers is
    concatenated to z. Keep it small beside z: with an embedding as large as z, chapter 5's
    conditional GAN ignored z and drew one image per class (``benchmarks/image_gans.py``, rows
    cgan_embed64 vs cgan, holds the numbers).

    Ablation only (``benchmarks/training_tips.py``): ``output="sigmoid"`` gives images in [0, 1]
    instead, to measure the [−1, 1] + tanh tip.
    """

    def __init__(self, latent_dim: int = 64, base_channels: int = 32, image_size: int = 28, num_classes: int | None = None,
                 output: str = "tanh", embed_dim: int = 10):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        c = positive_int(base_channels, "base_channels")
        self.side = _check_image_size(image_size)
        self.num_classes = positive_int(num_classes, "num_classes") if num_classes is not None else None
        if output not in ("tanh", "sigmoid"):
            raise ValueError(f"output must be 'tanh' or 'sigmoid', got {output!r}")
        self.embed = nn.Embedding(num_classes, positive_int(embed_dim, "embed_dim")) if num_classes else None
        in_dim = latent_dim + (embed_dim if num_classes else 0)
        self.project = nn.Sequential(  # (B, in_dim) -> (B, 2c·s·s)
            nn.Linear(in_dim, 2 * c * self.side**2, bias=False), nn.BatchNorm1d(2 * c * self.side**2), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False),  # (B, 2c, s, s) -> (B, c, 2s, 2s)
            nn.BatchNorm2d(c), nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),  # -> (B, 1, 4s, 4s)
            nn.Tanh() if output == "tanh" else nn.Sigmoid(),
        )
        self.channels = 2 * c

    def forward(self, z, y=None):
        z = batch_of(z, self.latent_dim, "z")
        if self.embed is not None:
            z = torch.cat([z, self.embed(_check_labels(y, z.shape[0], self.num_classes))], dim=1)  # (B, latent + embed)
        h = self.project(z).view(-1, self.channels, self.side, self.side)  # (B, 2c, s, s)
        return self.net(h)  # (B, 1, 4s, 4s)


class DCGANDiscriminator(nn.Module):
    """D: images (B, 1, S, S) [, y (B,)] → logits (B,).

    Two strided convolutions with LeakyReLU(0.2), then a linear score.
    ``num_classes`` makes it a projection discriminator: the score gains ⟨embed(y), h⟩, so D
    judges "is this a real image *of class y*".

    ``batch_norm`` puts BatchNorm after the second convolution, as in the DCGAN paper. It is off
    by default: D sees the real and the fake batch separately, each normalised by its own
    statistics, and on the bundled MNIST that cost the generator class balance (chapter 4 shows
    the measurement).

    ``minibatch_std`` appends the batch's feature spread before the score (``MinibatchStd``).

    ``spectral_norm`` divides every convolution's and linear layer's weight by its largest
    singular value (Miyato et al., 2018; PyTorch's ``spectral_norm`` parametrisation, one power
    iteration per forward pass). It bounds each weight's largest singular value, by an estimate: a
    convolution's true operator norm can be larger than the spectral norm of its reshaped kernel
    (chapter 5 §2.1 measures 1.98 and 1.91 for the normalised convolutions, and a bound of 3.78 on
    the whole D), so D's slope is bounded, not held at 1.

    Ablation only (``benchmarks/training_tips.py``): ``slope`` (0 gives a ReLU instead of the
    LeakyReLU).
    """

    def __init__(self, base_channels: int = 32, image_size: int = 28, num_classes: int | None = None,
                 batch_norm: bool = False, slope: float = 0.2, minibatch_std: bool = False, spectral_norm: bool = False):
        super().__init__()
        c = positive_int(base_channels, "base_channels")
        side = _check_image_size(image_size)
        self.image_size = image_size
        self.num_classes = positive_int(num_classes, "num_classes") if num_classes is not None else None
        self.body = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1), nn.LeakyReLU(slope),  # (B, 1, 4s, 4s) -> (B, c, 2s, 2s)
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1),  # -> (B, 2c, s, s)
            nn.BatchNorm2d(2 * c) if batch_norm else nn.Identity(), nn.LeakyReLU(slope),
            nn.Flatten(),  # (B, 2c·s·s)
        )
        features = 2 * c * side**2
        self.minibatch_std = MinibatchStd() if minibatch_std else None
        self.head = nn.Linear(features + (1 if minibatch_std else 0), 1)
        self.embed = nn.Embedding(num_classes, features) if num_classes else None
        if self.embed is not None:  # the class term starts at 0: D begins unconditional and learns it
            nn.init.zeros_(self.embed.weight)
        if spectral_norm:
            for layer in [*self.body, self.head]:
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    nn.utils.parametrizations.spectral_norm(layer)  # weight / sigma_max(weight)

    def forward(self, x, y=None):
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, self.image_size, self.image_size):
            raise ValueError(f"x must be images of shape (B, 1, {self.image_size}, {self.image_size}), got {tuple(x.shape)}")
        h = self.body(x)  # (B, features)
        score = self.head(self.minibatch_std(h) if self.minibatch_std else h).squeeze(1)  # (B,)
        if self.embed is not None:
            score = score + (self.embed(_check_labels(y, x.shape[0], self.num_classes)) * h).sum(dim=1)  # projection
        return score


class InstanceNoise(nn.Module):
    """(An ablation of ``benchmarks/training_tips.py``.) Wraps a discriminator so that, in training mode, its inputs (real and fake alike) get
    Gaussian noise of standard deviation ``std`` (Sønderby et al., 2017; Arjovsky & Bottou,
    2017): the two distributions then overlap, and D's gradient stays informative.
    ``anneal(step, num_steps=N)`` lowers ``std`` linearly to 0 — use it as a ``train_gan``
    callback: ``callbacks=[functools.partial(noisy.anneal, num_steps=N)]``.
    """

    def __init__(self, D: nn.Module, std: float = 0.1):
        super().__init__()
        if not std >= 0:
            raise ValueError(f"std must be >= 0, got {std}")
        self.D, self.std, self.start_std = D, std, std
        self.num_classes = getattr(D, "num_classes", None)

    def forward(self, x, y=None):
        if self.training and self.std > 0:
            x = x + self.std * torch.randn_like(x)
        return self.D(x) if y is None else self.D(x, y)

    def anneal(self, step, G=None, D=None, history=None, num_steps: int | None = None) -> None:
        """Set std = start_std · (1 − (step + 1) / num_steps); as a callback, bind num_steps first
        (``functools.partial(noisy.anneal, num_steps=N)``)."""
        if num_steps is None:
            raise ValueError("anneal needs num_steps: functools.partial(noisy.anneal, num_steps=N)")
        self.std = self.start_std * max(0.0, 1 - (step + 1) / num_steps)


def dcgan(num_classes: int | None = None, image_size: int = 28) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """The course's DCGAN pair for the digits, as chapter 4 measured it: G with a 64-d latent and
    32 base channels; D without BatchNorm, with a minibatch-std feature (projection D when
    ``num_classes`` is given). Train it with ``train_gan(G, D, sample, train.DCGAN_RECIPE)``."""
    G = DCGANGenerator(latent_dim=64, base_channels=32, image_size=image_size, num_classes=num_classes)
    D = DCGANDiscriminator(base_channels=32, image_size=image_size, num_classes=num_classes, minibatch_std=True)
    return G, D
