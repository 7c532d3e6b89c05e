"""The training loop: one discriminator step, one generator step, and a loop that drives them.

Algorithm 1 of Goodfellow et al. (2014), with the non-saturating generator loss by default:

    for each step:
        for k steps:  update D by descending  L_D = -E[log D(x)] - E[log(1 - D(G(z)))]
        update G by descending  L_G = -E[log D(G(z))]

``d_step`` and ``g_step`` are small and return floats; ``train_gan`` loops over them and calls
``callbacks(step, G, D, history)`` after every step, so plots and logging plug in from outside.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, make_dataclass, replace

import torch
from tqdm.auto import tqdm

from gantutor import losses
from gantutor._validate import positive_int, train_args
from gantutor.losses import clip_weights, discriminator_loss, generator_loss_nonsaturating
from gantutor.runs import adam, linear_decay
from gantutor.sampling import conditioned, sample_noise
# Moved to gantutor.sampling and gantutor.runs; importable from here as before (the notebooks' imports).
from gantutor.runs import (  # noqa: F401
    CHECKPOINT_FORMAT, default_device, load_checkpoint, save_checkpoint, seed_everything)
from gantutor.sampling import fit_discriminator, generate, interpolate_latents, rejection_sample  # noqa: F401


@contextlib.contextmanager
def frozen(module: torch.nn.Module):
    """Turn off gradients of ``module``'s parameters inside the block (D during G's step)."""
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def grad_norm(module: torch.nn.Module) -> float:
    """The L2 norm of all of ``module``'s gradients together (0 when none)."""
    grads = [p for p in module.parameters() if p.grad is not None]
    # with an infinite max_norm nothing is clipped: this is the fused (foreach) total-norm computation
    return float(torch.nn.utils.clip_grad_norm_(grads, float("inf"))) if grads else 0.0


def d_step(G, D, x_real, z, opt_D, loss_fn=discriminator_loss, penalty=None, y_real=None, y_fake=None,
           x_fake=None) -> dict:
    """One update of D on a real batch and G(z); G receives no gradient (the fakes are detached).

    ``penalty(D, x_real, x_fake)``, if given, is added to D's loss, e.g. the WGAN-GP term
    ``lambda D, r, f: 10 * gradient_penalty(D, r, f)``. For a conditional GAN pass the real
    labels ``y_real`` and the labels ``y_fake`` asked of G; the penalty then sees D with the real
    labels bound. ``x_fake``: G(z) if it was already computed (it is then used instead of z).
    """
    x_fake = (conditioned(G, y_fake)(z) if x_fake is None else x_fake).detach()  # D's loss must not flow back into G
    logits_real, logits_fake = conditioned(D, y_real)(x_real), conditioned(D, y_fake)(x_fake)  # (B,), (B,)
    loss = loss_fn(logits_real, logits_fake)
    if penalty is not None:
        loss = loss + penalty(conditioned(D, y_real), x_real, x_fake)
    opt_D.zero_grad(set_to_none=True)
    loss.backward()
    norm = grad_norm(D)
    opt_D.step()
    return {
        "d_loss": loss.item(),
        "d_real": torch.sigmoid(logits_real).mean().item(),  # mean D(x)
        "d_fake": torch.sigmoid(logits_fake).mean().item(),  # mean D(G(z))
        "d_grad_norm": norm,
    }


def g_step(G, D, z, opt_G, loss_fn=generator_loss_nonsaturating, y=None, x_fake=None) -> dict:
    """One update of G through a frozen D (D's weights receive no gradient); ``y``: the labels
    asked of a conditional G (D judges the fakes as images of those classes). ``x_fake``: G(z)
    already computed, with its graph (then z is not used)."""
    with frozen(D):
        x_fake = conditioned(G, y)(z) if x_fake is None else x_fake
        loss = loss_fn(conditioned(D, y)(x_fake))
        opt_G.zero_grad(set_to_none=True)
        loss.backward()
    norm = grad_norm(G)
    opt_G.step()
    return {"g_loss": loss.item(), "g_grad_norm": norm}


