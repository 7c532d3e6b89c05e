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
import os
import pickle
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from gantutor._validate import positive_int
from gantutor.losses import clip_weights, discriminator_loss, generator_loss_nonsaturating


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA): same seed, same numbers on the same machine."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def default_device() -> torch.device:
    """CUDA when a GPU is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def sample_noise(batch_size: int, latent_dim: int, device=None, generator=None) -> torch.Tensor:
    """z ~ N(0, I), shape (batch_size, latent_dim)."""
    positive_int(batch_size, "batch_size")
    positive_int(latent_dim, "latent_dim")
    return torch.randn(batch_size, latent_dim, generator=generator).to(device)


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


def _conditioned(model, y):
    """``model`` itself, or ``model`` with the class labels ``y`` bound (a conditional model)."""
    return model if y is None else functools.partial(model, y=y)


def d_step(G, D, x_real, z, opt_D, loss_fn=discriminator_loss, penalty=None, y_real=None, y_fake=None,
           x_fake=None) -> dict:
    """One update of D on a real batch and G(z); G receives no gradient (the fakes are detached).

    ``penalty(D, x_real, x_fake)``, if given, is added to D's loss, e.g. the WGAN-GP term
    ``lambda D, r, f: 10 * gradient_penalty(D, r, f)``. For a conditional GAN pass the real
    labels ``y_real`` and the labels ``y_fake`` asked of G; the penalty then sees D with the real
    labels bound. ``x_fake``: G(z) if it was already computed (it is then used instead of z).
    """
    x_fake = (_conditioned(G, y_fake)(z) if x_fake is None else x_fake).detach()  # D's loss must not flow back into G
    logits_real, logits_fake = _conditioned(D, y_real)(x_real), _conditioned(D, y_fake)(x_fake)  # (B,), (B,)
    loss = loss_fn(logits_real, logits_fake)
    if penalty is not None:
        loss = loss + penalty(_conditioned(D, y_real), x_real, x_fake)
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
        x_fake = _conditioned(G, y)(z) if x_fake is None else x_fake
        loss = loss_fn(_conditioned(D, y)(x_fake))
        opt_G.zero_grad(set_to_none=True)
        loss.backward()
    norm = grad_norm(G)
    opt_G.step()
    return {"g_loss": loss.item(), "g_grad_norm": norm}


def linear_decay(opt, num_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A schedule that takes ``opt``'s learning rate linearly from its value to 0 over ``num_steps``."""
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 - t / num_steps)


