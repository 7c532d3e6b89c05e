"""SGD vs Adam on the ring GAN of chapter 2, over seeds: modes, high-quality %, divergences.

    python benchmarks/optimizers.py [--seeds 5] [--json] [--out DIR]

Chapter 1's networks, 1,000 steps at batch 256, learning rates decayed linearly to 0. A run whose
losses become NaN counts as diverged (0 modes, 0 %). --json prints {OPTIMIZER: {"modes": [...],
"high_quality": [...], "diverged": [...], "seconds": [...]}}; --out DIR saves the samples of
each run that did not diverge as DIR/<optimizer>/seed<k>.npy.
"""
from __future__ import annotations

import statistics
import sys

import numpy as np
import torch

from _common import emit, parser
from minimax_ring import run_seed

OPTIMIZERS = {
    "sgd_lr0.05": lambda p: torch.optim.SGD(p, lr=0.05),
    "sgd_lr0.2": lambda p: torch.optim.SGD(p, lr=0.2),
    "sgd_momentum0.9_lr0.02": lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9),
    "adam_beta0.5": lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.5, 0.999)),
    "adam_beta0.9": lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.9, 0.999)),
}


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    result, rows = {}, []
    for name, make in OPTIMIZERS.items():
        runs = {"modes": [], "high_quality": [], "diverged": [], "seconds": []}
        for seed in range(args.seeds):
            try:
                cov, seconds, samples = run_seed(seed, make, num_steps=1000, batch_size=256)
                modes, hq, diverged = cov.modes, round(cov.high_quality, 4), False
                if args.out:
                    (args.out / name).mkdir(parents=True, exist_ok=True)
                    np.save(args.out / name / f"seed{seed}.npy", samples.numpy())
            except FloatingPointError:
                modes, hq, diverged, seconds = 0, 0.0, True, float("nan")
            for key, value in zip(runs, (modes, hq, diverged, round(seconds, 1))):
                runs[key].append(value)
            print(f"{name} seed {seed}: {modes}/8 modes, {100 * hq:.1f}% {'(diverged)' if diverged else ''}", file=sys.stderr)
        result[name] = runs
        rows.append([name, f"{statistics.mean(runs['modes']):.1f} ± {statistics.pstdev(runs['modes']):.1f}",
                     f"{100 * statistics.mean(runs['high_quality']):.1f} ± {100 * statistics.pstdev(runs['high_quality']):.1f}",
                     f"{sum(runs['diverged'])}/{args.seeds}"])
    emit(result, ["optimizer", "modes /8", "high-quality %", "diverged"], rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
