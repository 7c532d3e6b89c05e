"""Looking inside a model by running it: each leaf layer's output shape, and its time."""
from __future__ import annotations

import contextlib
import statistics
import time

import torch
from torch import nn


def _leaves(module: nn.Module):
    return [(name, layer) for name, layer in module.named_modules() if not list(layer.children())]


@contextlib.contextmanager
def _hooked_eval(module: nn.Module, hooks):
    """``module`` in eval mode with ``hooks`` (handles) removed and its mode restored afterwards."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
        for h in hooks:
            h.remove()


@torch.no_grad()
def layer_shapes(module: nn.Module, *inputs) -> list[tuple[str, str, tuple]]:
    """Run ``module(*inputs)`` once and list (name, layer type, output shape) of every leaf layer
    in the order they ran: the shape comments of a model, checked by running it."""
    rows = []
    hooks = [layer.register_forward_hook(lambda mod, _, out, name=name: rows.append((name, type(mod).__name__, tuple(out.shape))))
             for name, layer in _leaves(module)]
    with _hooked_eval(module, hooks):
        module(*inputs)
    return rows


@torch.no_grad()
def layer_times(module: nn.Module, *inputs, repeats: int = 30, warmup: int = 3) -> dict[str, float]:
    """The median time in milliseconds of every leaf layer inside ``module(*inputs)`` (eval mode),
    over ``repeats`` forward passes after ``warmup`` ones, in the order the layers ran. Timed
    in place by forward hooks, so each layer sees the input the model really gives it."""
    starts, times = {}, {}
    hooks = []
    for name, layer in _leaves(module):
        hooks.append(layer.register_forward_pre_hook(lambda mod, _, name=name: starts.__setitem__(name, time.perf_counter())))
        hooks.append(layer.register_forward_hook(
            lambda mod, _, out, name=name: times.setdefault(name, []).append(time.perf_counter() - starts[name])))
    with _hooked_eval(module, hooks):
        for _ in range(warmup + repeats):
            module(*inputs)
    return {name: 1000 * statistics.median(t[warmup:]) for name, t in times.items()}