def unrolled_parameters(D, fake, real_batches, inner_lr: float, d_loss=discriminator_loss) -> dict:
    """D's parameters after one plain gradient step on D's loss per real batch, as a graph that
    depends on ``fake`` (and so on G): θ_{k+1} = θ_k − η ∇_θ L_D(θ_k; x_k, fake). D is not changed."""
    params = dict(D.named_parameters())
    for real in real_batches:
        loss = d_loss(torch.func.functional_call(D, params, (real,)), torch.func.functional_call(D, params, (fake,)))
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)  # keep the graph: G differentiates through
        params = {k: v - inner_lr * g for (k, v), g in zip(params.items(), grads)}
    return params


def g_step_unrolled(G, D, z, opt_G, sample_real, unroll_steps: int = 5, inner_lr: float = 1e-2,
                    d_loss=discriminator_loss, loss_fn=generator_loss_nonsaturating) -> dict:
    """Unrolled GAN (Metz et al., 2017): G's loss is taken against D after ``unroll_steps`` more
    D updates, differentiated through those updates, so G sees how D would answer its move.

    The look-ahead uses plain gradient steps of size ``inner_lr`` on a functional copy of D (the
    paper unrolls D's own optimiser); D itself is not changed.
    """
    positive_int(unroll_steps, "unroll_steps")
    fake = G(z)  # (B, ...), keeps G's graph
    real_batches = [sample_real(z.shape[0]).to(fake.device) for _ in range(unroll_steps)]
    params = unrolled_parameters(D, fake, real_batches, inner_lr, d_loss)
    loss = loss_fn(torch.func.functional_call(D, params, (fake,)))
    opt_G.zero_grad(set_to_none=True)
    loss.backward()
    for p in D.parameters():
        p.grad = None  # the look-ahead's gradients for D are not D's update
    norm = grad_norm(G)
    opt_G.step()
    return {"g_loss": loss.item(), "g_grad_norm": norm}


@dataclass
class History:
    """Per-step records of a run: losses, mean D outputs and gradient norms."""

    step: list = field(default_factory=list)
    d_loss: list = field(default_factory=list)
    g_loss: list = field(default_factory=list)
    d_real: list = field(default_factory=list)
    d_fake: list = field(default_factory=list)
    d_grad_norm: list = field(default_factory=list)
    g_grad_norm: list = field(default_factory=list)

    def append(self, step: int, record: dict) -> None:
        self.step.append(step)
        for key, value in record.items():
            getattr(self, key).append(value)

    def __len__(self) -> int:
        return len(self.step)

    def last(self) -> dict:
        """The latest record as a dict (empty before the first step)."""
        return {k: v[-1] for k, v in vars(self).items() if v}

    @classmethod
    def with_keys(cls, name: str, *keys: str, doc: str = "", module: str = __name__) -> type:
        """A ``History`` that also records ``keys`` (the records of another trainer), named ``name``."""
        new = make_dataclass(name, [(key, list, field(default_factory=list)) for key in keys], bases=(cls,))
        new.__doc__, new.__module__, new.__qualname__ = doc, module, name
        return new


def _real_batch(sample_real, batch_size: int, num_classes, device):
    """(images, labels or None) from ``sample_real``, checked against what G expects."""
    batch = sample_real(batch_size)
    is_pair = isinstance(batch, (tuple, list))
    if num_classes and not is_pair:
        raise ValueError("G is conditional, so sample_real(n) must return (images, labels), "
                         "e.g. lambda n: data.sample(n, with_labels=True)")
    if not num_classes and is_pair:
        raise ValueError("sample_real(n) returned a pair but G is unconditional: return images only, "
                         "or build G and D with num_classes")
    if not num_classes:
        return batch.to(device), None
    x, y = batch
    return x.to(device), y.to(device)


def _asked_labels(num_classes, batch_size: int, device):
    """The classes asked of a conditional G, uniform; None for an unconditional one."""
    return torch.randint(num_classes, (batch_size,), device=device) if num_classes else None


