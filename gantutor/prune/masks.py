"""Unstructured magnitude pruning: masks that zero the smallest weights, layer by layer or globally.

Built on ``torch.nn.utils.prune``: a pruned layer keeps its dense ``weight_orig`` (a parameter that
still trains) and a 0/1 buffer ``weight_mask``; a forward pre-hook sets ``weight = weight_orig *
weight_mask`` before every call, and ``make_permanent`` folds the mask in. One difference: here
``amount`` is the *target* fraction of zeros in the pruned weights, not a fraction of what is
still left (``torch.nn.utils.prune`` applied twice with 0.5 leaves 25 %; ``magnitude_prune``
applied with 0.5 then 0.75 leaves 25 %), which is what a schedule needs.

A mask makes a model sparse, not faster or smaller: the dense tensor is still multiplied in full
(``gantutor.prune.channels`` removes whole channels for that; ``gantutor.prune.storage`` writes
the sparse weights compactly).

References: Han et al., "Learning both Weights and Connections for Efficient Neural Networks"
(NeurIPS 2015); Zhu & Gupta, "To prune, or not to prune" (2017) for the cubic schedule.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _check_amount(amount, name: str = "amount") -> float:
    if isinstance(amount, bool) or not isinstance(amount, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1] (the fraction of weights to zero), got {amount!r}")
    if not 0 <= amount <= 1:
        raise ValueError(f"{name} must be in [0, 1] (the fraction of weights to zero), got {amount}")
    return float(amount)


def prunable_layers(module: nn.Module) -> dict[str, nn.Module]:
    """{name: layer} of the layers whose ``weight`` magnitude pruning acts on (Linear, Conv*,
    ConvTranspose*); biases and normalisation layers are left dense, as is usual."""
    if isinstance(module, PRUNABLE):
        return {"": module}
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    layers = {name: m for name, m in module.named_modules() if isinstance(m, PRUNABLE)}
    if not layers:
        raise TypeError(f"{type(module).__name__} has no layer that can be pruned; supported: "
                        + ", ".join(t.__name__ for t in PRUNABLE))
    return layers


def dense_weight(layer: nn.Module) -> torch.Tensor:
    """The layer's weight as trained, before any mask: ``weight_orig`` if pruned, else ``weight``."""
    return layer.weight_orig if hasattr(layer, "weight_orig") else layer.weight


def _set_mask(layer: nn.Module, mask: torch.Tensor) -> None:
    """Attach ``mask`` (the torch.nn.utils.prune way), or narrow the mask already there (a pruned
    weight never comes back)."""
    if hasattr(layer, "weight_mask"):
        layer.weight_mask.mul_(mask)
        layer.weight = layer.weight_orig * layer.weight_mask  # what the pre-hook would compute next call
    else:
        torch_prune.custom_from_mask(layer, "weight", mask)


def _current_mask(layer: nn.Module) -> torch.Tensor:
    return layer.weight_mask if hasattr(layer, "weight_mask") else torch.ones_like(layer.weight)


def _keep_largest(scores: torch.Tensor, amount: float) -> torch.Tensor:
    """0/1 mask of ``scores``' shape keeping exactly round((1 − amount)·n) of the largest."""
    flat = scores.flatten()
    keep = round((1 - amount) * flat.numel())
    mask = torch.zeros_like(flat)
    if keep:
        mask[torch.topk(flat, keep, sorted=False).indices] = 1.0
    return mask.view_as(scores)


def _layer_amounts(layers: dict[str, nn.Module], amount: dict) -> dict[str, float]:
    unknown = sorted(set(amount) - set(layers))
    if unknown:
        raise ValueError(f"amount names layers that are not prunable layers of the module: {unknown}; "
                         f"they are: {sorted(layers)}")
    return {name: _check_amount(a, f"amount[{name!r}]") for name, a in amount.items()}


