"""Metrics for generated samples.

Mode coverage on 2D mixtures follows VEEGAN (Srivastava et al., 2017, §5.1) and PacGAN (Lin et
al., 2018, Table 1), which evaluate 2,500 generated samples:

* a sample is *high quality* when it lies within 3 standard deviations of its nearest mode
  centre (distance / std < 3);
* a mode is *captured* when at least one high-quality sample has it as its nearest mode.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from gantutor._validate import batch_of, float_tensor

PACGAN_NUM_SAMPLES = 2500


@dataclass(frozen=True)
class ModeCoverage:
    modes: int  # modes captured
    num_modes: int  # modes in the mixture
    high_quality: float  # fraction of samples within 3 std of their nearest mode, in [0, 1]
    counts: tuple  # high-quality samples per mode
    nearest: tuple = ()  # all samples per nearest mode, high quality or not: where G puts its mass

    def __str__(self) -> str:
        return f"{self.modes}/{self.num_modes} modes, {100 * self.high_quality:.1f}% high-quality samples"


def mode_coverage(samples: torch.Tensor, mixture, threshold: float = 3.0) -> ModeCoverage:
    """Modes captured and the fraction of high-quality samples (use 2,500 samples as the papers do)."""
    float_tensor(torch.as_tensor(samples), "samples")
    x = batch_of(torch.as_tensor(samples, dtype=torch.float32).cpu(), mixture.means.shape[1], "samples")
    if not torch.isfinite(x).all():
        raise ValueError("samples contain NaN or inf: the generator diverged")
    dist = torch.cdist(x, mixture.means)  # (n, K)
    nearest_dist, nearest = dist.min(dim=1)  # (n,), (n,)
    good = nearest_dist / mixture.std < threshold  # (n,)
    counts = torch.bincount(nearest[good], minlength=mixture.num_modes)  # (K,)
    return ModeCoverage(
        modes=int((counts > 0).sum()),
        num_modes=mixture.num_modes,
        high_quality=float(good.float().mean()),
        counts=tuple(counts.tolist()),
        nearest=tuple(torch.bincount(nearest, minlength=mixture.num_modes).tolist()),
    )


class CoverageTracker:
    """A ``train_gan`` callback: mode coverage of ``n`` samples every ``every`` steps.

    ``records`` holds dicts with the step, the modes captured, the high-quality fraction, the
    high-quality samples per mode (``counts``), all samples per nearest mode (``nearest``) and the
    mean D(G(z)) of the last ``every`` steps.
    """

    def __init__(self, mixture, every: int = 500, n: int = PACGAN_NUM_SAMPLES):
        self.mixture, self.every, self.n = mixture, every, n
        self.records = []

    def __call__(self, step, G, D, history) -> None:
        if (step + 1) % self.every:
            return
        from gantutor.train import generate

        cov = mode_coverage(generate(G, self.n), self.mixture)
        recent = history.d_fake[-self.every:]
        self.records.append({"step": step + 1, "modes": cov.modes, "high_quality": cov.high_quality, "counts": cov.counts, "nearest": cov.nearest,
                             "mean_d_fake": sum(recent) / len(recent)})
