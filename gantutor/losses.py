"""GAN losses as plain functions of discriminator logits.

Notation: D(x) = sigmoid(l(x)) where l is the discriminator's logit. The value function of
Goodfellow et al. (2014) is

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))],     min_G max_D V(D, G).

Everything is written with the stable identities log sigmoid(l) = -softplus(-l) and
log(1 - sigmoid(l)) = -softplus(l), so that a confident discriminator (|l| ~ 100) gives finite
losses and gradients instead of log(0).

Chapter 6 adds the image-to-image translation losses: pix2pix's conditional GAN + L1 (Isola et
al., 2017), CycleGAN's cycle-consistency and identity terms (Zhu et al., 2017). The GAN losses
above take logits of any shape, so they also score PatchGAN's maps (B, 1, h, w): every patch
counts as one sample of the mean.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from gantutor._validate import float_tensor, non_negative, same_shape


def discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """L_D = -E[log D(x)] - E[log(1 - D(G(z)))] = -V(D, G) estimated on a batch.

    Inputs: logits_real, logits_fake: tensors of the same shape, e.g. (N,).
    Returns: a scalar tensor. It is binary cross-entropy with label 1 for real, 0 for fake.
    ``real_label`` < 1 is one-sided label smoothing (Salimans et al., 2016, §3.4): the real
    images' target becomes e.g. 0.9, so D gains nothing from ever more confident logits.
    """
    float_tensor(logits_real, "logits_real")
    float_tensor(logits_fake, "logits_fake")
    same_shape(logits_real, logits_fake, "logits_real", "logits_fake")
    if not 0.5 < real_label <= 1:
        raise ValueError(f"real_label must be in (0.5, 1], got {real_label}")
    real = F.softplus(-logits_real).mean()  # -log σ(l_r)
    if real_label < 1:  # BCE with target t: -t log σ(l) - (1 - t) log(1 - σ(l))
        real = real_label * real + (1 - real_label) * F.softplus(logits_real).mean()
    return real + F.softplus(logits_fake).mean()  # ... - log(1 - σ(l_f))


def generator_loss_minimax(logits_fake: torch.Tensor) -> torch.Tensor:
    """The saturating loss of the original game: L_G = E[log(1 - D(G(z)))], minimised by G.

    Inputs: logits_fake: (N,). Returns a scalar tensor (always ≤ 0).
    Its gradient vanishes when D confidently rejects the fakes (D(G(z)) → 0), early in training.
    """
    float_tensor(logits_fake, "logits_fake")
    return -F.softplus(logits_fake).mean()  # log(1 - σ(l)) = -softplus(l)


def generator_loss_nonsaturating(logits_fake: torch.Tensor) -> torch.Tensor:
    """The non-saturating loss used in practice: L_G = -E[log D(G(z))], minimised by G.

    Inputs: logits_fake: (N,). Returns a scalar tensor (always ≥ 0).
    Same fixed points as the minimax loss, but a strong gradient when D(G(z)) → 0.
    """
    float_tensor(logits_fake, "logits_fake")
    return F.softplus(-logits_fake).mean()  # -log σ(l) = softplus(-l)


# --- Least squares (Mao et al., 2017, LSGAN with a = 0, b = c = 1) ------------------------------
# D outputs an unbounded score s (no sigmoid).

def ls_discriminator_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    """L_D = ½ E[(s(x) − 1)²] + ½ E[s(G(z))²]. Inputs: scores of the same shape (N,). Returns a scalar."""
    float_tensor(scores_real, "scores_real")
    float_tensor(scores_fake, "scores_fake")
    same_shape(scores_real, scores_fake, "scores_real", "scores_fake")
    return 0.5 * ((scores_real - 1) ** 2).mean() + 0.5 * (scores_fake**2).mean()


def ls_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """L_G = ½ E[(s(G(z)) − 1)²]. Input: scores (N,). Returns a scalar."""
    float_tensor(scores_fake, "scores_fake")
    return 0.5 * ((scores_fake - 1) ** 2).mean()


# --- Wasserstein (Arjovsky et al., 2017; Gulrajani et al., 2017) ---------------------------------
# The critic D outputs an unbounded score; it must be (close to) 1-Lipschitz: weight clipping or
# the gradient penalty below.

def wasserstein_critic_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    """L_D = E[D(G(z))] − E[D(x)]: the critic maximises E[D(x)] − E[D(G(z))]. Returns a scalar."""
    float_tensor(scores_real, "scores_real")
    float_tensor(scores_fake, "scores_fake")
    same_shape(scores_real, scores_fake, "scores_real", "scores_fake")
    return scores_fake.mean() - scores_real.mean()


def wasserstein_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """L_G = −E[D(G(z))]. Returns a scalar."""
    float_tensor(scores_fake, "scores_fake")
    return -scores_fake.mean()


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP: E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = εx + (1 − ε)G(z), ε ~ U[0, 1] per sample.

    Inputs: real, fake of the same shape (N, ...); the fakes may carry G's graph, it is cut here.
    Returns a scalar that keeps D's graph (it is added to D's loss, usually × λ = 10).
    """
    float_tensor(real, "real")
    float_tensor(fake, "fake")
    same_shape(real, fake, "real", "fake")
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=generator).to(real)  # (N, 1, ...)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)  # ∇_x̂ D(x̂), (N, ...)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()  # (‖∇D(x̂)‖₂ − 1)²


