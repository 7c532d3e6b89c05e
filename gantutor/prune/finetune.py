"""Recovering quality after pruning: distillation of a pruned generator from the dense one.

A generator is a deterministic map z → x, so the dense generator (the teacher) can supervise a
pruned copy (the student) directly: for the same z, make the student's image match the teacher's,

    L = E_z |G_student(z) − G_teacher(z)|₁,

with no discriminator and no real data. GAN Compression (Li et al., CVPR 2020) distils this
way (plus intermediate features and a GAN loss); Aguinaldo et al. (2019) compress GANs by
distillation alone. ``GradualPruning`` plugs in as a callback, to prune while distilling.
"""
from __future__ import annotations


import torch
from torch import nn

from gantutor._validate import positive_int
from gantutor.runs import adam
from gantutor.sampling import sample_noise
from gantutor.train import History, prepare, run_loop


DistillHistory = History.with_keys("DistillHistory", "distill_loss", module=__name__,
                                   doc="``History`` with the distillation loss, E|G_student(z) − G_teacher(z)|.")


def distill(student: nn.Module, teacher: nn.Module, *, num_steps: int = 2000, batch_size: int = 64, lr: float = 1e-3,
            lr_decay: bool = True, callbacks=(), progress: bool = True, device=None) -> DistillHistory:
    """Train ``student`` to draw, for every z, the image ``teacher`` draws (L1 loss); the teacher
    is frozen in eval mode. Each callback is called as ``fn(step, student, None, history)``
    (``GradualPruning`` prunes the student this way). Returns the ``DistillHistory`` of ``distill_loss``."""
    positive_int(num_steps, "num_steps")
    positive_int(batch_size, "batch_size")
    if getattr(student, "latent_dim", None) != getattr(teacher, "latent_dim", None):
        raise ValueError(f"student and teacher must share the latent size, got {getattr(student, 'latent_dim', None)} "
                         f"and {getattr(teacher, 'latent_dim', None)}")
    if getattr(teacher, "num_classes", None):
        raise TypeError("distill supports unconditional generators")
    device = prepare(device, (student,), (teacher,))
    opt = adam(student, lr)

    def step():
        z = sample_noise(batch_size, teacher.latent_dim, device)
        with torch.no_grad():
            target = teacher(z)  # (B, C, H, W)
        loss = (student(z) - target).abs().mean()  # L1 to the teacher's image, same z
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"distill_loss": loss.item()}

    history = run_loop(step, num_steps=num_steps, optimisers=(opt,), history=DistillHistory(), lr_decay=lr_decay,
                       callbacks=callbacks, models=(student, None), progress=progress, desc="distilling")
    student.eval()
    return history
