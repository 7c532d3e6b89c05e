"""GANs on the bundled MNIST: the course's DCGAN recipe, the loss zoo and a conditional GAN, scored honestly.

    python benchmarks/image_gans.py                          # every variant: the table (~17 min on 2 cores)
    python benchmarks/image_gans.py --variants dcgan cgan    # some of them
    python benchmarks/image_gans.py --json --out runs/images --checkpoints gantutor/weights

Every variant trains the same DCGAN networks (``gantutor.models``) for the same number of G
steps on the 4,000 bundled training digits, and is scored on N = 1,000 samples against the
1,000 test digits in the classifier's convolutional features:

* ``fid`` and, beside it, ``fid_floor``: the FID of 1,000 *real training* digits against the same
  test digits — what a perfect generator would score at this n (FID is biased upwards at small n);
* ``kid`` (mean over subsets of 500), ``precision`` / ``recall`` (k-NN manifolds, k = 3);
* ``modes``: the classes the classifier finds in at least 1 % of the samples; ``kl``:
  KL(class histogram ‖ uniform);
* ``seconds``: wall-clock training time (scoring excluded);
* ``cgan`` also ``class_accuracy``: how often the classifier reads the class that was asked for.

--json prints {VARIANT: {"fid", "fid_floor", "kid", "modes", "kl", "precision", "recall", "seconds"}};
--out DIR saves DIR/<variant>.npy (1000 × 1 × 28 × 28 in [−1, 1]), DIR/cgan_labels.npy (the classes
asked of the cgan) and DIR/real_test.npy (the 1,000 test digits); --checkpoints DIR saves each
generator's weights, in float16, as DIR/<variant>_G.pt (``gantutor.train.save_checkpoint``),
which the notebooks load, and its discriminator's as DIR/<variant>_D.pt (chapter 5 measures D's slope).
"""
from __future__ import annotations

import copy
import functools
import sys
from pathlib import Path
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from _common import emit, parser
from gantutor import losses, seed_everything
from gantutor.data import mnist
from gantutor.metrics import class_histogram, classify, fid, kid, kl_to_uniform, precision_recall
from gantutor.models import DCGANDiscriminator, DCGANGenerator, InstanceNoise
from gantutor.train import DCGAN_RECIPE, EMA, adam, generate, save_checkpoint, train_gan

N = 1000  # samples scored per variant, = the test split's size
OPTIMIZERS = {  # name -> (module, lr, betas) -> optimiser
    "adam": adam,
    "rmsprop": lambda module, lr, betas: torch.optim.RMSprop(module.parameters(), lr=lr),  # the WGAN paper's; no betas
}


@dataclass
class Variant:
    """One row: the loss, and what differs from the course's recipe."""

    loss: str = "non-saturating"  # a name in gantutor.losses.LOSSES
    conditional: bool = False
    num_steps: int = DCGAN_RECIPE.num_steps
    batch_size: int = DCGAN_RECIPE.batch_size
    lr: float = DCGAN_RECIPE.lr
    betas: tuple = DCGAN_RECIPE.betas
    lr_decay: bool = DCGAN_RECIPE.lr_decay
    d_batch_norm: bool = False
    d_minibatch_std: bool = True
    d_spectral_norm: bool = False
    optimizer: str = "adam"  # a key of OPTIMIZERS
    g_embed_dim: int = 10  # a conditional G's class embedding
    ema: float | None = None
    # the knobs of the training-tips ablation (benchmarks/training_tips.py)
    output: str = "tanh"  # "sigmoid": data and G's output in [0, 1] instead of [−1, 1]
    d_slope: float = 0.2  # 0: ReLU in D instead of LeakyReLU(0.2)
    real_label: float = 1.0  # 0.9: one-sided label smoothing
    instance_noise: float = 0.0  # std of the noise added to D's inputs, annealed to 0
    naive_bce: bool = False  # sigmoid then BCE, instead of BCE on the logits
    options: dict = field(default_factory=dict)