def clip_weights(module: torch.nn.Module, c: float = 0.01) -> None:
    """The original WGAN's Lipschitz constraint (Arjovsky et al., 2017): after each critic update,
    clamp every parameter to [−c, c] in place (c = 0.01 in the paper)."""
    if not c > 0:
        raise ValueError(f"c must be > 0, got {c}")
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-c, c)


# --- Hinge (Lim & Ye, 2017; Miyato et al., 2018) and R1 (Mescheder et al., 2018) -----------------

def hinge_discriminator_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    """L_D = E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]: D is only pushed until real scores
    exceed +1 and fake scores fall below −1. Inputs: scores of the same shape (N,). Returns a scalar."""
    float_tensor(scores_real, "scores_real")
    float_tensor(scores_fake, "scores_fake")
    same_shape(scores_real, scores_fake, "scores_real", "scores_fake")
    return F.relu(1 - scores_real).mean() + F.relu(1 + scores_fake).mean()


def hinge_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """L_G = −E[D(G(z))] (as in SAGAN / BigGAN). Input: scores (N,). Returns a scalar."""
    float_tensor(scores_fake, "scores_fake")
    return -scores_fake.mean()


def r1_penalty(D, real: torch.Tensor) -> torch.Tensor:
    """R1 = E[‖∇ₓ D(x)‖²] on real data only (Mescheder et al., 2018); added to D's loss × γ/2.

    It penalises D for having a slope at the data, which makes GAN training converge locally
    where plain training circles (chapter 2's Dirac-GAN). Input: real (N, ...). Returns a scalar
    that keeps D's graph.
    """
    float_tensor(real, "real")
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)  # (N, ...)
    return grad.flatten(1).square().sum(dim=1).mean()


# --- The registry: every named GAN objective, in one place -------------------------------------
# train_gan(loss=…), the playground's drop-down, the benchmarks and chapter 5's table read it;
# adding a loss means an entry here (and its test), nothing else.

def wgan_gp_penalty(D, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP's term as added to the critic's loss: λ·gradient_penalty with the paper's λ = 10."""
    return 10 * gradient_penalty(D, real, fake)


@dataclass(frozen=True)
class GANLoss:
    """A named GAN objective: D's loss, G's loss, a penalty added to D's loss, the training
    settings that belong to it (passed on to ``train_gan``), its formulas and its source."""
    name: str
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g_loss: Callable[[torch.Tensor], torch.Tensor]
    d_formula: str
    g_formula: str
    source: str
    penalty: Callable | None = None  # penalty(D, real, fake), added to D's loss
    settings: Mapping[str, object] = field(default_factory=dict)

    def train_settings(self) -> dict:
        """The keyword arguments of ``train_gan`` that this objective sets."""
        return {"d_loss": self.d_loss, "g_loss": self.g_loss, "d_penalty": self.penalty, **self.settings}


LOSSES: dict[str, GANLoss] = {}


def register(loss: GANLoss) -> GANLoss:
    """Add ``loss`` to the registry under its name (a name may be registered once)."""
    if loss.name in LOSSES:
        raise ValueError(f"a GAN loss named {loss.name!r} is already registered")
    LOSSES[loss.name] = loss
    return loss


def get(name) -> GANLoss:
    """The registered loss called ``name`` (a ``GANLoss`` is returned as it is)."""
    if isinstance(name, GANLoss):
        return name
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))}; got {name!r}")
    return LOSSES[name]


for _loss in (
    GANLoss("minimax", discriminator_loss, generator_loss_minimax, "−E[log D(x)] − E[log(1 − D(G(z)))]",
            "E[log(1 − D(G(z)))]", "Goodfellow et al. 2014"),
    GANLoss("non-saturating", discriminator_loss, generator_loss_nonsaturating, "−E[log D(x)] − E[log(1 − D(G(z)))]",
            "−E[log D(G(z))]", "Goodfellow et al. 2014"),
    GANLoss("least squares", ls_discriminator_loss, ls_generator_loss, "½E[(D(x) − 1)²] + ½E[D(G(z))²]",
            "½E[(D(G(z)) − 1)²]", "Mao et al. 2017"),
    GANLoss("hinge", hinge_discriminator_loss, hinge_generator_loss, "E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]",
            "−E[D(G(z))]", "Lim & Ye 2017; Miyato et al. 2018"),
    GANLoss("wasserstein (clipped)", wasserstein_critic_loss, wasserstein_generator_loss, "E[D(G(z))] − E[D(x)]",
            "−E[D(G(z))]", "Arjovsky et al. 2017", settings={"d_clip": 0.01}),
    GANLoss("wasserstein-gp", wasserstein_critic_loss, wasserstein_generator_loss,
            "E[D(G(z))] − E[D(x)] + 10·E[(‖∇D(x̂)‖ − 1)²]", "−E[D(G(z))]", "Gulrajani et al. 2017",
            penalty=wgan_gp_penalty),
):
    register(_loss)