@dataclass(frozen=True)
class TrainConfig:
    """What ``train_gan`` is told, in one place (the way nanoGPT holds its settings).

    ``loss`` names an objective of ``gantutor.losses.LOSSES`` (its D loss, G loss, penalty and
    settings); ``d_loss`` / ``g_loss`` / ``d_penalty`` / ``d_clip``, when given, replace the
    objective's own. ``d_steps`` D updates per G update; ``unroll_steps > 0`` trains G against a D
    unrolled that many steps (``g_step_unrolled``); ``reuse_fakes`` trains G on the fakes of D's
    last step, judged by the updated D, instead of drawing new ones (one forward pass of G less per
    step, ~15 % of a DCGAN step on a CPU); ``lr_decay`` decays both learning rates linearly to 0.
    """

    num_steps: int = 1000
    batch_size: int = 256
    lr: float = 1e-3
    betas: tuple = (0.5, 0.999)
    d_steps: int = 1
    loss: str = "non-saturating"
    d_loss: Callable | None = None
    g_loss: Callable | None = None
    d_penalty: Callable | None = None
    d_clip: float | None = None
    unroll_steps: int = 0
    reuse_fakes: bool = False
    lr_decay: bool = False

    def objective(self) -> losses.GANLoss:
        """The named loss with this config's replacements applied."""
        base = losses.get(self.loss)
        settings = dict(base.settings) | ({"d_clip": self.d_clip} if self.d_clip is not None else {})
        return replace(base, d_loss=self.d_loss or base.d_loss, g_loss=self.g_loss or base.g_loss,
                       penalty=self.d_penalty or base.penalty, settings=settings)


# The course's DCGAN recipe for the bundled MNIST (chapter 4; ``benchmarks/image_gans.py`` trains it
# in about 2 minutes on 2 CPU cores): many small batches, a high learning rate decayed linearly to 0.
DCGAN_RECIPE = TrainConfig(num_steps=4500, batch_size=32, lr=1e-3, betas=(0.5, 0.999), lr_decay=True)


def configure(config: TrainConfig | None, settings: dict) -> TrainConfig:
    """``config`` (default: ``TrainConfig()``) with the keyword ``settings`` replacing its fields."""
    config = config if config is not None else TrainConfig()
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a gantutor.train.TrainConfig (e.g. DCGAN_RECIPE), got {type(config).__name__}")
    unknown = sorted(set(settings) - {f.name for f in fields(TrainConfig)})
    if unknown:
        raise TypeError(f"unknown training setting(s) {', '.join(unknown)}; the settings are "
                        f"{', '.join(f.name for f in fields(TrainConfig))}")
    config = replace(config, **settings)
    train_args(config.num_steps, config.batch_size, config.lr, config.d_steps)
    config.objective()  # an unknown loss name fails here, before any training
    return config


def prepare(device, trained, frozen_models=()) -> torch.device:
    """Move the models to ``device`` (default: where the first trained model is) in their modes:
    ``trained`` ones in train mode, ``frozen_models`` (a teacher) in eval mode. Returns the device."""
    device = torch.device(device) if device is not None else next(trained[0].parameters()).device
    for model in trained:
        model.to(device).train()
    for model in frozen_models:
        model.to(device).eval()
    return device


def run_loop(step_fn, *, num_steps: int, optimisers, history: History, lr_decay: bool = False, callbacks=(),
             models=(None, None), progress: bool = True, desc: str = "training") -> History:
    """The loop every trainer of the course shares: ``num_steps`` calls of ``step_fn()`` → a record,
    each followed by ``end_of_step``, under a progress bar; ``lr_decay`` takes the ``optimisers``'
    learning rates linearly to 0. A ``history`` that already holds steps is continued."""
    schedules = [linear_decay(o, num_steps) for o in optimisers] if lr_decay else []
    start = history.step[-1] + 1 if len(history) else 0
    bar = tqdm(range(start, start + num_steps), disable=not progress, desc=desc, leave=False)
    for step in bar:
        end_of_step(step, step_fn(), history, schedules, callbacks, *models, bar)
    return history


def train_gan(G, D, sample_real, config: TrainConfig | None = None, *, opt_G=None, opt_D=None, device=None,
              callbacks=(), history: History | None = None, progress: bool = True, **settings) -> History:
    """Train G against D; ``sample_real(n)`` returns a batch of n real examples.

    The settings come from ``config`` (a ``TrainConfig``, e.g. ``DCGAN_RECIPE``), and keyword
    settings replace its fields: ``train_gan(G, D, s, DCGAN_RECIPE, num_steps=1000)`` or
    ``train_gan(G, D, s, num_steps=500, loss="hinge")``. Pass ``opt_G`` / ``opt_D`` to use other
    optimisers (e.g. SGD; default Adam with the config's lr and betas) and ``history`` to continue a
    run. Each callback is called as ``fn(step, G, D, history)``.

    A conditional G (one with ``num_classes``) trains as a conditional GAN: ``sample_real(n)``
    must then return (images, labels), e.g. ``lambda n: data.sample(n, with_labels=True)``; the
    classes asked of G are drawn uniformly.
    """
    config = configure(config, settings)
    num_classes = _check_gan(G, config)
    device = prepare(device, (G, D))
    opt_G, opt_D = opt_G or adam(G, config.lr, config.betas), opt_D or adam(D, config.lr, config.betas)
    step = functools.partial(_gan_step, G, D, sample_real, opt_G, opt_D, config, config.objective(), num_classes, device)
    return run_loop(step, num_steps=config.num_steps, optimisers=(opt_G, opt_D), lr_decay=config.lr_decay,
                    history=history if history is not None else History(), callbacks=callbacks, models=(G, D),
                    progress=progress)


