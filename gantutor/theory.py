"""The minimax game in closed form, on densities tabulated over a grid.

Goodfellow et al. (2014), Proposition 1 and Theorem 1: for a fixed generator with density p_g,
the discriminator that maximises V(D, G) = ∫ p_data log D + p_g log(1 - D) dx is

    D*(x) = p_data(x) / (p_data(x) + p_g(x)),

and at that discriminator V(D*, G) = -log 4 + 2 · JSD(p_data ‖ p_g). So the generator's loss equals
the Jensen-Shannon divergence (up to constants) only when D is optimal.

Densities are arrays of values on a regular grid with cell size ``dx`` (length in 1D, area in
2D); integrals are Riemann sums, with the convention 0 · log 0 = 0.

Also: game dynamics on the bilinear game x·y (chapter 2), the Dirac-GAN with and without the R1
penalty (Mescheder et al., 2018; chapter 2), and layer operator norms for the Lipschitz bound that
spectral normalisation controls (Miyato et al., 2018; chapter 5).
"""
from __future__ import annotations

import math

import torch

from gantutor.losses import r1_penalty
from gantutor.train import train_gan


def _density(p, name: str) -> torch.Tensor:
    p = torch.as_tensor(p, dtype=torch.float64)
    if p.numel() == 0:
        raise ValueError(f"{name} is empty")
    if not torch.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"{name} must hold finite, non-negative density values")
    return p


def _pair(p, q, dx, name_p: str, name_q: str):
    p, q = _density(p, name_p), _density(q, name_q)
    if p.shape != q.shape:
        raise ValueError(f"{name_p} has shape {tuple(p.shape)} but {name_q} has shape {tuple(q.shape)}")
    if not dx > 0:
        raise ValueError(f"dx must be the grid's cell size (> 0), got {dx}")
    for name, d in ((name_p, p), (name_q, q)):
        mass = float(d.sum() * dx)
        if abs(mass - 1) > 1e-2:
            raise ValueError(
                f"{name} integrates to {mass:.4f} on this grid, not 1: widen the grid, "
                f"or normalise it with {name} / ({name}.sum() * dx)"
            )
    return p, q