def side_by_side(scores=(-5.0, 0.0, 2.0)) -> list[dict]:
    """One row per registered loss: its formulas, and how hard its G loss pushes a fake that D scores
    ``s`` (|∂L_G/∂s| for one sample) at each of ``scores``: near zero where D is confident means G
    learns nothing there (the saturation of chapter 1)."""
    s = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    rows = []
    for loss in LOSSES.values():
        (grad,) = torch.autograd.grad(loss.g_loss(s) * len(s), s)  # per-sample gradient: undo the mean
        rows.append({"loss": loss.name, "L_D": loss.d_formula, "L_G": loss.g_formula, "source": loss.source,
                     **{f"push at s = {v:g}": abs(g) for v, g in zip(scores, grad.tolist())}})
    return rows


# --- Image-to-image translation (Isola et al., 2017; Zhu et al., 2017) ------------------------

def pix2pix_generator_loss(logits_fake: torch.Tensor, fake: torch.Tensor, target: torch.Tensor,
                           lambda_l1: float = 100.0) -> torch.Tensor:
    """pix2pix's generator objective: L_G = −E[log D(x, G(x))] + λ·E[|y − G(x)|].

    The first term is the non-saturating cGAN loss averaged over every patch logit; the second
    keeps G(x) near the target y at low frequencies, leaving the sharp detail to D.
    ``lambda_l1 = 0`` is the paper's "cGAN only" ablation; its "L1 only" generator trains on
    plain ``F.l1_loss(fake, target)``, with no D at all.

    Inputs: logits_fake: D's logits for the pairs (x, G(x)), any shape, e.g. (B, 1, h, w);
    fake: G(x), (B, C, H, W); target: y, the same shape as fake.
    Returns: a scalar tensor.
    """
    float_tensor(logits_fake, "logits_fake")
    float_tensor(fake, "fake")
    float_tensor(target, "target")
    same_shape(fake, target, "fake", "target")
    lambda_l1 = non_negative(lambda_l1, "lambda_l1")
    adversarial = generator_loss_nonsaturating(logits_fake)  # −log σ(l), averaged over every patch
    return adversarial + lambda_l1 * (target - fake).abs().mean()  # + λ·|y − G(x)|


def cycle_consistency_loss(real_a: torch.Tensor, reconstructed_a: torch.Tensor, real_b: torch.Tensor,
                           reconstructed_b: torch.Tensor, lambda_cyc: float = 10.0) -> torch.Tensor:
    """CycleGAN's cycle loss: L_cyc = λ·(E[|F(G(a)) − a|] + E[|G(F(b)) − b|]).

    G maps A → B and F maps B → A; translating there and back must return the input, which
    rules out mappings that forget the input (every a sent to one plausible b).
    Inputs: real_a and reconstructed_a = F(G(a)) of one shape (B, C, H, W); real_b and
    reconstructed_b = G(F(b)) of one shape. Returns: a scalar tensor.
    """
    for name, x in (("real_a", real_a), ("reconstructed_a", reconstructed_a), ("real_b", real_b),
                    ("reconstructed_b", reconstructed_b)):
        float_tensor(x, name)
    same_shape(real_a, reconstructed_a, "real_a", "reconstructed_a")
    same_shape(real_b, reconstructed_b, "real_b", "reconstructed_b")
    lambda_cyc = non_negative(lambda_cyc, "lambda_cyc")
    return lambda_cyc * ((reconstructed_a - real_a).abs().mean() + (reconstructed_b - real_b).abs().mean())


def identity_loss(real: torch.Tensor, same: torch.Tensor, lambda_id: float = 5.0) -> torch.Tensor:
    """CycleGAN's identity loss for one generator G: A → B: L_id = λ_id·E[|G(b) − b|].

    An image already in G's target domain should pass through unchanged; the reference code uses
    λ_id = 0.5·λ_cyc (5 with λ_cyc = 10). Inputs: real = b and same = G(b), one shape
    (B, C, H, W). Returns: a scalar tensor.
    """
    float_tensor(real, "real")
    float_tensor(same, "same")
    same_shape(real, same, "real", "same")
    return non_negative(lambda_id, "lambda_id") * (same - real).abs().mean()
