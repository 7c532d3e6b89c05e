"""What a compression buys, measured: parameters, non-zeros, multiply-accumulates, bytes on disk
and CPU latency (the median of repeated timed runs), at inference and for a training pass."""
from __future__ import annotations

import copy
import io
import statistics
import time

import torch
from torch import nn

from gantutor.prune.masks import prunable_layers


def count_params(model: nn.Module) -> int:
    """Number of parameters, masked or not (a pruned layer counts ``weight_orig`` once)."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_nonzeros(model: nn.Module) -> int:
    """Number of non-zero parameters, with masks applied: what a sparse format has to store."""
    masked = {id(m.weight_orig) for m in model.modules() if hasattr(m, "weight_orig")}
    total = sum(int((p != 0).sum()) for p in model.parameters() if id(p) not in masked)
    return total + sum(int((m.weight != 0).sum()) for m in model.modules() if hasattr(m, "weight_orig"))


def _macs_of(layer: nn.Module, inp: torch.Tensor, out: torch.Tensor, nonzero_only: bool) -> int:
    w = layer.weight
    weights = int((w != 0).sum()) if nonzero_only else w.numel()
    if isinstance(layer, nn.Linear):  # each output row: in_features MACs, over every leading position
        return out.numel() // layer.out_features * weights
    if isinstance(layer, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):  # each input pixel scatters the kernel
        return inp.numel() // layer.in_channels * weights
    return out.numel() // layer.out_channels * weights  # Conv: each output pixel gathers the kernel


@torch.no_grad()
def count_macs(model: nn.Module, input_shape, nonzero_only: bool = False, per_layer: bool = False, **forward_kwargs):
    """Multiply-accumulates of one forward pass of an input of ``input_shape`` (batch included,
    e.g. ``(1, latent_dim)``) in the Linear and Conv / ConvTranspose layers, which hold nearly all
    of the work (normalisation and activations, a few operations per element, are not counted).

    ``nonzero_only=True`` counts only the products with a non-zero weight: what an ideal sparse
    kernel would do; dense kernels, the ones a CPU runs, do them all (the default).
    (Border effects of padding are ignored: every kernel tap is counted at every position.)
    ``per_layer=True`` returns ``{layer name: MACs}`` in the order the layers ran instead of the total.
    """
    shape = tuple(input_shape)
    if not shape or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in shape):
        raise ValueError(f"input_shape must be a tuple of positive ints with the batch first, e.g. (1, 64), got {input_shape!r}")
    layers, hooks = {}, []
    for name, layer in prunable_layers(model).items():
        hooks.append(layer.register_forward_hook(
            lambda mod, inp, out, name=name: layers.__setitem__(name, layers.get(name, 0) + _macs_of(mod, inp[0], out, nonzero_only))))
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        model(torch.zeros(shape, device=device), **forward_kwargs)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return layers if per_layer else sum(layers.values())


def saved_bytes(obj) -> int:
    """Bytes of ``torch.save(obj)``: a module is saved as its ``state_dict`` (for a masked model
    that is ``weight_orig`` *and* ``weight_mask``: masking makes the file larger, not smaller)."""
    buffer = io.BytesIO()
    torch.save(obj.state_dict() if isinstance(obj, nn.Module) else obj, buffer)
    return buffer.getbuffer().nbytes


@torch.no_grad()
def latency_ms(model: nn.Module, example: torch.Tensor, repeats: int = 50, warmup: int = 5) -> float:
    """Median wall-clock milliseconds of ``model(example)`` in eval mode without autograd, over
    ``repeats`` runs after ``warmup`` (the median resists the odd slow run). Time on an idle
    machine, with the thread count you will deploy with (``torch.set_num_threads``)."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    was_training = model.training
    model.eval()
    try:
        for _ in range(warmup):
            model(example)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(example)
            times.append(time.perf_counter() - start)
    finally:
        model.train(was_training)
    return 1000 * statistics.median(times)


def _interleaved(passes: dict, rounds: int, per_round: int, warmup: int) -> dict:
    """Median milliseconds of each of ``passes`` ({name: callable}), timed in interleaved rounds:
    each round times ``per_round`` calls of every pass in turn, so a slow spell of the machine
    hits them all alike."""
    if rounds < 1 or per_round < 1 or warmup < 0:
        raise ValueError(f"rounds and per_round must be >= 1 and warmup >= 0, got {rounds}, {per_round} and {warmup}")
    for one_pass in passes.values():
        for _ in range(warmup):
            one_pass()
    times = {name: [] for name in passes}
    for _ in range(rounds):
        for name, one_pass in passes.items():
            start = time.perf_counter()
            for _ in range(per_round):
                one_pass()
            times[name].append((time.perf_counter() - start) / per_round)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


@torch.no_grad()
def compare_latency(models: dict, example: torch.Tensor, rounds: int = 20, per_round: int = 10, warmup: int = 3) -> dict:
    """Median milliseconds per call of each of ``models`` ({name: module}) on ``example``, timed
    *interleaved*: each round times ``per_round`` calls of every model in turn, so a slow spell
    of the machine hits them all alike. Eval mode, no autograd; compare ratios, not absolutes."""
    modes = {name: m.training for name, m in models.items()}
    try:
        for m in models.values():
            m.eval()
        return _interleaved({name: (lambda m=m: m(example)) for name, m in models.items()}, rounds, per_round, warmup)
    finally:
        for name, m in models.items():
            m.train(modes[name])


def compare_train_latency(models: dict, example: torch.Tensor, rounds: int = 10, per_round: int = 1,
                          warmup: int = 2) -> dict:
    """Median milliseconds of one training pass of each of ``models`` ({name: module}) on
    ``example``: zero the gradients, forward, a scalar loss (the mean square of the output: the
    work of backward does not depend on which loss it is), backward. Timed interleaved, as
    ``compare_latency`` does, on deep copies in train mode: the originals (their BatchNorm
    statistics, their gradients, their mode) are left as they were. Compare ratios, not absolutes.

    A masked layer (``torch.nn.utils.prune``) trains at the cost of its dense layer plus the
    product with the mask, so a sparse model is not cheaper to train (chapter 9, §8).
    """
    copies = {name: copy.deepcopy(m).train() for name, m in models.items()}

    def one_pass(m: nn.Module) -> None:
        m.zero_grad(set_to_none=True)
        m(example).square().mean().backward()

    return _interleaved({name: (lambda m=m: one_pass(m)) for name, m in copies.items()}, rounds, per_round, warmup)