@torch.no_grad()
def magnitude_prune(module: nn.Module, amount, scope: str = "global") -> nn.Module:
    """Zero the smallest-magnitude weights so that a fraction ``amount`` of them is zero; returns
    ``module`` (pruned in place).

    ``scope="global"`` ranks the weights of all prunable layers together (one threshold, so
    layers with small weights lose more); ``"layer"`` prunes each layer to ``amount`` on its own.
    ``amount`` may also be a dict {layer name: amount} (names as in ``prunable_layers``): each
    named layer is pruned to its own amount, the others are left as they are.
    Weights pruned before stay pruned (their score is 0), so calling it again with a larger
    ``amount`` continues the pruning; a smaller one than what is already zero cannot regrow them.
    """
    if scope not in ("global", "layer"):
        raise ValueError(f"scope must be 'global' or 'layer', got {scope!r}")
    layers = prunable_layers(module)
    if isinstance(amount, dict):
        for name, a in _layer_amounts(layers, amount).items():
            _set_mask(layers[name], _keep_largest(dense_weight(layers[name]).abs() * _current_mask(layers[name]), a))
        return module
    amount = _check_amount(amount)
    scores = [dense_weight(m).abs() * _current_mask(m) for m in layers.values()]  # pruned weights score 0
    if scope == "layer":
        masks = [_keep_largest(s, amount) for s in scores]
    else:
        flat = _keep_largest(torch.cat([s.flatten() for s in scores]), amount)
        masks = [part.view_as(s) for part, s in zip(flat.split([s.numel() for s in scores]), scores)]
    for layer, mask in zip(layers.values(), masks):
        _set_mask(layer, mask)
    return module


def masks_of(module: nn.Module) -> dict[str, torch.Tensor]:
    """{layer name: a copy of its 0/1 mask} for the pruned layers of ``module`` (e.g. to carry a
    mask over to another copy of the model with ``apply_masks``, as a lottery-ticket run does)."""
    return {name: m.weight_mask.detach().clone() for name, m in prunable_layers(module).items() if hasattr(m, "weight_mask")}


@torch.no_grad()
def apply_masks(module: nn.Module, masks: dict[str, torch.Tensor]) -> nn.Module:
    """Attach ``masks`` ({layer name: 0/1 tensor of the layer's weight shape}) to ``module``'s
    layers, whatever their weights; returns ``module``."""
    layers = prunable_layers(module)
    for name, mask in masks.items():
        if name not in layers:
            raise ValueError(f"masks names {name!r}, which is not a prunable layer of the module; they are: {sorted(layers)}")
        if mask.shape != layers[name].weight.shape:
            raise ValueError(f"the mask for {name!r} has shape {tuple(mask.shape)}, the weight {tuple(layers[name].weight.shape)}")
        _set_mask(layers[name], mask.to(layers[name].weight.dtype))
    return module


def make_permanent(module: nn.Module) -> nn.Module:
    """Fold every mask into its weight (``torch.nn.utils.prune.remove``): plain layers again,
    with zeros where the mask was 0. Returns ``module``."""
    for layer in prunable_layers(module).values():
        if hasattr(layer, "weight_mask"):
            torch_prune.remove(layer, "weight")
    return module


class Sparsity(float):
    """The fraction of zero weights in the prunable layers (a float), with ``.layers``:
    {name: (zeros, total)} per layer; printing it gives the table."""

    layers: dict[str, tuple[int, int]]

    def __new__(cls, layers: dict[str, tuple[int, int]]):
        zeros, total = sum(z for z, _ in layers.values()), sum(t for _, t in layers.values())
        self = super().__new__(cls, zeros / total)
        self.layers = layers
        return self

    def __str__(self) -> str:
        rows = [f"{name or '(module)':<24} {z / t:7.1%}  {t - z:>9,} of {t:>9,} kept" for name, (z, t) in self.layers.items()]
        return "\n".join(rows + [f"{'overall':<24} {float(self):7.1%}"])

    def __repr__(self) -> str:
        return f"Sparsity({float(self):.4f})"


