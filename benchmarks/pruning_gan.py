"""Pruning *while the GAN trains* (chapter 7): G only or G and D, network slimming, a lottery ticket.

    python benchmarks/pruning_gan.py                 # 12 GAN trainings of chapter 4's recipe (~33 min on 2 cores)
    python benchmarks/pruning_gan.py --json
    python benchmarks/pruning_gan.py --only gradual  # G vs G and D alone, over 3 seeds (~17 min)

Every run is chapter 4's DCGAN recipe (``train.DCGAN_RECIPE``, seed 0, ``image_gans.build``),
scored like ``benchmarks/pruning.py`` (FID of 1,000 samples on the same z against the 1,000 test
digits):

* ``dense``: the recipe as it is, keeping a copy of G at step ``REWIND`` for the lottery ticket;
* ``gradual_G``: G pruned during training to ``pruning.UNSTRUCTURED`` (90.6 %) on Zhu & Gupta's
  cubic schedule from step 500 to 3,000, D left dense;
* ``gradual_GD``: the same, and D pruned to 90 % (layer by layer) on the same schedule; these two
  from ``--seeds`` seeds (3), paired by seed: ``fid`` is seed 0's, ``fid_seeds`` lists all;
* ``slimming``: the recipe with network slimming's L1 penalty λ·Σ|γ| on G's BatchNorm scales
  (Liu et al., 2017), then 75 % of the channels removed by |γ| (``criterion="bn"``); scored before
  and after distillation, beside the same removal by L1 norm from ``dense``;
* ``ticket``: the lottery ticket (Frankle & Carbin, 2019; rewinding, Frankle et al., 2020) by
  iterative magnitude pruning: ``IMP_ROUNDS`` rounds, each pruning the trained G a step further
  towards ``pruning.UNSTRUCTURED``, putting the kept weights back to their values at step
  ``REWIND`` and training again with the mask fixed; ``random_ticket``: the final mask on a
  fresh random G, the control.

--json prints {RUN: {"fid", "seconds", ...}}.
"""
from __future__ import annotations

import copy
import functools
import sys
import time
from dataclasses import replace

import torch

from _common import emit, parser
from gantutor import losses
from gantutor import prune as P
from gantutor import seed_everything
from gantutor.data import mnist
from gantutor.metrics import fid
from gantutor.train import DCGAN_RECIPE, generate, train_gan
from image_gans import Variant, build
from pruning import CHANNELS, DISTILL_STEPS, N, UNSTRUCTURED

REWIND = 500  # the lottery ticket's weights come from this step of the dense run
SCHEDULE = (1 / 9, 2 / 3)  # prune from step 500 to 3,000 of 4,500 (the same fractions of a shorter run)
IMP_ROUNDS = 3  # the lottery ticket's rounds of prune → rewind → retrain
SLIMMING = 1e-4  # λ of the L1 penalty on G's BatchNorm scales, per γ
GD_SEEDS = 3  # seeds of the G vs G-and-D comparison


def train(G=None, callbacks=(), g_loss=losses.generator_loss_nonsaturating, num_steps=None, seed=0):
    """Chapter 4's recipe from seed ``seed`` (G from ``build`` unless given); returns (G, D, seconds)."""
    seed_everything(seed)
    data = mnist("train")
    built, D = build(Variant())
    G = G if G is not None else built
    recipe = replace(DCGAN_RECIPE, num_steps=num_steps or DCGAN_RECIPE.num_steps)
    start = time.perf_counter()
    train_gan(G, D, data.sample, recipe, g_loss=g_loss, callbacks=list(callbacks), progress=False)
    return G.eval(), D, time.perf_counter() - start


