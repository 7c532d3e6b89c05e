"""pix2pix vs CycleGAN on the same task (outline → digit, 32×32), with their ablations, over seeds.

    python benchmarks/translation.py                                    # every method, 3 seeds or 1 (~15 min on 2 cores)
    python benchmarks/translation.py --methods pix2pix cyclegan --seeds 1 --steps 50   # a quick try
    python benchmarks/translation.py --json --out runs/translation --checkpoints gantutor/weights

Task ``edges2digits`` (``gantutor.data.translation``): A is the outline of a bundled MNIST digit,
B the digit itself, padded to 32×32. pix2pix learns from the 4,000 aligned training pairs;
CycleGAN never sees a pair: its A images come from the first half of the training set and its
B images from the second half. Every method translates the 1,000 test outlines and is scored
against their true digits:

* ``l1``: mean |G(a) − b| per pixel (images in [−1, 1]); ``ssim``: mean SSIM (Wang et al., 2004);
* ``class_kept``: how often the course's MNIST classifier reads the test digit's own label in the
  translation (centre 28×28 crop);
* ``fid``: Fréchet distance of the translations to the 1,000 real test digits in the classifier's
  features, beside ``fid_floor`` (1,000 real training digits against the same test digits);
* ``seconds_per_step`` and ``seconds``: training time (scoring excluded).

``do_nothing`` is the baseline of returning the outline unchanged (no training).

--json prints {METHOD: {"l1": [per seed], "ssim": [...], "class_kept": [...], "fid": [...],
"seconds_per_step": [...], "seconds": [...]}} and {"fid_floor": F, "num_steps": {METHOD: S}};
--out DIR saves DIR/test_A.npy, DIR/test_B.npy (1000 × 1 × 32 × 32 in [−1, 1]),
DIR/test_labels.npy and, per method, the seed-0 translations of test_A as DIR/<method>.npy;
--checkpoints DIR saves each method's seed-0 generator A → B in float16 as DIR/<method>_G.pt
(``gantutor.train.save_checkpoint``; CycleGAN's also hold ``G_ba``, B → A), which notebook 06 loads.
"""
from __future__ import annotations

import copy
import dataclasses
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from _common import emit, parser
from gantutor import seed_everything
from gantutor.data import center_crop, translation
from gantutor.metrics import fid
from gantutor.models import PatchDiscriminator, UNetGenerator
from gantutor.train import save_checkpoint
from gantutor.translation import train_cyclegan, train_pix2pix, translate, translation_scores

N = 1000  # test pairs, all of them


@dataclass
class Method:
    """One row: pix2pix or CycleGAN, and its loss weights."""

    model: str  # "pix2pix" or "cyclegan"
    num_steps: int
    lr: float = 1e-3  # 5× the papers' 2e-4, decayed to 0: short runs (pix2pix, 800 steps: L1 0.046 vs 0.084 at 2e-4)
    lambda_l1: float = 100.0
    gan: bool = True
    lambda_cyc: float = 10.0
    lambda_id: float = 5.0
    g_channels: int = 16  # the U-Net's base channels
    batch_size: int = 16
    skips: bool = True  # False: the U-Net without its skips, an encoder-decoder through a 2×2 bottleneck
    seeds: int | None = None  # at most this many seeds (None: --seeds); the ablations run one, to fit the 15 minutes


PIX2PIX_STEPS, CYCLEGAN_STEPS = 800, 700  # the whole table (8 methods, 3 seeds or 1) must fit 15 min on 2 cores
METHODS = {
    "pix2pix": Method("pix2pix", PIX2PIX_STEPS),
    "pix2pix_l1_only": Method("pix2pix", PIX2PIX_STEPS, gan=False),
    "pix2pix_gan_only": Method("pix2pix", PIX2PIX_STEPS, lambda_l1=0.0),
    "cyclegan": Method("cyclegan", CYCLEGAN_STEPS),
    "cyclegan_no_cycle": Method("cyclegan", CYCLEGAN_STEPS, lambda_cyc=0.0, seeds=1),
    "cyclegan_no_identity": Method("cyclegan", CYCLEGAN_STEPS, lambda_id=0.0, seeds=1),
    # without the U-Net's skips nothing carries the outline's layout to the output but the losses:
    # there the cycle is what keeps the digit (issue 7: one seed kept 71.9 % with it, 11.9 % without)
    "cyclegan_no_skips": Method("cyclegan", CYCLEGAN_STEPS, skips=False),
    "cyclegan_no_skips_no_cycle": Method("cyclegan", CYCLEGAN_STEPS, skips=False, lambda_cyc=0.0),
}
D_CHANNELS, D_LAYERS = 16, 2  # sized for the CPU: see the docstring's timings


