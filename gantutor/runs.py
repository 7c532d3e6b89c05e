"""Run plumbing: seeds, the device, optimisers and schedules, checkpoints.

``seed_everything`` and ``default_device`` set a run up; ``adam`` (the GAN default β1 = 0.5) and
``linear_decay`` are what every trainer of the course optimises with; ``save_checkpoint`` /
``load_checkpoint`` write and read weights safely (tensors only, an atomic rename).
"""
from __future__ import annotations

import os
import pickle
import random
from pathlib import Path

import numpy as np
import torch


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA): same seed, same numbers on the same machine."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def default_device() -> torch.device:
    """CUDA when a GPU is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def adam(module, lr: float, betas=(0.5, 0.999)) -> torch.optim.Adam:
    """Adam with the GAN default β1 = 0.5 (Radford et al., 2016)."""
    return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, foreach=True)


def linear_decay(opt, num_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A schedule that takes ``opt``'s learning rate linearly from its value to 0 over ``num_steps``."""
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 - t / num_steps)


CHECKPOINT_FORMAT = "gantutor-checkpoint-1"


def save_checkpoint(path, step: int | None = None, **objects) -> None:
    """Save the ``state_dict`` of each named module or optimiser, e.g.
    ``save_checkpoint("run.pt", step=1000, G=G, D=D, opt_G=opt_G)``.

    Only tensors, numbers and strings are written, so ``load_checkpoint`` can read the file with
    ``torch.load(weights_only=True)`` (no code runs on load). The file is written to a temporary
    name and then renamed: an interrupted save never destroys an earlier checkpoint.
    """
    if not objects:
        raise ValueError("name at least one module or optimiser to save, e.g. save_checkpoint(path, G=G)")
    for name, obj in objects.items():
        if not hasattr(obj, "state_dict"):
            raise TypeError(f"{name} must be a module or an optimiser (something with state_dict()), got {type(obj).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, "step": step, "state": {k: v.state_dict() for k, v in objects.items()}}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path, **objects) -> dict:
    """Load a ``save_checkpoint`` file into the named modules / optimisers; returns {"step": ...}.

    Read with ``weights_only=True``: a file that holds code or other pickled objects is refused
    with a ValueError rather than executed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        raise ValueError(f"{path} is not a weights file that can be loaded safely "
                         f"(weights_only=True refused it: {str(err).splitlines()[0][:200]})") from err
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a gantutor checkpoint (made by save_checkpoint)")
    missing = sorted(set(objects) - set(data["state"]))
    if missing:
        raise ValueError(f"{path} holds {sorted(data['state'])}, not {missing}")
    for name, obj in objects.items():
        obj.load_state_dict(data["state"][name])
    return {"step": data["step"]}