@torch.no_grad()
def sparsity(module: nn.Module) -> Sparsity:
    """Fraction of the prunable weights (Linear / Conv weights, after masks) that are exactly 0.
    It behaves as a float; ``.layers`` holds (zeros, total) per layer and ``print`` shows them."""
    return Sparsity({name: (int((m.weight == 0).sum()), m.weight.numel()) for name, m in prunable_layers(module).items()})


def cubic_schedule(step: int, start_step: int, end_step: int, initial_sparsity: float = 0.0,
                   final_sparsity: float = 0.9) -> float:
    """Zhu & Gupta's (2017) gradual pruning schedule: the target sparsity at ``step``,

        s_t = s_f + (s_i − s_f) · (1 − (t − t0) / (n·Δt))³   for t0 ≤ t ≤ t0 + n·Δt,

    with t0 = ``start_step`` and t0 + n·Δt = ``end_step``; s_i before, s_f from ``end_step`` on.
    It prunes fast at first, while there are many redundant weights, and slowly near the end.
    """
    s_i, s_f = _check_amount(initial_sparsity, "initial_sparsity"), _check_amount(final_sparsity, "final_sparsity")
    if end_step <= start_step:
        raise ValueError(f"end_step must be after start_step, got start_step={start_step}, end_step={end_step}")
    progress = min(max((step - start_step) / (end_step - start_step), 0.0), 1.0)
    return s_f + (s_i - s_f) * (1 - progress) ** 3


class GradualPruning:
    """A ``train_gan`` callback that prunes while the GAN trains, following ``cubic_schedule``:
    every ``every`` steps the target modules are magnitude-pruned to s_t (masks only grow).

        prune_G = GradualPruning(final_sparsity=0.9, start_step=500, end_step=3500, target="G")
        train_gan(G, D, ..., callbacks=[prune_G])

    ``target`` is "G", "D" or "both"; the masked weights keep getting gradients (``weight_orig``)
    but stay zero in every forward pass. ``final_sparsity`` may be a dict {layer name: sparsity}
    (see ``magnitude_prune``): each layer then follows its own schedule.
    """

    def __init__(self, final_sparsity: float, start_step: int, end_step: int, *, initial_sparsity: float = 0.0,
                 every: int = 100, target: str = "G", scope: str = "global"):
        if target not in ("G", "D", "both"):
            raise ValueError(f"target must be 'G', 'D' or 'both', got {target!r}")
        for final in (final_sparsity.values() if isinstance(final_sparsity, dict) else [final_sparsity]):
            cubic_schedule(start_step, start_step, end_step, initial_sparsity, final)  # validates the arguments
        if isinstance(every, bool) or not isinstance(every, int) or every <= 0:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.final_sparsity, self.initial_sparsity = final_sparsity, initial_sparsity
        self.start_step, self.end_step, self.every, self.target, self.scope = start_step, end_step, every, target, scope
        self.applied: list[tuple[int, float]] = []  # (step, sparsity) at each pruning

    def __call__(self, step: int, G: nn.Module, D: nn.Module, history=None) -> None:
        if step < self.start_step or (step - self.start_step) % self.every and step != self.end_step:
            return
        if self.applied and self.applied[-1][0] >= self.end_step:
            return
        s = self.target_at(step)
        for module in {"G": (G,), "D": (D,), "both": (G, D)}[self.target]:
            magnitude_prune(module, s, scope=self.scope)
        self.applied.append((step, s))

    def target_at(self, step: int):
        """The sparsity the schedule asks for at ``step`` (a dict when ``final_sparsity`` is one)."""
        at = lambda final: cubic_schedule(step, self.start_step, self.end_step, self.initial_sparsity, final)  # noqa: E731
        if isinstance(self.final_sparsity, dict):
            return {name: at(final) for name, final in self.final_sparsity.items()}
        return at(self.final_sparsity)
