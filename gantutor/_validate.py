"""Argument checks shared by the modules: each raises a ValueError/TypeError naming the argument."""
from __future__ import annotations

import torch


def positive_int(value, name: str) -> int:
    """Return `value` as an int, or raise if it is not an integer > 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive integer, got {value!r} ({type(value).__name__})")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def float_tensor(x, name: str) -> torch.Tensor:
    """Raise unless `x` is a floating-point tensor with at least one element."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
    return x


def same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """Raise if two tensors differ in shape (silent broadcasting hides real bugs)."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} has shape {tuple(a.shape)} but {name_b} has shape {tuple(b.shape)}; "
            "they must match (e.g. both (N,)): reshape one of them instead of relying on broadcasting"
        )


def batch_of(x: torch.Tensor, dim: int, name: str) -> torch.Tensor:
    """Raise unless `x` is a (B, dim) batch."""
    if x.dim() != 2 or x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (batch, {dim}), got {tuple(x.shape)}")
    return x


def non_negative(value, name: str) -> float:
    """Return `value` as a float, or raise if it is not a number >= 0 (a loss weight λ, say)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number >= 0, got {value!r} ({type(value).__name__})")
    if not value >= 0:  # also refuses NaN
        raise ValueError(f"{name} must be >= 0, got {value}")
    return float(value)


def train_args(num_steps, batch_size, lr, d_steps=1) -> None:
    """The settings every trainer takes: step and batch counts are positive integers, lr > 0."""
    positive_int(num_steps, "num_steps")
    positive_int(batch_size, "batch_size")
    positive_int(d_steps, "d_steps")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
