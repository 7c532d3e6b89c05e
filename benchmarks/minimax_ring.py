"""Chapter 1's recipe on the ring, over several seeds: modes captured, high-quality %, seconds.

    python benchmarks/minimax_ring.py [--seeds 5] [--json] [--out DIR]

The recipe: MLP G and D with 3 hidden layers of 64, latent size 2, non-saturating loss, Adam
(lr 1e-3 decayed linearly to 0, β1 = 0.5), batch 512, 3,000 steps; 2,500 samples scored with the
PacGAN protocol. With --out DIR it saves each seed's samples as DIR/seed<k>.npy (2500 × 2).
"""
from __future__ import annotations

import statistics
import sys

import numpy as np
import torch

from _common import emit, parser, train_and_score
from gantutor import seed_everything
from gantutor.data import mixture
from gantutor.models import MLPDiscriminator, MLPGenerator

RECIPE = dict(num_steps=3000, batch_size=512, lr=1e-3, lr_decay=True)


def run_seed(seed: int, make_optimizer=None, **changes):
    """Train the recipe (with ``changes``) on the ring; ``make_optimizer(params)`` replaces Adam."""
    seed_everything(seed)
    ring = mixture("ring")
    G, D = MLPGenerator(2, hidden=(64, 64, 64)), MLPDiscriminator(hidden=(64, 64, 64))
    options = RECIPE | changes
    if make_optimizer is not None:  # the optimisers carry their own learning rates; lr scales the decay
        options |= dict(lr=1.0, opt_G=make_optimizer(G.parameters()), opt_D=make_optimizer(D.parameters()))
    return train_and_score(G, D, ring, **options)


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    runs = {"modes": [], "high_quality": [], "seconds": []}
    for seed in range(args.seeds):
        cov, seconds, samples = run_seed(seed)
        runs["modes"].append(cov.modes)
        runs["high_quality"].append(round(cov.high_quality, 4))
        runs["seconds"].append(round(seconds, 1))
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            np.save(args.out / f"seed{seed}.npy", samples.numpy())
        print(f"seed {seed}: {cov} in {seconds:.1f} s", file=sys.stderr)
    rows = [[s, m, f"{100 * h:.1f}", t] for s, (m, h, t) in enumerate(zip(*runs.values()))]
    mean = lambda v: statistics.mean(v)
    sd = lambda v: statistics.pstdev(v)
    rows.append(["mean ± std", f"{mean(runs['modes']):.2f} ± {sd(runs['modes']):.2f}",
                 f"{100 * mean(runs['high_quality']):.1f} ± {100 * sd(runs['high_quality']):.1f}",
                 f"{mean(runs['seconds']):.1f}"])
    emit({"ring": runs, "recipe": RECIPE}, ["seed", "modes /8", "high-quality %", "seconds"], rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