def generator(method: Method) -> UNetGenerator:
    return UNetGenerator(in_channels=1, out_channels=1, base_channels=method.g_channels, skips=method.skips)


def train(method: Method, seed: int = 0, progress: bool = False):
    """Train one method; returns (its generator A → B, seconds of training, {"G_ba": B → A} for CycleGAN)."""
    seed_everything(seed)
    data = translation("train")
    start = time.perf_counter()
    if method.model == "pix2pix":
        G, D = generator(method), PatchDiscriminator(2, base_channels=D_CHANNELS, n_layers=D_LAYERS)
        train_pix2pix(G, D, data, num_steps=method.num_steps, batch_size=method.batch_size, lr=method.lr,
                      lambda_l1=method.lambda_l1, gan=method.gan, lr_decay=True, progress=progress)
    else:
        G, G_ba = generator(method), generator(method)
        D_a, D_b = (PatchDiscriminator(1, base_channels=D_CHANNELS, n_layers=D_LAYERS) for _ in range(2))
        train_cyclegan(G, G_ba, D_a, D_b, data, num_steps=method.num_steps, batch_size=method.batch_size, lr=method.lr,
                       lambda_cyc=method.lambda_cyc, lambda_id=method.lambda_id, lr_decay=True, progress=progress)
        return G, time.perf_counter() - start, {"G_ba": G_ba}  # G_ba: notebook 06 translates back with it
    return G, time.perf_counter() - start, {}


def score(translated: torch.Tensor, test, reference: torch.Tensor, fid_floor: float) -> dict:
    """``translation_scores`` of the test translations, with the FID floor beside the FID."""
    return translation_scores(translated, test, reference) | {"fid_floor": fid_floor}


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=None, help="override the number of steps (for a quick try)")
    p.add_argument("--lr", type=float, default=None, help="override the learning rate")
    p.add_argument("--g-channels", type=int, default=None, help="override the U-Net's base channels")
    p.add_argument("--checkpoints", type=str, default=None, help="save each method's seed-0 generator in this folder")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    train_set, test = translation("train"), translation("test")
    reference = center_crop(train_set.b[:N])  # (N, 1, 28, 28): real digits that no method translates
    floor = fid(center_crop(test.b), reference)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, array in (("test_A", test.a), ("test_B", test.b), ("test_labels", test.labels)):
            np.save(args.out / f"{name}.npy", array.numpy())
    result = {"do_nothing": {k: [v] for k, v in score(test.a, test, reference, floor).items() if k != "fid_floor"}}
    steps = {}
    for name in args.methods:
        method = METHODS[name]
        method = dataclasses.replace(method, num_steps=args.steps or method.num_steps, lr=args.lr or method.lr,
                                     g_channels=args.g_channels or method.g_channels)
        steps[name] = method.num_steps
        runs = {}
        for seed in range(min(method.seeds or args.seeds, args.seeds)):
            G, seconds, others = train(method, seed)
            translated = translate(G, test.a)
            row = score(translated, test, reference, floor) | {"seconds_per_step": seconds / method.num_steps, "seconds": seconds}
            for k, v in row.items():
                if k != "fid_floor":
                    runs.setdefault(k, []).append(round(v, 4))
            print(f"{name} seed {seed}: " + ", ".join(f"{k} {v:.4g}" for k, v in row.items()), file=sys.stderr, flush=True)
            if seed == 0 and args.out:
                np.save(args.out / f"{name}.npy", translated.numpy().astype(np.float32))
            if seed == 0 and args.checkpoints:
                Path(args.checkpoints).mkdir(parents=True, exist_ok=True)
                models = {k: copy.deepcopy(m).half() for k, m in ({"G": G} | others).items()}  # float16: half the file
                save_checkpoint(Path(args.checkpoints) / f"{name}_G.pt", step=method.num_steps, **models)
        result[name] = runs
    result |= {"fid_floor": round(floor, 4), "num_steps": steps}
    rows = [[name, f"{statistics.mean(r['l1']):.3f}", f"{statistics.mean(r['ssim']):.3f}",
             f"{statistics.mean(r['class_kept']):.1%}", f"{min(r['class_kept']):.1%}",
             f"{statistics.mean(r['fid']) / floor:.2f}",
             f"{statistics.mean(r['seconds_per_step']) * 1000:.0f}" if "seconds" in r else "-",
             f"{statistics.mean(r['seconds']):.0f}" if "seconds" in r else "-"]
            for name, r in result.items() if isinstance(r, dict) and "l1" in r]
    emit(result, ["method", "L1", "SSIM", "class kept", "(worst seed)", f"FID × floor ({floor:.1f})", "ms/step", "s"],
         rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
