import math

import numpy as np
import pytest
import torch

from gantutor import losses, theory
from gantutor.data import mixture
from gantutor.theory import (gaussian_density, js_divergence, kl_divergence, optimal_discriminator,
                             value_function)

X = torch.linspace(-12, 12, 24001, dtype=torch.float64)
DX = float(X[1] - X[0])


def test_optimal_discriminator_formula():
    p, q = torch.tensor([0.2, 0.0, 0.0, 1.0]), torch.tensor([0.6, 0.5, 0.0, 0.0])
    assert torch.allclose(optimal_discriminator(p, q), torch.tensor([0.25, 0.0, 0.5, 1.0], dtype=torch.float64))


def test_optimal_discriminator_maximises_the_value_function():
    p, q = gaussian_density(X, 0, 1), gaussian_density(X, 1, 0.5)
    d_star = optimal_discriminator(p, q)
    best = value_function(d_star, p, q, DX)
    for shift in (-0.05, 0.05):
        assert value_function((d_star + shift).clamp(1e-9, 1 - 1e-9), p, q, DX) < best


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (1.0, 0.5), (3.0, 2.0), (-2.0, 0.3)])
def test_value_at_optimal_d_is_minus_log4_plus_2_jsd(mean, std):
    p, q = gaussian_density(X, 0, 1), gaussian_density(X, mean, std)
    p, q = p / (p.sum() * DX), q / (q.sum() * DX)  # the identity holds for densities normalised on the grid
    v = value_function(optimal_discriminator(p, q), p, q, DX)
    assert abs(v - (-math.log(4) + 2 * js_divergence(p, q, DX))) < 1e-6


def test_identity_in_2d_on_the_ring():
    ring = mixture("ring")
    axis = torch.linspace(-1.6, 1.6, 801, dtype=torch.float64)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    pts = torch.stack([xx.flatten(), yy.flatten()], 1)
    p = ring.density(pts)
    q = torch.exp(-0.5 * (pts**2).sum(1) / 0.5**2) / (2 * math.pi * 0.5**2)  # N(0, 0.5² I)
    cell = float(axis[1] - axis[0]) ** 2
    p, q = p / (p.sum() * cell), q / (q.sum() * cell)
    v = value_function(optimal_discriminator(p, q), p, q, cell)
    assert abs(v - (-math.log(4) + 2 * js_divergence(p, q, cell))) < 1e-6


def test_kl_matches_closed_form_for_gaussians():
    m1, s1, m2, s2 = 0.0, 1.0, 1.0, 2.0
    closed = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    assert abs(kl_divergence(gaussian_density(X, m1, s1), gaussian_density(X, m2, s2), DX) - closed) < 1e-6


def test_js_bounds():
    p = gaussian_density(X, 0, 1)
    assert abs(js_divergence(p, p, DX)) < 1e-12
    box = lambda lo, hi: ((X >= lo) & (X < hi)).double() / (hi - lo)
    assert abs(js_divergence(box(-3, -1), box(1, 3), DX) - math.log(2)) < 1e-3  # disjoint supports


def test_kl_is_infinite_without_overlap():
    box = lambda lo, hi: ((X >= lo) & (X < hi)).double() / (hi - lo)
    assert kl_divergence(box(-3, -1), box(1, 3), DX) == math.inf


def test_numpy_inputs_are_accepted():
    p = gaussian_density(X, 0, 1).numpy()
    assert isinstance(js_divergence(p, np.array(p), DX), float)


def test_bad_inputs_are_refused():
    p = gaussian_density(X, 0, 1)
    with pytest.raises(ValueError, match="integrates to"):
        js_divergence(p * 2, p, DX)
    with pytest.raises(ValueError, match="shape"):
        js_divergence(p, p[:-1], DX)
    with pytest.raises(ValueError, match="dx"):
        kl_divergence(p, p, 0.0)
    with pytest.raises(ValueError, match="non-negative"):
        optimal_discriminator(-p, p)
    with pytest.raises(ValueError, match="probabilities"):
        value_function(p * 10, p, p, DX)


