"""Code from the course's source documents (``shared/seeds``), quoted, for the chapters that run it.

The course grew from Chinese articles that contain errors; where a chapter demonstrates one by
running the article's own code, the code lives here, once, as the article wrote it (only syntax
repaired, and said where). It is wrong on purpose: never use it for anything but the demonstration.
``source(fn)`` gives the quoted code, for a notebook to show.
"""
from __future__ import annotations

import inspect

import torch
from torch import nn


def article_pruning(model: nn.Module, threshold: float) -> None:
    """``001``'s pruning function, line for line, with its syntax error ("weight norms") repaired.
    Chapters 7 (§4) and 9 (§7) measure its bugs: the mask is inverted (it zeroes the rows whose
    norm is *above* the threshold), no mask is kept, and the threshold is absolute."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            weight_norms = torch.norm(module.weight, p=2, dim=1)  # one norm per output row
            mask = weight_norms > threshold
            module.weight.data[mask] = 0


def source(fn) -> str:
    """The quoted code of ``fn``: its definition and body, without the docstring."""
    text = inspect.getsource(fn)
    doc = fn.__doc__ and text.find('"""')
    if not doc:
        return text
    end = text.index('"""', doc + 3) + 3
    return text[:doc].rstrip(" ") + text[end:].lstrip("\n")
