"""Data sets of the course.

2D Gaussian mixtures with the published protocol of VEEGAN (Srivastava et al., 2017) and PacGAN
(Lin et al., 2018), so that mode counts can be set beside those papers' tables:

* ``"ring"``: 8 Gaussians evenly spaced on the circle of radius 1, standard deviation 0.01;
* ``"grid"``: 25 Gaussians on {-4, -2, 0, 2, 4}², standard deviation 0.05.

All components have equal weight.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gantutor._validate import batch_of, positive_int


@dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic Gaussians: ``means`` (K, 2), one ``std`` for all."""

    name: str
    means: torch.Tensor  # (K, 2)
    std: float

    @property
    def num_modes(self) -> int:
        return self.means.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """Draw ``n`` points, shape (n, 2); pass a seeded ``generator`` for reproducible draws."""
        positive_int(n, "n")
        idx = torch.randint(self.num_modes, (n,), generator=generator)  # (n,)
        noise = torch.randn(n, 2, generator=generator)  # (n, 2)
        return (self.means[idx] + self.std * noise).to(device)

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) for points ``x`` of shape (n, 2); returns (n,)."""
        batch_of(x, 2, "x")
        x = x.to(torch.float64)
        sq = torch.cdist(x, self.means.to(torch.float64)) ** 2  # (n, K)
        log_comp = -sq / (2 * self.std**2) - math.log(2 * math.pi * self.std**2)  # log N(x; mu_k, s²I)
        return torch.logsumexp(log_comp, dim=1) - math.log(self.num_modes)  # log (1/K) Σ_k N_k

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """p(x) for points ``x`` of shape (n, 2); returns (n,) in float64."""
        return self.log_density(x).exp()

    def bounds(self, margin: float = 0.5) -> tuple[float, float]:
        """A square plotting window (low, high) that holds every mode with a margin."""
        r = float(self.means.abs().max()) + 3 * self.std + margin
        return -r, r


def _ring(num_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    angles = torch.arange(num_modes, dtype=torch.float32) * (2 * math.pi / num_modes)
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)  # (K, 2)


def _grid(values=(-4.0, -2.0, 0.0, 2.0, 4.0)) -> torch.Tensor:
    v = torch.tensor(values)
    return torch.cartesian_prod(v, v)  # (25, 2)


_MIXTURES = {
    "ring": lambda: Mixture("ring", _ring(), 0.01),
    "grid": lambda: Mixture("grid", _grid(), 0.05),
}


def mixture(name: str) -> Mixture:
    """The 2D mixture ``"ring"`` or ``"grid"`` (PacGAN protocol)."""
    if name not in _MIXTURES:
        raise ValueError(f"name must be one of {sorted(_MIXTURES)}, got {name!r}")
    return _MIXTURES[name]()


def custom_mixture(means, std: float, name: str = "custom") -> Mixture:
    """A mixture with your own (K, 2) ``means`` and a common ``std`` > 0."""
    means = torch.as_tensor(means, dtype=torch.float32)
    if means.dim() != 2 or means.shape[1] != 2 or means.shape[0] == 0:
        raise ValueError(f"means must have shape (K, 2) with K >= 1, got {tuple(means.shape)}")
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    return Mixture(name, means, float(std))