def _xlogy(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.special.xlogy(x, y)  # x log y with 0 log 0 = 0


def optimal_discriminator(p_data, p_g) -> torch.Tensor:
    """D*(x) = p_data / (p_data + p_g), pointwise; 1/2 where both densities are 0 (D* is free there)."""
    p, q = _density(p_data, "p_data"), _density(p_g, "p_g")
    if p.shape != q.shape:
        raise ValueError(f"p_data has shape {tuple(p.shape)} but p_g has shape {tuple(q.shape)}")
    total = p + q
    return torch.where(total > 0, p / total.clamp_min(torch.finfo(total.dtype).tiny), 0.5)


def kl_divergence(p, q, dx: float) -> float:
    """KL(p ‖ q) = ∫ p log(p / q) dx, in nats; inf when p has mass where q has none."""
    p, q = _pair(p, q, dx, "p", "q")
    if ((p > 0) & (q == 0)).any():
        return math.inf
    return float((_xlogy(p, p) - _xlogy(p, q)).sum() * dx)


def js_divergence(p, q, dx: float) -> float:
    """JSD(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m) with m = (p + q)/2, in nats; between 0 and log 2."""
    p, q = _pair(p, q, dx, "p", "q")
    m = (p + q) / 2
    return 0.5 * kl_divergence(p, m, dx) + 0.5 * kl_divergence(q, m, dx)


def value_function(D, p_data, p_g, dx: float) -> float:
    """V(D, G) = ∫ p_data log D + p_g log(1 - D) dx for discriminator values ``D`` on the grid."""
    p, q = _pair(p_data, p_g, dx, "p_data", "p_g")
    D = torch.as_tensor(D, dtype=torch.float64)
    if D.shape != p.shape:
        raise ValueError(f"D has shape {tuple(D.shape)} but the densities have shape {tuple(p.shape)}")
    if ((D < 0) | (D > 1)).any():
        raise ValueError("D must hold probabilities in [0, 1] (apply a sigmoid to logits first)")
    # float64 rounds D* to exactly 1 where p_g is ~1e-100 times p_data; a floor of tiny (log ≈ -708)
    # keeps such a negligible term negligible instead of turning the whole integral into -inf.
    tiny = torch.finfo(torch.float64).tiny
    return float((_xlogy(p, D.clamp_min(tiny)) + _xlogy(q, (1 - D).clamp_min(tiny))).sum() * dx)


def gaussian_density(x, mean: float, std: float) -> torch.Tensor:
    """The 1D normal density N(x; mean, std²) on the points ``x`` (float64)."""
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    x = torch.as_tensor(x, dtype=torch.float64)
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


# --- Game dynamics: the bilinear game min_x max_y f(x, y) = x·y -------------------------------
# Its only equilibrium is (0, 0). ∂f/∂x = y and ∂f/∂y = x, so gradient descent on x and ascent on
# y rotate around it; the discretisation decides whether the rotation spirals out, cycles or
# converges (Gidel et al., 2019, "A variational inequality perspective on GANs"; Daskalakis et
# al., 2018, "Training GANs with optimism"; Korpelevich, 1976, the extragradient method).
# Each function returns the trajectory as a (num_steps + 1, 2) tensor of (x, y).

def _start(x0: float, y0: float, num_steps: int, lr: float):
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps <= 0:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    return [(float(x0), float(y0))]


def gda_simultaneous(num_steps: int, lr: float, x0: float = 1.0, y0: float = 1.0) -> torch.Tensor:
    """x ← x − η y and y ← y + η x, both from the old point: |(x, y)| grows by √(1 + η²) a step."""
    path = _start(x0, y0, num_steps, lr)
    for _ in range(num_steps):
        x, y = path[-1]
        path.append((x - lr * y, y + lr * x))
    return torch.tensor(path, dtype=torch.float64)


def gda_alternating(num_steps: int, lr: float, x0: float = 1.0, y0: float = 1.0) -> torch.Tensor:
    """x ← x − η y, then y ← y + η x with the *new* x: bounded, it cycles (for η < 2) but never converges."""
    path = _start(x0, y0, num_steps, lr)
    for _ in range(num_steps):
        x, y = path[-1]
        x = x - lr * y
        path.append((x, y + lr * x))
    return torch.tensor(path, dtype=torch.float64)


def optimistic_gda(num_steps: int, lr: float, x0: float = 1.0, y0: float = 1.0) -> torch.Tensor:
    """Optimism: step with 2·(gradient now) − (gradient before); converges for small η."""
    path = _start(x0, y0, num_steps, lr)
    gx_prev, gy_prev = path[0][1], path[0][0]
    for _ in range(num_steps):
        x, y = path[-1]
        gx, gy = y, x  # ∂f/∂x, ∂f/∂y
        path.append((x - lr * (2 * gx - gx_prev), y + lr * (2 * gy - gy_prev)))
        gx_prev, gy_prev = gx, gy
    return torch.tensor(path, dtype=torch.float64)


def extragradient(num_steps: int, lr: float, x0: float = 1.0, y0: float = 1.0) -> torch.Tensor:
    """Look ahead one step, then update with the gradient at the look-ahead point; converges."""
    path = _start(x0, y0, num_steps, lr)
    for _ in range(num_steps):
        x, y = path[-1]
        x_half, y_half = x - lr * y, y + lr * x
        path.append((x - lr * y_half, y + lr * x_half))
    return torch.tensor(path, dtype=torch.float64)


def gda_with_optimizer(make_optimizer, num_steps: int, x0: float = 1.0, y0: float = 1.0,
                       alternating: bool = False) -> torch.Tensor:
    """The bilinear game played by real torch optimizers: ``make_optimizer(params)``, e.g.
    ``lambda p: torch.optim.Adam(p, lr=0.01)``. x descends f; y descends −f (ascends f)."""
    _start(x0, y0, num_steps, 1.0)
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    y = torch.tensor(float(y0), dtype=torch.float64, requires_grad=True)
    opt_x, opt_y = make_optimizer([x]), make_optimizer([y])
    path = [(x.item(), y.item())]
    for _ in range(num_steps):
        opt_x.zero_grad()
        opt_y.zero_grad()
        x.grad, y.grad = y.detach().clone(), -x.detach().clone()  # ∂f/∂x = y; ∂(−f)/∂y = −x
        opt_x.step()
        if alternating:
            y.grad = -x.detach().clone()  # y reacts to the new x
        opt_y.step()
        path.append((x.item(), y.item()))
    return torch.tensor(path, dtype=torch.float64)


def distance_to_equilibrium(path: torch.Tensor) -> torch.Tensor:
    """|(x, y) − (0, 0)| along a trajectory of shape (T, 2)."""
    path = torch.as_tensor(path, dtype=torch.float64)
    if path.dim() != 2 or path.shape[1] != 2:
        raise ValueError(f"path must have shape (T, 2), got {tuple(path.shape)}")
    return path.norm(dim=1)


# --- The Dirac-GAN (Mescheder et al., 2018, "Which training methods for GANs do actually converge?")
# The data are the point 0, G puts all its mass on θ, and D(x) = ψ·x. The equilibrium is θ = ψ = 0.
# Trained with the real GAN losses by ``train_gan`` (D step, then G step: alternating gradient
# descent), the pair circles the equilibrium; the R1 penalty (γ/2)·E‖∇ₓD(x)‖² on the real data,
# here (γ/2)·ψ², damps D's slope and the pair spirals in.

class DiracGenerator(torch.nn.Module):
    """G(z) = θ for every z: a generator whose distribution is a single point. Output (B, 1)."""

    latent_dim = 1

    def __init__(self, theta: float = 1.0):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.tensor([float(theta)]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.theta.expand(z.shape[0], 1)  # (B, 1)


class DiracDiscriminator(torch.nn.Module):
    """D(x) = ψ·x, a linear discriminator on the line. Input (B, 1), logits (B,)."""

    def __init__(self, psi: float = 1.0):
        super().__init__()
        self.psi = torch.nn.Parameter(torch.tensor(float(psi)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.psi * x[:, 0]  # (B,)


def dirac_gan(num_steps: int, lr: float = 0.1, gamma: float = 0.0, theta0: float = 1.0, psi0: float = 1.0) -> torch.Tensor:
    """Train the Dirac-GAN with plain SGD, the non-saturating loss and, if ``gamma`` > 0, the R1
    penalty ``gamma / 2 · losses.r1_penalty``; returns the trajectory of (θ, ψ), shape (num_steps + 1, 2)."""

    _start(theta0, psi0, num_steps, lr)
    if not gamma >= 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    G, D = DiracGenerator(theta0), DiracDiscriminator(psi0)
    path = [(theta0, psi0)]
    record = lambda step, G, D, history: path.append((G.theta.item(), D.psi.item()))  # noqa: E731
    penalty = (lambda D, real, fake: gamma / 2 * r1_penalty(D, real)) if gamma > 0 else None
    train_gan(G, D, lambda n: torch.zeros(n, 1), num_steps=num_steps, batch_size=1, d_penalty=penalty,
              opt_G=torch.optim.SGD(G.parameters(), lr=lr), opt_D=torch.optim.SGD(D.parameters(), lr=lr),
              callbacks=[record], progress=False)
    return torch.tensor(path, dtype=torch.float64)


# --- Lipschitz constants of a discriminator (Miyato et al., 2018, §2.1) ---------------------------
# ‖D‖_Lip ≤ ∏ ‖layer‖_op over its linear layers when the activations are 1-Lipschitz (LeakyReLU is).
# Spectral normalisation divides each weight, reshaped to a matrix, by its largest singular value;
# for a convolution that matrix is not the layer's operator, so the bound is computed on the operator.

def operator_norm(layer, input_shape, num_iters: int = 100, seed: int = 0) -> float:
    """The largest singular value of the linear map x ↦ layer(x) − layer(0) of a ``Conv2d`` or
    ``Linear`` (with its weight as used in the forward pass, e.g. spectrally normalised), on inputs of
    ``input_shape`` (without the batch dimension), by power iteration on Lᵀ L."""
    if not isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
        raise TypeError(f"layer must be a Conv2d or a Linear, got {type(layer).__name__}")
    weight = layer.weight.detach()
    if isinstance(layer, torch.nn.Conv2d):
        apply = lambda x: torch.nn.functional.conv2d(x, weight, None, layer.stride, layer.padding, layer.dilation, layer.groups)  # noqa: E731
    else:
        apply = lambda x: torch.nn.functional.linear(x, weight)  # noqa: E731
    v = torch.randn((1, *input_shape), generator=torch.Generator().manual_seed(seed))
    with torch.enable_grad():
        for _ in range(num_iters):
            v = (v / v.norm()).requires_grad_(True)
            (v,) = torch.autograd.grad(apply(v).square().sum() / 2, v)  # Lᵀ L v
    return math.sqrt(v.norm().item())

