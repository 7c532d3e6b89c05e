"""Mode collapse on the 2D mixtures: a baseline set up to collapse, a tuned baseline, and remedies.

    python benchmarks/mode_collapse.py                      # the full table: all methods × 5 seeds × ring and grid
    python benchmarks/mode_collapse.py --datasets grid --methods gan pacgan4 --seeds 2
    python benchmarks/mode_collapse.py --json --out runs/mode_collapse

Protocol of VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al., 2018): 2,500 samples, a
sample is high quality within 3 std of its nearest mode, a mode is captured when one high-quality
sample is nearest to it. Every method gets the same number of generator steps on a dataset.

Each trained generator is scored twice: its own 2,500 samples, and 2,500 samples after
discriminator rejection sampling (DRS, Azadi et al., 2019): a fresh D is fitted to the final G
(``drs_steps`` steps, lr 3e-3 decayed to 0) and ``train.rejection_sample`` keeps each sample with
probability exp(logit D(x) − max logit). Its cost is reported apart from training.

Budget cuts, all labelled: the unrolled GAN looks 3 steps ahead (Metz et al. use 5–10); WGAN-GP
takes 3 critic steps per G step (Gulrajani et al. use 5).
--json prints {"ring": {METHOD: {"modes": [...], "high_quality": [...], "seconds": [...],
"modes_drs": [...], "high_quality_drs": [...], "acceptance_drs": [...], "seconds_drs": [...]}}, "grid": {...}};
--out DIR saves each run's samples as DIR/<dataset>/<method>/seed<k>.npy (2500 × 2).
"""
from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from _common import emit, parser, train_and_score
from gantutor import seed_everything
from gantutor.data import mixture
from gantutor.metrics import mode_coverage
from gantutor.models import MLPDiscriminator, MLPGenerator
from gantutor.train import fit_discriminator, generate, rejection_sample


@dataclass
class Method:
    """One row of the table: how G and D are built and what train_gan is told."""

    latent_dim: int = 2
    width: int = 64
    pack: int = 1
    minibatch_std: bool = False
    train: dict = field(default_factory=dict)


WGAN_GP = dict(loss="wasserstein-gp", betas=(0.0, 0.9), d_steps=3)
METHODS = {
    # the usual textbook set-up: latent size 16, no decay — collapses on the grid (DESIGN.md's measurement)
    "gan_collapse": Method(latent_dim=16, train=dict(lr_decay=False)),
    "gan": Method(),
    "unrolled3": Method(train=dict(unroll_steps=3)),
    "pacgan2": Method(pack=2),
    "pacgan4": Method(pack=4),
    "minibatch_std": Method(minibatch_std=True),
    "wgan_gp": Method(train=WGAN_GP),
}
DATASETS = {"ring": dict(num_steps=2000, width=64, drs_steps=2000), "grid": dict(num_steps=2000, width=128, drs_steps=4000)}


def run(dataset: str, method: Method, seed: int):
    seed_everything(seed)
    data = mixture(dataset)
    width = DATASETS[dataset]["width"]
    G = MLPGenerator(method.latent_dim, hidden=(width,) * 3)
    D = MLPDiscriminator(hidden=(width,) * 3, pack=method.pack, minibatch_std=method.minibatch_std)
    options = dict(num_steps=DATASETS[dataset]["num_steps"], batch_size=512, lr=1e-3, lr_decay=True) | method.train
    return (G,) + train_and_score(G, D, data, **options)


def run_drs(dataset: str, G, seed: int):
    """Fit a fresh (unpacked) D to the trained G, then score 2,500 rejection-sampled samples."""
    seed_everything(seed)
    data, width, steps = mixture(dataset), DATASETS[dataset]["width"], DATASETS[dataset]["drs_steps"]
    start = time.perf_counter()
    D = MLPDiscriminator(hidden=(width,) * 3)
    fit_discriminator(D, data.sample, lambda n: generate(G, n), num_steps=steps, batch_size=512, lr=3e-3, lr_decay=True)
    samples, acceptance = rejection_sample(G, D, 2500)
    return mode_coverage(samples, data), acceptance, time.perf_counter() - start


def _mean_std(values, scale=1, digits=1) -> str:
    values = [scale * v for v in values]
    return f"{statistics.mean(values):.{digits}f} ± {statistics.pstdev(values):.{digits}f}"


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    p.add_argument("--steps", type=int, default=None, help="override the number of generator steps")
    p.add_argument("--width", type=int, default=None, help="override the networks' width")
    p.add_argument("--drs-steps", type=int, default=None, help="override the steps of DRS's discriminator (0: no DRS)")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    for d in DATASETS.values():
        d["num_steps"] = args.steps or d["num_steps"]
        d["width"] = args.width or d["width"]
        d["drs_steps"] = d["drs_steps"] if args.drs_steps is None else args.drs_steps
    result, rows = {}, []
    for dataset in args.datasets:
        result[dataset] = {}
        for name in args.methods:
            runs = {key: [] for key in ("modes", "high_quality", "seconds")}
            for seed in range(args.seeds):
                G, cov, seconds, samples = run(dataset, METHODS[name], seed)
                runs["modes"].append(cov.modes)
                runs["high_quality"].append(round(cov.high_quality, 4))
                runs["seconds"].append(round(seconds, 1))
                line = f"{dataset} {name} seed {seed}: {cov} in {seconds:.1f} s"
                if DATASETS[dataset]["drs_steps"]:
                    cov_drs, acceptance, seconds_drs = run_drs(dataset, G, seed)
                    for key, value in (("modes_drs", cov_drs.modes), ("high_quality_drs", round(cov_drs.high_quality, 4)),
                                       ("acceptance_drs", round(acceptance, 5)), ("seconds_drs", round(seconds_drs, 1))):
                        runs.setdefault(key, []).append(value)
                    line += f"; with DRS {cov_drs} (kept {100 * acceptance:.2f} %) in {seconds_drs:.1f} s"
                print(line, file=sys.stderr, flush=True)
                if args.out:
                    folder = args.out / dataset / name
                    folder.mkdir(parents=True, exist_ok=True)
                    np.save(folder / f"seed{seed}.npy", samples.numpy())
            result[dataset][name] = runs
            rows.append([dataset, name, _mean_std(runs["modes"]), _mean_std(runs["high_quality"], 100),
                         f"{statistics.mean(runs['seconds']):.0f}"]
                        + ([_mean_std(runs["modes_drs"]), _mean_std(runs["high_quality_drs"], 100),
                            _mean_std(runs["acceptance_drs"], 100, 2)] if "modes_drs" in runs else ["-"] * 3))
    emit(result, ["data", "method", "modes", "high-quality %", "s/run", "modes (DRS)", "high-quality % (DRS)", "kept % (DRS)"],
         rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