# --- game dynamics -------------------------------------------------------------------------------
from gantutor.theory import (distance_to_equilibrium, extragradient, gda_alternating, gda_simultaneous,
                             gda_with_optimizer, optimistic_gda)


def test_simultaneous_gda_spirals_out_at_the_predicted_rate():
    lr, steps = 0.1, 50
    d = distance_to_equilibrium(gda_simultaneous(steps, lr))
    assert torch.allclose(d[-1] / d[0], torch.tensor((1 + lr**2) ** (steps / 2), dtype=torch.float64))


def test_alternating_gda_stays_bounded_but_does_not_converge():
    d = distance_to_equilibrium(gda_alternating(2000, 0.1))
    assert d.max() < 1.2 * d[0] and d[-500:].min() > 0.8 * d[0]


def test_optimism_and_extragradient_converge():
    for method in (optimistic_gda, extragradient):
        d = distance_to_equilibrium(method(2000, 0.1))
        assert d[-1] < 1e-3 * d[0], method.__name__


def test_optimizer_version_matches_hand_written_sgd():
    sgd = lambda p: torch.optim.SGD(p, lr=0.1)
    assert torch.allclose(gda_with_optimizer(sgd, 30), gda_simultaneous(30, 0.1))
    assert torch.allclose(gda_with_optimizer(sgd, 30, alternating=True), gda_alternating(30, 0.1))


def test_momentum_makes_simultaneous_gda_diverge_faster():
    plain = distance_to_equilibrium(gda_with_optimizer(lambda p: torch.optim.SGD(p, lr=0.1), 200))
    heavy = distance_to_equilibrium(gda_with_optimizer(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), 200))
    assert heavy[-1] > plain[-1] > plain[0]


def test_dynamics_refuse_bad_arguments():
    with pytest.raises(ValueError, match="num_steps"):
        gda_simultaneous(0, 0.1)
    with pytest.raises(ValueError, match="lr"):
        extragradient(10, -1.0)
    with pytest.raises(ValueError, match="path"):
        distance_to_equilibrium(torch.zeros(5, 3))


def test_the_dirac_gan_circles_without_r1_and_converges_with_it():
    plain, r1 = theory.dirac_gan(1000, lr=0.1), theory.dirac_gan(1000, lr=0.1, gamma=0.3)
    assert plain.shape == (1001, 2) and plain[0].tolist() == [1.0, 1.0]
    turns = int((plain[1:, 0] * plain[:-1, 0] < 0).sum())
    assert turns >= 10 and theory.distance_to_equilibrium(plain)[-1] > 0.1  # G keeps overshooting the data
    assert theory.distance_to_equilibrium(r1)[-1] < 1e-5
    D = theory.DiracDiscriminator(psi=-1.5)
    assert torch.isclose(losses.r1_penalty(D, torch.zeros(3, 1)), torch.tensor(2.25))  # E‖∇ₓ ψx‖² = ψ²
    with pytest.raises(ValueError, match="gamma"):
        theory.dirac_gan(10, gamma=-1)


def test_operator_norm_matches_the_matrix_norm_of_a_linear_layer_and_bounds_a_convolution():
    torch.manual_seed(0)
    linear = torch.nn.Linear(7, 4)
    assert theory.operator_norm(linear, (7,)) == pytest.approx(torch.linalg.matrix_norm(linear.weight.detach(), 2).item(), rel=1e-4)
    conv = torch.nn.Conv2d(1, 4, 4, stride=2, padding=1)
    norm = theory.operator_norm(conv, (1, 12, 12))
    x = torch.randn(64, 1, 12, 12)
    ratios = (conv(x) - conv(torch.zeros_like(x))).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)
    assert ratios.max().item() <= norm * (1 + 1e-4)  # no input is stretched more than the norm
    with pytest.raises(TypeError, match="Conv2d or a Linear"):
        theory.operator_norm(torch.nn.ReLU(), (3,))