VARIANTS = {
    "dcgan": Variant(),
    # the DCGAN paper's settings: BatchNorm in D (no minibatch std), batch 128, Adam 2e-4 without decay,
    # for the same training time as the recipe (128-image steps take ~2.6x as long as 32-image ones)
    "dcgan_paper": Variant(lr=2e-4, lr_decay=False, d_batch_norm=True, d_minibatch_std=False, batch_size=128, num_steps=1700),
    # the recipe with BatchNorm in D: chapter 4's question, at the full budget
    "dcgan_bn_d": Variant(d_batch_norm=True),
    "minimax": Variant(loss="minimax"),
    "lsgan": Variant(loss="least squares"),
    "hinge": Variant(loss="hinge"),
    "wgan_clip": Variant(loss="wasserstein (clipped)"),
    "wgan_gp": Variant(loss="wasserstein-gp", betas=(0.0, 0.9)),
    # the two WGANs on their papers' recipes: 5 critic steps per G step, RMSProp 5e-5 with clipping (Arjovsky et al.,
    # 2017, Algorithm 1), Adam 1e-4, betas (0, 0.9) with the penalty (Gulrajani et al., 2017, Algorithm 1); no decay;
    # fewer G steps, for about the training time of the rows above
    "wgan_clip_paper": Variant(loss="wasserstein (clipped)", optimizer="rmsprop", lr=5e-5, lr_decay=False, num_steps=1200,
                               options={"d_steps": 5}),
    "wgan_gp_paper": Variant(loss="wasserstein-gp", lr=1e-4, betas=(0.0, 0.9), lr_decay=False, num_steps=900,
                             options={"d_steps": 5}),
    # SN-GAN (Miyato et al., 2018): spectral normalisation in D with the hinge loss
    "sngan": Variant(loss="hinge", d_spectral_norm=True),
    "cgan": Variant(conditional=True),
    # the same cGAN with a class embedding as large as z (64): chapter 5's intra-class collapse
    "cgan_embed64": Variant(conditional=True, g_embed_dim=64),
}


def build(variant: Variant):
    classes = 10 if variant.conditional else None
    G = DCGANGenerator(latent_dim=64, base_channels=32, num_classes=classes, output=variant.output,
                       embed_dim=variant.g_embed_dim)
    D = DCGANDiscriminator(base_channels=32, num_classes=classes, batch_norm=variant.d_batch_norm, slope=variant.d_slope,
                           minibatch_std=variant.d_minibatch_std, spectral_norm=variant.d_spectral_norm)
    return G, (InstanceNoise(D, variant.instance_noise) if variant.instance_noise else D)


def _naive_bce_d(logits_real, logits_fake):
    """The loss as often first written: probabilities, then BCE (saturates where logits are large)."""
    bce = torch.nn.functional.binary_cross_entropy
    p_real, p_fake = torch.sigmoid(logits_real), torch.sigmoid(logits_fake)
    return bce(p_real, torch.ones_like(p_real)) + bce(p_fake, torch.zeros_like(p_fake))


def _naive_bce_g(logits_fake):
    p = torch.sigmoid(logits_fake)
    return torch.nn.functional.binary_cross_entropy(p, torch.ones_like(p))


def _losses(variant: Variant) -> dict:
    """train_gan's loss settings: the registry's loss, with the training-tips ablations' replacements."""
    settings = {"loss": variant.loss}
    if variant.naive_bce:
        settings |= {"d_loss": _naive_bce_d, "g_loss": _naive_bce_g}
    if variant.real_label < 1:
        settings["d_loss"] = functools.partial(losses.discriminator_loss, real_label=variant.real_label)
    return settings