def _check_gan(G, config: TrainConfig):
    """G's number of classes (None: unconditional), after refusing settings that do not combine."""
    num_classes = getattr(G, "num_classes", None)
    if num_classes and config.unroll_steps:
        raise ValueError("unroll_steps is not supported for a conditional GAN")
    if config.reuse_fakes and config.unroll_steps:
        raise ValueError("reuse_fakes and unroll_steps cannot be combined: the unrolled step draws its own fakes")
    return num_classes


def _gan_step(G, D, sample_real, opt_G, opt_D, config: TrainConfig, objective: losses.GANLoss, num_classes, device):
    """One step of ``train_gan``: ``d_steps`` D updates, then one G update; returns the record."""
    for _ in range(config.d_steps):
        z = sample_noise(config.batch_size, G.latent_dim, device)
        x_real, y_real = _real_batch(sample_real, config.batch_size, num_classes, device)
        y_fake = _asked_labels(num_classes, config.batch_size, device)
        x_fake = conditioned(G, y_fake)(z) if config.reuse_fakes else None  # kept with its graph for G's step
        record = d_step(G, D, x_real, z, opt_D, objective.d_loss, objective.penalty, y_real, y_fake, x_fake)
        if objective.settings.get("d_clip") is not None:
            clip_weights(D, objective.settings["d_clip"])
    if config.unroll_steps:
        z = sample_noise(config.batch_size, G.latent_dim, device)
        return record | g_step_unrolled(G, D, z, opt_G, sample_real, config.unroll_steps, d_loss=objective.d_loss,
                                        loss_fn=objective.g_loss)
    if config.reuse_fakes:
        return record | g_step(G, D, z, opt_G, objective.g_loss, y_fake, x_fake)
    z = sample_noise(config.batch_size, G.latent_dim, device)
    return record | g_step(G, D, z, opt_G, objective.g_loss, _asked_labels(num_classes, config.batch_size, device))


def end_of_step(step: int, record: dict, history: History, schedules, callbacks, G, D, bar) -> None:
    """What every training loop does after a step: record it, stop on NaN / inf (the error holds
    ``history``), step the learning-rate schedules, call the callbacks ``fn(step, G, D, history)``
    and refresh the progress bar's losses every 50 steps."""
    history.append(step, record)
    if not all(math.isfinite(v) for v in record.values()):
        err = FloatingPointError(f"training diverged at step {step}: a loss is NaN or inf ({record}). Lower the "
                                 "learning rates or the momentum; `err.history` holds the run so far.")
        err.history = history
        raise err
    for sched in schedules:
        sched.step()
    for fn in callbacks:
        fn(step, G, D, history)
    if step % 50 == 0:
        bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k in ("d_loss", "g_loss")})


class EMA:
    """A ``train_gan`` callback that keeps an exponential moving average of G's weights.

    After every step, θ_ema ← β θ_ema + (1 − β) θ_G, with β = min(decay, (1 + t) / (10 + t)) so
    that the average forgets its random start quickly (the warm-up of TensorFlow's
    ``ExponentialMovingAverage``); buffers (BatchNorm's running statistics) are copied. Sample from
    ``ema.model``: averaging the iterates damps the oscillation of the GAN game (Yazıcı et al., 2019).
    """

    def __init__(self, G, decay: float = 0.999):
        if not 0 < decay < 1:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(G).eval()
        self.model.requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, G) -> None:
        beta = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for p_ema, p in zip(self.model.parameters(), G.parameters()):
            p_ema.lerp_(p, 1 - beta)
        for b_ema, b in zip(self.model.buffers(), G.buffers()):
            b_ema.copy_(b)
        self.updates += 1

    def __call__(self, step, G, D, history) -> None:
        self.update(G)


