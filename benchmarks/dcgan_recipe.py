"""Chapter 4's recipe chosen by measurement: the non-saturating or the minimax G loss, with or without an EMA of G.

    python benchmarks/dcgan_recipe.py              # 2 losses x 3 seeds (~12 min on 2 cores)
    python benchmarks/dcgan_recipe.py --json       # benchmarks/results/dcgan_recipe.json is this

Each run is ``image_gans.py``'s recipe (``train.DCGAN_RECIPE``: batch 32, 4,500 steps, Adam 1e-3
decayed to 0, D without BatchNorm, with minibatch std) with one G loss. Beside G it keeps an
exponential moving average of G's weights (decay 0.999), so one run scores both "G" and "G's EMA".
Every generator draws N = 1,000 samples, scored against the 1,000 test digits in two feature
spaces of the course's classifier: its convolutional features (576-d, the default of
``metrics.fid``) and its 64-unit hidden layer. A recipe that wins in one space only has won
nothing. ``floor`` is the FID of 1,000 real training digits in the same space.

It also records what the saturation argument of chapter 1 is about: the minimax loss
log(1 − D(G(z))) gives G the gradient −D(G(z)) per unit of D's logit, which vanishes when D is
confident that the fakes are fake (D(G(z)) → 0). ``d_fake`` is the mean D(G(z)) over the run,
``d_fake_min`` its lowest 100-step average, ``saturated`` the share of steps with mean D(G(z)) < 0.05.

--json prints {CONFIG: {SEED: {"fid_conv", "floor_conv", "fid_hidden", "floor_hidden", "kl", "modes",
"d_fake", "d_fake_min", "saturated"}}} with CONFIG in nonsaturating, nonsaturating_ema,
minimax, minimax_ema, and "mean": {CONFIG: the same fields averaged over seeds}; --out DIR saves each
generator's 1,000 scored samples as DIR/<CONFIG>_seed<SEED>.npy (1000 × 1 × 28 × 28 in [−1, 1]).
"""
from __future__ import annotations

import sys

import numpy as np
import torch

from _common import emit, parser
from gantutor.data import mnist
from gantutor.metrics import class_histogram, fid, kl_to_uniform
from gantutor.train import EMA, History, generate
from image_gans import N, VARIANTS, train

LOSSES = {"nonsaturating": "non-saturating", "minimax": "minimax"}  # row name -> gantutor.losses.LOSSES name
EMA_DECAY = 0.999
SPACES = ("conv", "hidden")


class _EMAOfG:
    """An EMA of G started at G's first step (the network is built inside ``image_gans.train``)."""

    def __init__(self, decay: float):
        self.decay, self.ema = decay, None

    def __call__(self, step, G, D, history) -> None:
        if self.ema is None:
            self.ema = EMA(G, self.decay)
        self.ema(step, G, D, history)


def saturation(history: History) -> dict:
    """How close D(G(z)) came to 0 during the run (the minimax loss's gradient is −D(G(z)) per logit)."""
    d_fake = np.asarray(history.d_fake)
    windows = d_fake[: len(d_fake) // 100 * 100].reshape(-1, 100).mean(axis=1)
    return {"d_fake": float(d_fake.mean()), "d_fake_min": float(windows.min()), "saturated": float((d_fake < 0.05).mean())}


def scored(G, test, floors: dict, seed: int, save=None) -> dict:
    torch.manual_seed(seed + 10_000)  # the same z as image_gans.score
    samples = generate(G, N)
    if save:
        np.save(save, samples.numpy().astype(np.float32))
    row = {}
    for space in SPACES:
        row[f"fid_{space}"], row[f"floor_{space}"] = fid(samples, test, layer=space), floors[space]
    hist = class_histogram(samples)
    return row | {"kl": kl_to_uniform(hist), "modes": int((hist >= 0.01 * N).sum())}


def run(loss: str, seed: int, test, floors: dict, out=None) -> dict:
    variant = VARIANTS["dcgan"]
    variant = type(variant)(**{**vars(variant), "loss": LOSSES[loss]})
    ema, history = _EMAOfG(EMA_DECAY), History()
    G, _ = train(variant, seed, callbacks=[ema], history=history)  # the recipe's time is image_gans.py's to measure
    extra = saturation(history)
    generators = {loss: G, f"{loss}_ema": ema.ema.model}
    return {name: scored(g, test, floors, seed, out and out / f"{name}_seed{seed}.npy") | extra for name, g in generators.items()}


def _rounded(row: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3, help="seeds 0 .. SEEDS-1")
    p.add_argument("--steps", type=int, default=None, help="override the number of G steps (for a quick try)")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    if args.steps:
        VARIANTS["dcgan"].num_steps = args.steps
    train_set, test = mnist("train"), mnist("test")
    floors = {space: fid(train_set.images[:N], test.images, layer=space) for space in SPACES}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    result = {}
    for seed in range(args.seeds):
        for loss in LOSSES:
            for config, row in run(loss, seed, test.images, floors, args.out).items():
                result.setdefault(config, {})[str(seed)] = _rounded(row)
                print(f"{config} seed {seed}: {_rounded(row)}", file=sys.stderr, flush=True)
    result["mean"] = {config: _rounded({k: float(np.mean([r[k] for r in runs.values()])) for k in next(iter(runs.values()))})
                      for config, runs in result.items()}
    rows = [[config, seed, f"{r['fid_conv'] / r['floor_conv']:.2f}", f"{r['fid_hidden'] / r['floor_hidden']:.2f}",
             f"{r['kl']:.3f}", r["modes"], f"{r['d_fake']:.2f}", f"{r['d_fake_min']:.2f}", f"{r['saturated']:.1%}"]
            for config, runs in result.items() for seed, r in runs.items()]
    emit(result, ["G", "seed", "FID/floor conv", "FID/floor hidden", "KL", "classes", "D(G(z))", "lowest 100-step",
                  "steps < 0.05"], rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