def fit_discriminator(D, sample_real, sample_fake, *, num_steps: int, batch_size: int = 256, lr: float = 1e-3,
                      opt=None, loss_fn=discriminator_loss, lr_decay: bool = False) -> list:
    """The inner max of the game: train D alone against a fixed generator; returns the losses.

    ``sample_real(n)`` and ``sample_fake(n)`` each return a batch of n examples; ``lr_decay``
    decays the learning rate linearly to 0 over ``num_steps``.
    """
    _check_train_args(num_steps, batch_size, lr, 1)
    opt = opt or adam(D, lr)
    schedule = linear_decay(opt, num_steps) if lr_decay else None
    history = []
    for _ in range(num_steps):
        loss = loss_fn(D(sample_real(batch_size)), D(sample_fake(batch_size)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if schedule is not None:
            schedule.step()
        history.append(loss.item())
    return history


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


def adam(module, lr: float, betas=(0.5, 0.999)) -> torch.optim.Adam:
    """Adam with the GAN default β1 = 0.5 (Radford et al., 2016)."""
    return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, foreach=True)


def _check_train_args(num_steps, batch_size, lr, d_steps):
    positive_int(num_steps, "num_steps")
    positive_int(batch_size, "batch_size")
    positive_int(d_steps, "d_steps")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")


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


# The course's DCGAN recipe for the bundled MNIST (chapter 4; ``benchmarks/image_gans.py`` trains it
# in under 2 minutes on 2 CPU cores): many small batches, a high learning rate decayed linearly to 0.
DCGAN_RECIPE = dict(num_steps=4500, batch_size=32, lr=1e-3, betas=(0.5, 0.999), lr_decay=True)


def train_gan(
    G,
    D,
    sample_real,
    *,
    num_steps: int = 1000,
    batch_size: int = 256,
    lr: float = 1e-3,
    betas=(0.5, 0.999),
    d_steps: int = 1,
    d_loss=discriminator_loss,
    g_loss=generator_loss_nonsaturating,
    d_penalty=None,
    d_clip: float | None = None,
    unroll_steps: int = 0,
    reuse_fakes: bool = False,
    lr_decay: bool = False,
    opt_G=None,
    opt_D=None,
    device=None,
    callbacks=(),
    history: History | None = None,
    progress: bool = True,
) -> History:
    """Train G against D; ``sample_real(n)`` returns a batch of n real examples.

    ``d_steps`` D updates per G update; ``d_penalty(D, x_real, x_fake)`` is added to D's loss;
    ``d_clip`` clamps D's weights to [−c, c] after each of its updates (the original WGAN);
    ``unroll_steps > 0`` trains G against a D unrolled that many steps (``g_step_unrolled``);
    ``reuse_fakes`` trains G on the fakes of D's last step, judged by the updated D, instead of
    drawing new ones: one forward pass of G less per step (~15 % of a DCGAN step on a CPU);
    ``lr_decay`` decays both learning rates linearly to 0
    over ``num_steps``; pass ``opt_G`` / ``opt_D`` to use other optimisers (e.g. SGD) and
    ``history`` to continue a run. Each callback is called as ``fn(step, G, D, history)``.

    A conditional G (one with ``num_classes``) trains as a conditional GAN: ``sample_real(n)``
    must then return (images, labels), e.g. ``lambda n: data.sample(n, with_labels=True)``; the
    classes asked of G are drawn uniformly.
    """
    _check_train_args(num_steps, batch_size, lr, d_steps)
    num_classes = getattr(G, "num_classes", None)
    if num_classes and unroll_steps:
        raise ValueError("unroll_steps is not supported for a conditional GAN")
    if reuse_fakes and unroll_steps:
        raise ValueError("reuse_fakes and unroll_steps cannot be combined: the unrolled step draws its own fakes")
    device = torch.device(device) if device is not None else next(G.parameters()).device
    G.to(device).train()
    D.to(device).train()
    opt_G = opt_G or adam(G, lr, betas)
    opt_D = opt_D or adam(D, lr, betas)
    schedules = [linear_decay(o, num_steps) for o in (opt_G, opt_D)] if lr_decay else []
    history = history if history is not None else History()
    start = history.step[-1] + 1 if len(history) else 0
    bar = tqdm(range(start, start + num_steps), disable=not progress, desc="training", leave=False)
    for step in bar:
        for _ in range(d_steps):
            z = sample_noise(batch_size, G.latent_dim, device)
            x_real, y_real = _real_batch(sample_real, batch_size, num_classes, device)
            y_fake = _asked_labels(num_classes, batch_size, device)
            x_fake = _conditioned(G, y_fake)(z) if reuse_fakes else None  # kept with its graph for G's step
            record = d_step(G, D, x_real, z, opt_D, d_loss, d_penalty, y_real, y_fake, x_fake)
            if d_clip is not None:
                clip_weights(D, d_clip)
        if unroll_steps:
            z = sample_noise(batch_size, G.latent_dim, device)
            record |= g_step_unrolled(G, D, z, opt_G, sample_real, unroll_steps, d_loss=d_loss, loss_fn=g_loss)
        elif reuse_fakes:
            record |= g_step(G, D, z, opt_G, g_loss, y_fake, x_fake)
        else:
            z = sample_noise(batch_size, G.latent_dim, device)
            record |= g_step(G, D, z, opt_G, g_loss, _asked_labels(num_classes, batch_size, device))
        end_of_step(step, record, history, schedules, callbacks, G, D, bar)
    return history


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


@torch.no_grad()
def generate(G, n: int, device=None, labels=None, z=None) -> torch.Tensor:
    """n samples of G in eval mode, on the CPU, shape (n, ...).

    For a conditional G, ``labels`` is one class for all (an int) or one per sample (n,); by
    default the classes take turns (0, 1, …, K−1, 0, …). ``z`` (n, latent_dim) fixes the noise.
    """
    positive_int(n, "n")
    device = device or next(G.parameters()).device
    z = sample_noise(n, G.latent_dim, device) if z is None else z.to(device)
    num_classes = getattr(G, "num_classes", None)
    y = None
    if num_classes:
        y = torch.arange(n) % num_classes if labels is None else torch.as_tensor(labels)
        y = (y.expand(n) if y.dim() == 0 else y).to(device=device, dtype=torch.int64)
    elif labels is not None:
        raise ValueError("labels were given but G is unconditional (it has no num_classes)")
    was_training = G.training
    G.eval()
    try:
        x = _conditioned(G, y)(z).cpu()
    finally:
        G.train(was_training)
    return x


def interpolate_latents(z0, z1, num: int, spherical: bool = True) -> torch.Tensor:
    """``num`` points from z0 to z1 (both (latent_dim,)), shape (num, latent_dim).

    ``spherical`` (the default) follows the great circle (slerp; White, 2016): Gaussian noise lives
    near a sphere of radius √d, and the straight line between two draws passes inside it, where G
    saw few inputs during training.
    """
    z0, z1 = (torch.as_tensor(z, dtype=torch.float32) for z in (z0, z1))
    if z0.dim() != 1 or z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must be vectors of the same size, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    t = torch.linspace(0, 1, positive_int(num, "num")).unsqueeze(1)  # (num, 1)
    if not spherical:
        return (1 - t) * z0 + t * z1
    omega = torch.arccos((z0 / z0.norm()).dot(z1 / z1.norm()).clamp(-1, 1))  # angle between them
    if omega.abs() < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


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


@torch.no_grad()
def rejection_sample(G, D, n: int, *, quantile: float = 0.99, burn_in: int = 10_000, chunk: int = 5_000,
                     max_draws: int | None = None):
    """Discriminator rejection sampling (Azadi et al., 2019): n samples of G corrected by D.

    For the optimal discriminator, logit D*(x) = log p_data(x) / p_g(x) (chapter 1), so keeping a
    sample of G with probability exp(logit D(x) − M), M the largest logit, turns p_g into p_data
    wherever D is accurate. D must score single samples (``pack=1``) and be trained against this
    G, e.g. with ``fit_discriminator``.

    ``M`` is the ``quantile`` of the logits of ``burn_in`` samples: 1.0 (the largest) is exact but
    can keep almost nothing when a few samples have huge ratios (a collapsed G); the default 0.99
    keeps at least ~1 % and treats the top 1 % alike (the role of Azadi et al.'s shift γ).
    Returns (samples of shape (n, ...), acceptance rate). Raises RuntimeError when fewer than n
    samples are kept in ``max_draws`` (default 1,000·n) draws.
    """
    positive_int(n, "n")
    if not 0 < quantile <= 1:
        raise ValueError(f"quantile must be in (0, 1], got {quantile}")
    max_draws = max_draws or 1000 * n
    was_training = D.training
    D.eval()
    try:
        device = next(D.parameters()).device
        logits = D(generate(G, burn_in).to(device)).double().cpu()  # (burn_in,)
        if logits.shape != (burn_in,):
            raise ValueError(f"rejection sampling needs one logit per sample, shape ({burn_in},); D returned "
                             f"{tuple(logits.shape)} (a packed D, pack > 1, scores groups: fit an unpacked one)")
        top = torch.quantile(logits, quantile)
        kept, drawn, count = [], 0, 0
        while count < n:
            if drawn >= max_draws:
                raise RuntimeError(f"rejection sampling kept {count} of {drawn} samples, fewer than n = {n}: "
                                   "D rejects almost everything (is it trained against this G?); raise max_draws")
            x = generate(G, chunk)
            keep = torch.rand(chunk, dtype=torch.float64) < torch.exp(D(x.to(device)).double().cpu() - top)  # (chunk,)
            kept.append(x[keep])
            drawn, count = drawn + chunk, count + int(keep.sum())
    finally:
        D.train(was_training)
    return torch.cat(kept)[:n], count / drawn


CHECKPOINT_FORMAT = "gantutor-checkpoint-1"


def save_checkpoint(path, step: int | None = None, **objects) -> None:
    """Save the ``state_dict`` of each named module or optimiser, e.g.
    ``save_checkpoint("run.pt", step=1000, G=G, D=D, opt_G=opt_G)``.

    Only tensors, numbers and strings are written, so ``load_checkpoint`` can read the file with
    ``torch.load(weights_only=True)`` (no code runs on load). The file is written to a temporary
    name and then renamed: an interrupted save never destroys an earlier checkpoint.
    """
    if not objects:
        raise ValueError("name at least one module or optimiser to save, e.g. save_checkpoint(path, G=G)")
    for name, obj in objects.items():
        if not hasattr(obj, "state_dict"):
            raise TypeError(f"{name} must be a module or an optimiser (something with state_dict()), got {type(obj).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, "step": step, "state": {k: v.state_dict() for k, v in objects.items()}}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path, **objects) -> dict:
    """Load a ``save_checkpoint`` file into the named modules / optimisers; returns {"step": ...}.

    Read with ``weights_only=True``: a file that holds code or other pickled objects is refused
    with a ValueError rather than executed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        raise ValueError(f"{path} is not a weights file that can be loaded safely "
                         f"(weights_only=True refused it: {str(err).splitlines()[0][:200]})") from err
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a gantutor checkpoint (made by save_checkpoint)")
    missing = sorted(set(objects) - set(data["state"]))
    if missing:
        raise ValueError(f"{path} holds {sorted(data['state'])}, not {missing}")
    for name, obj in objects.items():
        obj.load_state_dict(data["state"][name])
    return {"step": data["step"]}
