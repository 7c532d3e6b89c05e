"""Structured pruning: remove whole channels, so that the model really gets smaller and faster.

A channel is removed from three places at once: the output of the layer that produces it (a
row of a Linear, an output filter of a Conv, an output slice of a ConvTranspose), the BatchNorm
that normalises it, and the *input* of the layer that reads it. What is left is an ordinary,
smaller model of the same class: fewer parameters, fewer multiply-accumulates, a smaller file
and less time per forward pass — unlike a mask (``gantutor.prune.masks``), which only zeroes.

Importance of a channel: the L1 norm of the weights that produce it (Li et al., "Pruning
Filters for Efficient ConvNets", ICLR 2017) or the |γ| of its BatchNorm (Liu et al., "Learning
Efficient Convolutional Networks through Network Slimming", ICCV 2017, which trains with an L1
penalty on γ first: ``bn_l1_penalty``).

Supported: ``gantutor.models.DCGANGenerator`` (unconditional or conditional) and an
``nn.Sequential`` chain of Conv2d / ConvTranspose2d / Linear layers with BatchNorm and
activations between them.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from gantutor.models import DCGANGenerator

_CONV = (nn.Conv2d, nn.ConvTranspose2d)
_NORM = (nn.BatchNorm1d, nn.BatchNorm2d)


def _out_dim(layer: nn.Module) -> int:
    """The weight axis that indexes output channels: 0 for Linear / Conv, 1 for ConvTranspose."""
    return 1 if isinstance(layer, nn.ConvTranspose2d) else 0


def _check_layer(layer, name: str) -> None:
    if not isinstance(layer, (nn.Linear, *_CONV)):
        raise TypeError(f"{name} must be a Linear, Conv2d or ConvTranspose2d layer, got {type(layer).__name__}")
    if isinstance(layer, _CONV) and layer.groups != 1:
        raise TypeError(f"{name}: grouped convolutions (groups={layer.groups}) are not supported")


def _index(keep, size: int, name: str) -> torch.Tensor:
    keep = torch.as_tensor(keep, dtype=torch.long).flatten()
    if keep.numel() == 0:
        raise ValueError(f"{name}: keep at least one channel")
    if keep.min() < 0 or keep.max() >= size or keep.unique().numel() != keep.numel():
        raise ValueError(f"{name}: keep must hold distinct indices in [0, {size}), got {keep.tolist()}")
    return keep.sort().values


@torch.no_grad()
def keep_out_channels(layer: nn.Module, keep, block: int = 1) -> nn.Module:
    """A copy of ``layer`` that produces only the output channels ``keep``.

    ``block``: for a Linear whose output is reshaped to (C, H, W) afterwards, each channel is
    ``block`` = H·W consecutive outputs.
    """
    _check_layer(layer, "layer")
    axis = _out_dim(layer)
    size = layer.weight.shape[axis] // block
    rows = (_index(keep, size, "keep_out_channels")[:, None] * block + torch.arange(block)).flatten()
    new = copy.deepcopy(layer)
    new.weight = nn.Parameter(layer.weight.index_select(axis, rows).clone())
    if layer.bias is not None:
        new.bias = nn.Parameter(layer.bias[rows].clone())
    if isinstance(layer, nn.Linear):
        new.out_features = rows.numel()
    else:
        new.out_channels = rows.numel()
    return new


@torch.no_grad()
def keep_in_channels(layer: nn.Module, keep) -> nn.Module:
    """A copy of ``layer`` that reads only the input channels ``keep`` (the others were removed
    upstream); its output is unchanged when the removed inputs were zero."""
    _check_layer(layer, "layer")
    axis = 1 - _out_dim(layer) if isinstance(layer, _CONV) else 1
    keep = _index(keep, layer.weight.shape[axis], "keep_in_channels")
    new = copy.deepcopy(layer)
    new.weight = nn.Parameter(layer.weight.index_select(axis, keep).clone())
    if isinstance(layer, nn.Linear):
        new.in_features = keep.numel()
    else:
        new.in_channels = keep.numel()
    return new


@torch.no_grad()
def keep_norm_channels(norm: nn.Module, keep, block: int = 1) -> nn.Module:
    """A copy of a BatchNorm layer for the kept channels (``block`` features per channel)."""
    if not isinstance(norm, _NORM):
        raise TypeError(f"norm must be a BatchNorm1d or BatchNorm2d layer, got {type(norm).__name__}")
    size = norm.num_features // block
    rows = (_index(keep, size, "keep_norm_channels")[:, None] * block + torch.arange(block)).flatten()
    new = copy.deepcopy(norm)
    new.num_features = rows.numel()
    if norm.affine:
        new.weight, new.bias = nn.Parameter(norm.weight[rows].clone()), nn.Parameter(norm.bias[rows].clone())
    if norm.track_running_stats:
        new.running_mean, new.running_var = norm.running_mean[rows].clone(), norm.running_var[rows].clone()
    return new


@dataclass
class _Group:
    """Channels produced by ``producer`` (``block`` outputs each), normalised by ``norm``, read by ``consumer``."""

    producer: nn.Module
    norm: nn.Module | None
    consumer: nn.Module
    block: int = 1


def channel_groups(model: nn.Module) -> list[_Group]:
    """The groups of coupled channels that ``prune_channels`` cuts, in order."""
    return _groups(model)


def channel_importance(group: _Group, criterion: str = "l1") -> torch.Tensor:
    """One score per channel: the L1 norm of the weights (and bias) producing it, or the mean |γ| of its BatchNorm."""
    if criterion == "bn":
        if group.norm is None or not group.norm.affine:
            raise ValueError("criterion='bn' needs a BatchNorm with affine=True after the layer")
        return group.norm.weight.detach().abs().view(-1, group.block).mean(dim=1)
    if criterion != "l1":
        raise ValueError(f"criterion must be 'l1' or 'bn', got {criterion!r}")
    w = group.producer.weight.detach()
    w = w.transpose(0, 1) if isinstance(group.producer, nn.ConvTranspose2d) else w  # (out, ...)
    return w.abs().reshape(w.shape[0] // group.block, -1).sum(dim=1)


def _groups(model: nn.Module) -> list[_Group]:
    if isinstance(model, DCGANGenerator):
        side2 = model.side**2
        return [_Group(model.project[0], model.project[1], model.net[0], block=side2),
                _Group(model.net[0], model.net[1], model.net[3])]
    if isinstance(model, nn.Sequential):
        layers = [m for m in model if isinstance(m, (nn.Linear, *_CONV))]
        if not layers or any(not isinstance(m, (nn.Linear, *_CONV, *_NORM)) and any(p.numel() for p in m.parameters())
                             for m in model):
            raise TypeError("prune_channels supports a Sequential of Linear / Conv2d / ConvTranspose2d layers, "
                            "BatchNorm and parameter-free activations only")
        groups = []
        for producer, consumer in zip(layers, layers[1:]):
            between = list(model)[list(model).index(producer) + 1: list(model).index(consumer)]
            norm = next((m for m in between if isinstance(m, _NORM)), None)
            if isinstance(producer, nn.Linear) != isinstance(consumer, nn.Linear):
                raise TypeError("prune_channels: a Linear next to a Conv in a Sequential needs the reshape between them; "
                                "write the model as a class (see DCGANGenerator) or prune its parts")
            groups.append(_Group(producer, norm, consumer))
        return groups
    raise TypeError(f"prune_channels supports gantutor.models.DCGANGenerator and nn.Sequential chains, "
                    f"got {type(model).__name__}")


def _replace(model: nn.Module, old: nn.Module, new: nn.Module) -> None:
    for parent in model.modules():
        for name, child in parent.named_children():
            if child is old:
                setattr(parent, name, new)
                return
    raise LookupError("layer not found in the model")  # pragma: no cover - _groups only lists the model's own layers


def _keep_count(amount, channels: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, (int, float)):
        raise TypeError(f"amount must be a number in [0, 1) (the fraction of channels to remove), got {amount!r}")
    if not 0 <= amount < 1:
        raise ValueError(f"amount must be in [0, 1) (the fraction of channels to remove; 1 would leave none), got {amount}")
    return max(1, round((1 - amount) * channels))


def _choose(model: nn.Module, amount, criterion: str) -> list[torch.Tensor]:
    """Per group of coupled channels, the sorted indices of the channels to keep (the most important)."""
    groups = _groups(model)
    amounts = list(amount) if isinstance(amount, (list, tuple)) else [amount] * len(groups)
    if len(amounts) != len(groups):
        raise ValueError(f"amount: this model has {len(groups)} groups of channels, got {len(amounts)} amounts")
    keeps = []
    for group, a in zip(groups, amounts):
        scores = channel_importance(group, criterion)
        keeps.append(torch.topk(scores, _keep_count(a, scores.numel())).indices.sort().values)
    return keeps


def prune_channels(model: nn.Module, amount, criterion: str = "l1") -> nn.Module:
    """A new, smaller model with a fraction ``amount`` of the channels of every hidden layer
    removed, the least important first (``criterion`` "l1" or "bn", see ``channel_importance``).

    ``amount`` is one number for all layers or a list, one per group of coupled channels
    (``len(channel_groups(model))`` of them). The original model is not changed. Before
    fine-tuning, the new model (in eval mode) computes what ``zero_channels`` computes: the
    original with those channels zeroed.
    """
    keeps = _choose(model, amount, criterion)  # chosen on the original weights, before any layer is cut
    pruned = copy.deepcopy(model)
    for i, keep in enumerate(keeps):
        group = _groups(pruned)[i]  # read again: the previous group replaced this group's producer
        _replace(pruned, group.producer, keep_out_channels(group.producer, keep, group.block))
        if group.norm is not None:
            _replace(pruned, group.norm, keep_norm_channels(group.norm, keep, group.block))
        _replace(pruned, group.consumer, keep_in_channels(group.consumer, keep))
    if isinstance(pruned, DCGANGenerator):
        pruned.channels = pruned.net[0].in_channels
    return pruned


@torch.no_grad()
def zero_channels(model: nn.Module, amount, criterion: str = "l1") -> nn.Module:
    """A copy of ``model`` with the channels ``prune_channels`` would remove set to zero
    instead (the weights producing them, their bias and their BatchNorm's γ and β): same
    output in eval mode, same size, same speed — a mask, not a removal."""
    keeps = _choose(model, amount, criterion)
    masked = copy.deepcopy(model)
    for group, keep in zip(_groups(masked), keeps):
        size = channel_importance(group).numel()
        drop = torch.ones(size, dtype=torch.bool)
        drop[keep] = False
        rows = (drop.nonzero().flatten()[:, None] * group.block + torch.arange(group.block)).flatten()
        group.producer.weight.index_fill_(_out_dim(group.producer), rows, 0.0)
        if group.producer.bias is not None:
            group.producer.bias[rows] = 0.0
        if group.norm is not None and group.norm.affine:
            group.norm.weight[rows] = 0.0
            group.norm.bias[rows] = 0.0
    return masked


def bn_l1_penalty(model: nn.Module, weight: float = 1e-4) -> torch.Tensor:
    """Network slimming's sparsity penalty ``weight`` · Σ|γ| over the BatchNorm scales: added to
    the loss while training, it drives the γ of unneeded channels to 0, so that pruning by
    |γ| (``criterion="bn"``) then removes channels that carry little (Liu et al., 2017)."""
    if not weight >= 0:
        raise ValueError(f"weight must be >= 0, got {weight}")
    scales = [m.weight for m in model.modules() if isinstance(m, _NORM) and m.affine]
    if not scales:
        raise TypeError(f"{type(model).__name__} has no BatchNorm layer with a scale γ to penalise")
    return weight * sum(g.abs().sum() for g in scales)
