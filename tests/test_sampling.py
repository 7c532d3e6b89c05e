"""Drawing from generators: rejection sampling with a fitted D, latent walks."""
import pytest
import torch

from gantutor import seed_everything
from gantutor.models import MLPDiscriminator, MLPGenerator
from gantutor.sampling import fit_discriminator, interpolate_latents, rejection_sample


def test_fit_discriminator_learns_to_separate_two_fixed_distributions():
    seed_everything(0)
    D = MLPDiscriminator(in_dim=1, hidden=(16,))
    losses_ = fit_discriminator(D, lambda n: torch.randn(n, 1) - 3, lambda n: torch.randn(n, 1) + 3,
                                num_steps=200, batch_size=64, lr=1e-2)
    assert len(losses_) == 200 and losses_[-1] < 0.1 < losses_[0]
    with pytest.raises(ValueError, match="num_steps"):
        fit_discriminator(D, torch.randn, torch.randn, num_steps=0)

def test_fit_discriminator_lr_decay_reaches_zero():
    D = MLPDiscriminator(in_dim=1, hidden=(8,))
    opt = torch.optim.Adam(D.parameters(), lr=1e-2)
    fit_discriminator(D, lambda n: torch.randn(n, 1), lambda n: torch.randn(n, 1) + 1, num_steps=10, opt=opt, lr_decay=True)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0)

class _Shift(torch.nn.Module):
    """A 'generator' N(0, 1) in 1D; latent_dim so that generate() can sample it."""

    latent_dim = 1

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, z):
        return z + self.dummy

class _ExactRatio(torch.nn.Module):
    """logit D*(x) = log N(x; 2, 1) − log N(x; 0, 1) = 2x − 2: the optimal D of N(2, 1) against N(0, 1)."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return (2 * x - 2 + self.dummy).squeeze(1)

def test_rejection_sampling_with_the_exact_ratio_recovers_the_data():
    torch.manual_seed(0)
    # with the exact log-ratio, N(0, 1) corrected by D* becomes N(2, 1) (up to the max cut-off)
    x, acceptance = rejection_sample(_Shift(), _ExactRatio(), 4000, quantile=1.0, burn_in=20000)
    assert x.shape == (4000, 1)
    assert x.mean().item() == pytest.approx(2.0, abs=0.08)
    assert x.std().item() == pytest.approx(1.0, abs=0.08)
    assert 0 < acceptance < 0.2

def test_rejection_sampling_refuses_a_packed_discriminator_and_reports_starvation():
    G = MLPGenerator(2, hidden=(8,))
    with pytest.raises(ValueError, match="one logit per sample"):
        rejection_sample(G, MLPDiscriminator(hidden=(8,), pack=2), 10, burn_in=100)

    class Never(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):  # one huge logit in the burn-in sets M; nothing later gets near it
            out = torch.full((x.shape[0],), -1e4) + self.dummy
            out[0] = 1e4 if x.shape[0] == 100 else -1e4
            return out

    with pytest.raises(RuntimeError, match="kept 0 of"):
        rejection_sample(G, Never(), 10, quantile=1.0, burn_in=100, chunk=50, max_draws=200)
    with pytest.raises(ValueError, match="quantile"):
        rejection_sample(G, Never(), 10, quantile=0)

def test_interpolate_latents_ends_at_both_points_and_keeps_the_norm_on_the_sphere():
    z0, z1 = torch.randn(64, generator=torch.Generator().manual_seed(0)), torch.randn(64, generator=torch.Generator().manual_seed(1))
    for spherical in (True, False):
        path = interpolate_latents(z0, z1, 9, spherical)
        assert path.shape == (9, 64) and torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    mid_slerp, mid_line = interpolate_latents(z0, z1, 3)[1], interpolate_latents(z0, z1, 3, spherical=False)[1]
    assert mid_line.norm() < 0.8 * z0.norm()  # the straight line cuts inside the shell where the noise lives
    assert abs(mid_slerp.norm() - (z0.norm() + z1.norm()) / 2) < 0.05 * z0.norm()
    with pytest.raises(ValueError, match="same size"):
        interpolate_latents(z0, z1[:10], 3)
