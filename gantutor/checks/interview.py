"""Checks of the interview drills (chapter 8): timed coding tasks of the kind interviews ask.

Most drills are a chapter's exercise asked again from scratch, so they reuse its check
(``as_drill``: same cases and hints, reported as the drill's number). One is new: fixing the
source article's pruning function (8.6).
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from gantutor.checks._core import _call, _fail, _passed, as_drill, exercise
from gantutor.checks.images import check_frechet_distance, check_image_gradient_penalty
from gantutor.checks.minimax import check_training_step
from gantutor.checks.pruning import check_global_magnitude_mask
from gantutor.checks.translation import check_cycle_consistency_loss

check_drill_training_step = as_drill(check_training_step, "check_drill_training_step")
check_drill_global_pruning = as_drill(check_global_magnitude_mask, "check_drill_global_pruning")
check_drill_gradient_penalty = as_drill(check_image_gradient_penalty, "check_drill_gradient_penalty")
check_drill_cycle_loss = as_drill(check_cycle_consistency_loss, "check_drill_cycle_loss")
check_drill_frechet_distance = as_drill(check_frechet_distance, "check_drill_frechet_distance")
check_drill_fixed_training_step = as_drill(check_training_step, "check_drill_fixed_training_step")


def _mlp(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))


def _zero_rows(layer: nn.Linear) -> set[int]:
    return {i for i, row in enumerate(layer.weight.detach()) if bool((row == 0).all())}


def _smallest_rows(layer: nn.Linear, amount: float) -> set[int]:
    norms = layer.weight.detach().norm(dim=1)
    return set(torch.argsort(norms)[: round(amount * len(norms))].tolist())


@exercise
def check_prune_rows(fn) -> None:
    """``fn(model, amount)`` zeroes, in every ``nn.Linear``, the fraction ``amount`` of output rows
    with the smallest L2 norm, so that they stay zero while the model trains on; returns the model."""
    for amount in (0.5, 0.25, 0.0):
        model = _mlp(86)
        dense = copy.deepcopy(model)
        inputs = {"model": "Linear(5→12) → Linear(12→8) → Linear(8→3), random weights", "amount": amount}
        out = _call(fn, model, amount, inputs=inputs)
        model = out if isinstance(out, nn.Module) else model
        layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
        for k, (layer, ref) in enumerate(zip(layers, [m for m in dense.modules() if isinstance(m, nn.Linear)])):
            zeroed, expected = _zero_rows(layer), _smallest_rows(ref, amount)
            if zeroed == expected:
                continue
            norms = ref.weight.detach().norm(dim=1)
            kept = set(range(len(norms))) - zeroed
            if zeroed and kept and min(norms[sorted(zeroed)]) > max(norms[sorted(kept)]):
                hint = ("the mask is inverted — the source article's bug: it zeroes the rows whose norm is *above* the "
                        "threshold, the most important ones; zero the smallest")
            elif len(zeroed) != len(expected):
                hint = (f"amount is the fraction of each layer's rows to remove: {len(expected)} of {len(ref.weight)} "
                        "here, whatever the scale of the weights (an absolute threshold removes a different share per layer)")
            else:
                hint = "rank the rows by their L2 norm, torch.norm(weight, dim=1), and zero the smallest"
            _fail(f"layer {k} (Linear {ref.in_features}→{ref.out_features}) has the wrong rows zeroed", inputs=inputs,
                  expected=f"rows {sorted(expected)}", actual=f"rows {sorted(zeroed)}", hint=hint)
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
        for _ in range(2):
            opt.zero_grad()
            model(torch.randn(16, 5)).pow(2).mean().backward()
            opt.step()
        moved = [k for k, layer in enumerate(layers) if _zero_rows(layer) != _smallest_rows(
            [m for m in dense.modules() if isinstance(m, nn.Linear)][k], amount)]
        if moved:
            _fail(f"after two Adam steps the pruned rows of layer {moved[0]} are no longer zero", inputs=inputs,
                  hint="zeros written into weight.data do not last: the next optimiser step moves them (the source "
                       "article's second bug). Keep a mask that is applied at every forward pass, e.g. "
                       "torch.nn.utils.prune.custom_from_mask or prune.ln_structured")
    _passed("the smallest rows go, in every layer, and stay gone while training.")
