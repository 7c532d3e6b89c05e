"""Which of the usual DCGAN training tips matter on the bundled MNIST? Each is flipped in turn, over seeds.

    python benchmarks/training_tips.py                     # 9 set-ups × 3 seeds × 1,000 steps (~20 min on 2 cores)
    python benchmarks/training_tips.py --seeds 1 --steps 20 --tips recipe "ReLU in D"   # a quick try
    python benchmarks/training_tips.py --json > benchmarks/results/training_tips.json

Every row is the course's recipe (``image_gans.VARIANTS["dcgan"]``) with one thing changed, for a
shorter run than the recipe's (1,000 G steps by default: the ablation has to fit 27 runs), scored
like ``image_gans.py`` on 1,000 samples. The tips are those of Radford et al. (2016), Salimans
et al. (2016) and the widely copied "ganhacks" list: data in [−1, 1] with a tanh output,
LeakyReLU in D, Adam with β1 = 0.5, BCE on logits, one-sided label smoothing, instance noise,
BatchNorm in D, an EMA of G's weights.

--json prints {SETUP: {"fid": [...], "kl": [...], "modes": [...], "seconds": [...]}} (one value per seed)
and {"fid_floor": F, "num_steps": S}.
"""
from __future__ import annotations

import dataclasses
import statistics
import sys

import torch

from _common import emit, parser
from gantutor.data import mnist
from gantutor.metrics import fid
from image_gans import N, VARIANTS, score, train

TIPS = {  # set-up -> what changes from the recipe
    "recipe": {},
    "[0, 1] + sigmoid": dict(output="sigmoid"),
    "ReLU in D": dict(d_slope=0.0),
    "Adam β1 = 0.9": dict(betas=(0.9, 0.999)),
    "sigmoid + BCE": dict(naive_bce=True),
    "label smoothing 0.9": dict(real_label=0.9),
    "instance noise 0.1": dict(instance_noise=0.1),
    "BatchNorm in D": dict(d_batch_norm=True),
    "EMA of G": dict(ema=0.999),
}


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--tips", nargs="+", choices=list(TIPS), default=list(TIPS))
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    train_set, test = mnist("train"), mnist("test")
    floor = fid(train_set.images[:N], test.images)
    result = {"fid_floor": round(floor, 3), "num_steps": args.steps}
    for name in args.tips:
        variant = dataclasses.replace(VARIANTS["dcgan"], num_steps=args.steps, **TIPS[name])
        runs = {"fid": [], "kl": [], "modes": [], "seconds": []}
        for seed in range(args.seeds):
            G, seconds = train(variant, seed)
            row, _, _ = score(G, test.images, floor, seed)
            for key in ("fid", "kl", "modes"):
                runs[key].append(round(row[key], 4))
            runs["seconds"].append(round(seconds, 1))
            print(f"{name} seed {seed}: FID {row['fid']:.1f} ({row['fid'] / floor:.2f}× floor), KL {row['kl']:.3f}, "
                  f"{row['modes']} classes, {seconds:.0f} s", file=sys.stderr, flush=True)
        result[name] = runs
    base = result.get("recipe")

    def cell(values, ref, scale=1.0, digits=2):
        mean = statistics.mean(values) * scale
        text = f"{mean:.{digits}f} ± {statistics.pstdev(values) * scale:.{digits}f}"
        return text + (f" ({mean - statistics.mean(ref) * scale:+.{digits}f})" if ref and ref is not values else "")

    rows = [[name, cell(result[name]["fid"], base and base["fid"], 1 / floor), cell(result[name]["kl"], base and base["kl"], digits=3),
             f"{statistics.mean(result[name]['modes']):.1f}", f"{statistics.mean(result[name]['seconds']):.0f}"]
            for name in args.tips]
    emit(result, ["set-up", "FID / floor (Δ vs recipe)", "KL (Δ)", "classes", "s/run"], rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