class Snapshot:
    """A ``train_gan`` callback that keeps a copy of G after step ``step``."""

    def __init__(self, step: int):
        self.step, self.G = step, None

    def __call__(self, step, G, D, history):
        if step == self.step:
            self.G = copy.deepcopy(G)


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=None, help="override the GAN steps per run (for a quick try)")
    p.add_argument("--distill-steps", type=int, default=DISTILL_STEPS, help="distillation steps after channel removal")
    p.add_argument("--seeds", type=int, default=GD_SEEDS, help="seeds of the G vs G-and-D comparison (seed 0 is the main run)")
    p.add_argument("--only", choices=["gradual"], default=None, help="run only the G vs G-and-D comparison")
    args = p.parse_args(argv)
    if args.seeds < 1:
        p.error(f"--seeds must be at least 1, got {args.seeds}")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    test = mnist("test").images
    torch.manual_seed(10_000)
    z = torch.randn(N, 64)
    score = lambda G: fid(generate(G, N, z=z, device="cpu"), test)  # noqa: E731
    steps = args.steps or DCGAN_RECIPE.num_steps
    schedule = {"start_step": int(SCHEDULE[0] * steps), "end_step": int(SCHEDULE[1] * steps), "every": max(1, steps // 90)}
    result = {}

    if args.only != "gradual":
        snapshot = Snapshot(min(REWIND, steps // 9))
        dense, _, seconds = train(callbacks=[snapshot], num_steps=steps)
        result["dense"] = {"fid": score(dense), "seconds": seconds}

    for seed in range(args.seeds):  # seed 0 is the run the rest of the table compares with; the others give the spread
        runs = gradual_pair(seed, steps, schedule, score)
        for name, run in runs.items():
            if seed == 0:
                result[name] = run | {"fid_seeds": [run["fid"]]}
            else:
                result[name]["fid_seeds"].append(run["fid"])
    if args.only == "gradual":
        return finish(result, steps, schedule, None, args)

    G = initial_G()
    slim_loss = lambda logits_fake: losses.generator_loss_nonsaturating(logits_fake) + P.bn_l1_penalty(G, SLIMMING)  # noqa: E731
    G, _, seconds = train(G=G, g_loss=slim_loss, num_steps=steps)
    result["slimming"] = {"fid": score(G), "seconds": seconds} | after_channel_removal(G, "bn", score, args.distill_steps)
    result["dense"] |= after_channel_removal(dense, "l1", score, args.distill_steps)

    G, fids, sparsities, seconds = dense, [], [], 0.0
    for k in range(1, IMP_ROUNDS + 1):  # iterative magnitude pruning: prune the trained G a step further, rewind, retrain
        masked = P.magnitude_prune(copy.deepcopy(G), imp_target(k))
        ticket = P.apply_masks(copy.deepcopy(snapshot.G), P.masks_of(masked))  # the kept weights, as they were at step REWIND
        G, _, round_seconds = train(G=ticket, num_steps=steps)
        fids.append(score(G))
        sparsities.append(float(P.sparsity(G)))
        seconds += round_seconds
    result["ticket"] = {"fid": fids[-1], "seconds": seconds, "sparsity_G": float(P.sparsity(G)), "fid_rounds": fids,
                        "sparsity_rounds": sparsities}
    seed_everything(1)
    control = P.apply_masks(build(Variant())[0], P.masks_of(G))  # same mask, fresh random weights
    G, _, seconds = train(G=control, num_steps=steps)
    result["random_ticket"] = {"fid": score(G), "seconds": seconds, "sparsity_G": float(P.sparsity(G))}

    return finish(result, steps, schedule, snapshot.step, args)


def gradual_pair(seed: int, steps: int, schedule: dict, score) -> dict:
    """From seed ``seed``: G pruned during training to ``UNSTRUCTURED`` with D dense, and with D pruned to 90 % as well."""
    G, _, seconds = train(callbacks=[P.GradualPruning(UNSTRUCTURED, target="G", **schedule)], num_steps=steps, seed=seed)
    runs = {"gradual_G": {"fid": score(G), "seconds": seconds, "sparsity_G": float(P.sparsity(G))}}
    prune_D = P.GradualPruning(0.9, target="D", scope="layer", **schedule)
    G, D, seconds = train(callbacks=[P.GradualPruning(UNSTRUCTURED, target="G", **schedule), prune_D], num_steps=steps, seed=seed)
    runs["gradual_GD"] = {"fid": score(G), "seconds": seconds, "sparsity_G": float(P.sparsity(G)), "sparsity_D": float(P.sparsity(D))}
    return runs


def _rounded(value):
    return round(value, 4) if isinstance(value, float) else [_rounded(v) for v in value] if isinstance(value, list) else value


def finish(result: dict, steps: int, schedule: dict, rewind_step, args) -> int:
    """Round, add the settings, and print the table (or the JSON)."""
    result = {k: {m: _rounded(v) for m, v in r.items()} for k, r in result.items()}
    result["settings"] = {"num_steps": steps, "schedule": schedule, "rewind_step": rewind_step, "slimming": SLIMMING,
                          "channels_removed": CHANNELS, "distill_steps": args.distill_steps, "gd_seeds": args.seeds}
    dense_fid = result["dense"]["fid"] if "dense" in result else float("nan")
    rows = [[name, f"{r['fid']:.1f}", f"{r['fid'] / dense_fid:.3f}", f"{r.get('sparsity_G', 0):.1%}",
             f"{r.get('sparsity_D', 0):.1%}", f"{r['fid_channels_removed']:.0f}" if "fid_channels_removed" in r else "-",
             f"{r['fid_channels_distilled']:.1f}" if "fid_channels_distilled" in r else "-", f"{r['seconds']:.0f}"]
            for name, r in result.items() if "fid" in r]
    emit(result, ["run", "FID", "× dense", "G sparse", "D sparse", "75 % channels cut", "+ distilled", "s"], rows, args.json)
    return 0


def imp_target(k: int) -> dict:
    """Round k's per-layer sparsities: the same fraction of what is left goes each round, 1 − (1 − s)^(k / rounds)."""
    return {name: 1 - (1 - s) ** (k / IMP_ROUNDS) for name, s in UNSTRUCTURED.items()}


def initial_G():
    """G exactly as ``train`` would build it from seed 0 (to hand it to a loss before training)."""
    seed_everything(0)
    mnist("train")
    return build(Variant())[0]


def after_channel_removal(G, criterion: str, score, distill_steps: int) -> dict:
    """FID after removing ``CHANNELS`` of G's channels by ``criterion``, before and after distillation."""
    small = P.prune_channels(G, CHANNELS, criterion=criterion)
    before = score(small)
    seed_everything(0)
    P.distill(small, G, num_steps=distill_steps, progress=False)
    return {"fid_channels_removed": before, "fid_channels_distilled": score(small)}


if __name__ == "__main__":
    sys.exit(main())