def train(variant: Variant, seed: int = 0, progress: bool = False, callbacks=(), history=None):
    """Train one variant; returns (a generator of images in [−1, 1] to sample from, seconds).

    ``callbacks`` are added to the variant's own; ``history`` (a ``train.History``) is filled in place."""
    seed_everything(seed)
    data = mnist("train")
    G, D = build(variant)
    callbacks = list(callbacks)
    ema = EMA(G, variant.ema) if variant.ema else None
    if ema:
        callbacks.append(ema)
    if isinstance(D, InstanceNoise):
        callbacks.append(functools.partial(D.anneal, num_steps=variant.num_steps))
    scale = (lambda x: (x + 1) / 2) if variant.output == "sigmoid" else (lambda x: x)
    if variant.conditional:
        sample = lambda n: (lambda x, y: (scale(x), y))(*data.sample(n, with_labels=True))  # noqa: E731
    else:
        sample = lambda n: scale(data.sample(n))  # noqa: E731
    start = time.perf_counter()
    train_gan(G, D, sample, num_steps=variant.num_steps, batch_size=variant.batch_size,
              opt_G=OPTIMIZERS[variant.optimizer](G, variant.lr, variant.betas),
              opt_D=OPTIMIZERS[variant.optimizer](D, variant.lr, variant.betas), lr_decay=variant.lr_decay,
              callbacks=callbacks, history=history, progress=progress, **(_losses(variant) | variant.options))
    seconds = time.perf_counter() - start
    G = ema.model if ema else G
    if variant.output == "sigmoid":  # score every variant on the same [−1, 1] scale
        G.net.append(_ToSymmetric())
    return G, seconds


class _ToSymmetric(torch.nn.Module):
    def forward(self, x):
        return 2 * x - 1


def score(G, real_test, fid_floor: float, seed: int = 0) -> tuple[dict, torch.Tensor, torch.Tensor | None]:
    """The row of metrics for N samples of G; returns (row, samples, asked labels or None)."""
    torch.manual_seed(seed + 10_000)
    labels = torch.arange(N) % 10 if getattr(G, "num_classes", None) else None
    samples = generate(G, N, labels=labels) if labels is not None else generate(G, N)
    hist = class_histogram(samples)
    precision, recall = precision_recall(real_test, samples)
    row = {"fid": fid(samples, real_test), "fid_floor": fid_floor, "kid": kid(samples, real_test)[0],
           "modes": int((hist >= 0.01 * N).sum()), "kl": kl_to_uniform(hist), "precision": precision, "recall": recall}
    if labels is not None:
        row["class_accuracy"] = float((classify(samples) == labels).double().mean())
    return row, samples, labels


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--steps", type=int, default=None, help="override the number of G steps (for a quick try)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoints", type=str, default=None, help="save each generator's weights in this folder")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    train_set, test = mnist("train"), mnist("test")
    floor = fid(train_set.images[:N], test.images)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        np.save(args.out / "real_test.npy", test.images.numpy())
    result, rows = {}, []
    for name in args.variants:
        variant = VARIANTS[name]
        if args.steps:
            variant.num_steps = args.steps
        trained = {}
        G, seconds = train(variant, args.seed, callbacks=[lambda step, G, D, history: trained.setdefault("D", D)])
        row, samples, labels = score(G, test.images, floor, args.seed)
        row["seconds"] = seconds
        result[name] = {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in result[name].items()), file=sys.stderr, flush=True)
        rows.append([name, f"{row['fid']:.1f}", f"{row['fid'] / floor:.2f}", f"{row['kid']:.3f}", row["modes"],
                     f"{row['kl']:.3f}", f"{row['precision']:.2f}", f"{row['recall']:.2f}",
                     f"{row['class_accuracy']:.1%}" if "class_accuracy" in row else "-", f"{seconds:.0f}"])
        if args.out:
            np.save(args.out / f"{name}.npy", samples.numpy().astype(np.float32))
            if labels is not None:
                np.save(args.out / f"{name}_labels.npy", labels.numpy())
        if args.checkpoints:
            Path(args.checkpoints).mkdir(parents=True, exist_ok=True)
            # float16 halves the file (~0.5 MB); loading copies the weights back into float32
            save_checkpoint(Path(args.checkpoints) / f"{name}_G.pt", step=variant.num_steps, G=copy.deepcopy(G).half())
            save_checkpoint(Path(args.checkpoints) / f"{name}_D.pt", step=variant.num_steps, D=copy.deepcopy(trained["D"]).half())
    emit(result, ["variant", "FID", f"× floor ({floor:.1f})", "KID", "classes", "KL", "precision", "recall",
                  "asked class", "s"], rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
