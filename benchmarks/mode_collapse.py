"""Mode collapse on the 2D mixtures: a baseline set up to collapse, a tuned baseline, and remedies.

    python benchmarks/mode_collapse.py                      # the full table: all methods × 5 seeds × ring and grid
    python benchmarks/mode_collapse.py --datasets grid --methods gan pacgan4 --seeds 2
    python benchmarks/mode_collapse.py --json --out runs/mode_collapse

Protocol of VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al., 2018): 2,500 samples, a
sample is high quality within 3 std of its nearest mode, a mode is captured when one high-quality
sample is nearest to it. Every method gets the same number of generator steps on a dataset.
--json prints {"ring": {METHOD: {"modes": [...], "high_quality": [...], "seconds": [...]}}, "grid": {...}};
--out DIR saves each run's samples as DIR/<dataset>/<method>/seed<k>.npy (2500 × 2).
"""
from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass, field

import numpy as np
import torch

from _common import emit, parser, train_and_score
from gantutor import losses, seed_everything
from gantutor.data import mixture
from gantutor.models import MLPDiscriminator, MLPGenerator


@dataclass
class Method:
    """One row of the table: how G and D are built and what train_gan is told."""

    latent_dim: int = 2
    width: int = 64
    pack: int = 1
    minibatch_std: bool = False
    train: dict = field(default_factory=dict)


WGAN_GP = dict(d_loss=losses.wasserstein_critic_loss, g_loss=losses.wasserstein_generator_loss, betas=(0.0, 0.9),
               d_penalty=lambda D, real, fake: 10 * losses.gradient_penalty(D, real, fake), d_steps=5)
METHODS = {
    # the usual textbook set-up: latent size 16, no decay — collapses on the grid (DESIGN.md's measurement)
    "gan_collapse": Method(latent_dim=16, train=dict(lr_decay=False)),
    "gan": Method(),
    "unrolled5": Method(train=dict(unroll_steps=5)),
    "pacgan2": Method(pack=2),
    "pacgan4": Method(pack=4),
    "minibatch_std": Method(minibatch_std=True),
    "wgan_gp": Method(train=WGAN_GP),
}
DATASETS = {"ring": dict(num_steps=3000, width=64), "grid": dict(num_steps=3000, width=64)}


def run(dataset: str, method: Method, seed: int):
    seed_everything(seed)
    data = mixture(dataset)
    width = DATASETS[dataset]["width"]
    G = MLPGenerator(method.latent_dim, hidden=(width,) * 3)
    D = MLPDiscriminator(hidden=(width,) * 3, pack=method.pack, minibatch_std=method.minibatch_std)
    options = dict(num_steps=DATASETS[dataset]["num_steps"], batch_size=512, lr=1e-3, lr_decay=True) | method.train
    return train_and_score(G, D, data, **options)


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    p.add_argument("--steps", type=int, default=None, help="override the number of generator steps")
    p.add_argument("--width", type=int, default=None, help="override the networks' width")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    for d in DATASETS.values():
        d["num_steps"] = args.steps or d["num_steps"]
        d["width"] = args.width or d["width"]
    result, rows = {}, []
    for dataset in args.datasets:
        result[dataset] = {}
        for name in args.methods:
            runs = {"modes": [], "high_quality": [], "seconds": []}
            for seed in range(args.seeds):
                cov, seconds, samples = run(dataset, METHODS[name], seed)
                runs["modes"].append(cov.modes)
                runs["high_quality"].append(round(cov.high_quality, 4))
                runs["seconds"].append(round(seconds, 1))
                print(f"{dataset} {name} seed {seed}: {cov} in {seconds:.1f} s", file=sys.stderr, flush=True)
                if args.out:
                    folder = args.out / dataset / name
                    folder.mkdir(parents=True, exist_ok=True)
                    np.save(folder / f"seed{seed}.npy", samples.numpy())
            result[dataset][name] = runs
            m, h = runs["modes"], [100 * v for v in runs["high_quality"]]
            rows.append([dataset, name, f"{statistics.mean(m):.1f} ± {statistics.pstdev(m):.1f}",
                         f"{statistics.mean(h):.1f} ± {statistics.pstdev(h):.1f}", f"{statistics.mean(runs['seconds']):.0f}"])
    emit(result, ["data", "method", "modes", "high-quality %", "s/run"], rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
