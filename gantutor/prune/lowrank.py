"""Low-rank factorisation: replace one layer by two thinner ones through a truncated SVD.

A weight matrix W (out × in) has the singular value decomposition W = U Σ Vᵀ. Keeping the r
largest singular values gives the best rank-r approximation (Eckart–Young), W ≈ (U_r Σ_r)(V_rᵀ),
i.e. a layer in → r followed by a layer r → out: r·(in + out) weights instead of in·out, fewer
whenever r < in·out / (in + out). The rank is chosen by the fraction of the "energy" Σσ² kept.

* Linear(in, out) → Linear(in, r, no bias) then Linear(r, out);
* Conv2d(in, out, k) → Conv2d(in, r, k) then a 1×1 Conv2d(r, out) (W reshaped to out × in·k·k);
* ConvTranspose2d(in, out, k) → a 1×1 Conv2d(in, r) then ConvTranspose2d(r, out, k)
  (its weight, in × out × k × k, reshaped to in × out·k·k).

Reference: Denton et al., "Exploiting Linear Structure Within Convolutional Networks for
Efficient Evaluation" (NeurIPS 2014).
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from gantutor.prune.masks import dense_weight, prunable_layers


def _matrix(layer: nn.Module) -> torch.Tensor:
    """The layer's weight as the matrix that is factorised (see the module docstring)."""
    w = dense_weight(layer).detach() * (layer.weight_mask if hasattr(layer, "weight_mask") else 1)
    return w.reshape(w.shape[0], -1)  # Linear: (out, in); Conv: (out, in·k·k); ConvTranspose: (in, out·k·k)


def rank_for_energy(singular_values: torch.Tensor, energy: float) -> int:
    """The smallest r with σ₁² + … + σ_r² ≥ ``energy`` · Σσ²."""
    if not 0 < energy <= 1:
        raise ValueError(f"energy must be in (0, 1] (the fraction of Σσ² to keep), got {energy}")
    cumulative = torch.cumsum(singular_values**2, 0) / (singular_values**2).sum()
    return int(torch.searchsorted(cumulative, torch.tensor(energy, dtype=cumulative.dtype) - 1e-12)) + 1


def _check_rank(rank, full: int) -> int:
    if isinstance(rank, bool) or not isinstance(rank, int):
        raise TypeError(f"rank must be a positive integer, got {rank!r}")
    if not 1 <= rank <= full:
        raise ValueError(f"rank must be between 1 and {full} (the layer's full rank), got {rank}")
    return rank


@torch.no_grad()
def low_rank(layer: nn.Module, rank: int | None = None, energy: float | None = None) -> nn.Sequential:
    """Two layers that compute the rank-``rank`` approximation of ``layer`` (give ``rank`` or
    ``energy``, the fraction of Σσ² to keep). The SVD's factors are split as (U√Σ)(√Σ Vᵀ)."""
    if not isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)) or getattr(layer, "groups", 1) != 1:
        raise TypeError(f"low_rank supports Linear, Conv2d and ConvTranspose2d (groups=1), got {type(layer).__name__}")
    if (rank is None) == (energy is None):
        raise ValueError("give exactly one of rank (an int) or energy (a fraction of Σσ², e.g. 0.9)")
    U, S, Vh = torch.linalg.svd(_matrix(layer), full_matrices=False)  # (m, q), (q,), (q, n)
    r = _check_rank(rank, S.numel()) if rank is not None else rank_for_energy(S, energy)
    left, right = U[:, :r] * S[:r].sqrt(), S[:r].sqrt()[:, None] * Vh[:r]  # (m, r), (r, n): W ≈ left @ right
    w = layer.weight
    if isinstance(layer, nn.Linear):
        first, second = nn.Linear(layer.in_features, r, bias=False), nn.Linear(r, layer.out_features, bias=layer.bias is not None)
        first.weight.copy_(right)
        second.weight.copy_(left)
    elif isinstance(layer, nn.Conv2d):
        first = nn.Conv2d(layer.in_channels, r, layer.kernel_size, layer.stride, layer.padding, layer.dilation, bias=False)
        second = nn.Conv2d(r, layer.out_channels, 1, bias=layer.bias is not None)
        first.weight.copy_(right.view(r, *w.shape[1:]))
        second.weight.copy_(left.view(layer.out_channels, r, 1, 1))
    else:
        first = nn.Conv2d(layer.in_channels, r, 1, bias=False)
        second = nn.ConvTranspose2d(r, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                                    layer.output_padding, bias=layer.bias is not None, dilation=layer.dilation)
        first.weight.copy_(left.t().reshape(r, layer.in_channels, 1, 1))
        second.weight.copy_(right.view(r, *w.shape[1:]))
    if layer.bias is not None:
        second.bias.copy_(layer.bias)
    return nn.Sequential(first, second).to(w.device)


def low_rank_model(model: nn.Module, energy: float = 0.9, min_saving: float = 0.0) -> nn.Module:
    """A copy of ``model`` whose Linear / Conv / ConvTranspose layers are factorised at
    ``energy``, each only where the two thinner layers have fewer weights than the original
    (by more than a fraction ``min_saving``)."""
    new = copy.deepcopy(model)
    for name, layer in prunable_layers(new).items():
        if not isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)) or not name:
            continue
        factored = low_rank(layer, energy=energy)
        if sum(p.numel() for p in factored.parameters()) < (1 - min_saving) * sum(p.numel() for p in layer.parameters()):
            parent, _, child = name.rpartition(".")
            setattr(new.get_submodule(parent) if parent else new, child, factored)
    return new
