import math

import pytest
import torch

from gantutor.data import custom_mixture, mixture


def test_ring_follows_pacgan_protocol():
    ring = mixture("ring")
    assert ring.means.shape == (8, 2) and ring.std == 0.01
    assert torch.allclose(ring.means.norm(dim=1), torch.ones(8), atol=1e-6)
    assert torch.allclose(ring.means[2], torch.tensor([0.0, 1.0]), atol=1e-6)  # 90° apart / 2


def test_grid_follows_pacgan_protocol():
    grid = mixture("grid")
    assert grid.means.shape == (25, 2) and grid.std == 0.05
    assert sorted(set(grid.means[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_samples_sit_on_the_modes_with_the_right_spread():
    ring = mixture("ring")
    x = ring.sample(20000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (20000, 2)
    offsets = x - ring.means[torch.cdist(x, ring.means).argmin(1)]
    assert abs(float(offsets.std()) - 0.01) < 5e-4


def test_sampling_is_reproducible_with_a_generator():
    ring = mixture("ring")
    a = ring.sample(10, generator=torch.Generator().manual_seed(3))
    b = ring.sample(10, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_density_integrates_to_one():
    grid = mixture("grid")
    axis = torch.linspace(-5, 5, 801)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    p = grid.density(torch.stack([xx.flatten(), yy.flatten()], 1))
    cell = float(axis[1] - axis[0]) ** 2
    assert abs(float(p.sum()) * cell - 1) < 1e-3


def test_density_at_a_mode_centre():
    ring = mixture("ring")
    peak = float(ring.density(ring.means[:1]))
    assert math.isclose(peak, 1 / 8 / (2 * math.pi * 0.01**2), rel_tol=1e-6)


@pytest.mark.parametrize("bad", ["rings", "", "Ring"])
def test_unknown_mixture_name_is_refused(bad):
    with pytest.raises(ValueError, match="name must be one of"):
        mixture(bad)


@pytest.mark.parametrize("n", [0, -5])
def test_non_positive_sample_count_is_refused(n):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        mixture("ring").sample(n)


def test_non_integer_sample_count_is_refused():
    with pytest.raises(TypeError, match="n must be a positive integer"):
        mixture("ring").sample(2.5)


def test_custom_mixture_validates():
    m = custom_mixture([[0, 0], [1, 1]], 0.1)
    assert m.num_modes == 2
    with pytest.raises(ValueError, match="means"):
        custom_mixture([0, 1, 2], 0.1)
    with pytest.raises(ValueError, match="std"):
        custom_mixture([[0, 0]], 0.0)


def test_pack_puts_m_consecutive_samples_side_by_side():
    from gantutor.models import pack

    x = torch.arange(12.0).reshape(6, 2)
    assert torch.equal(pack(x, 3), torch.tensor([[0.0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]))
    with pytest.raises(ValueError, match="divisible by m = 4"):
        pack(x, 4)


def test_packed_and_minibatch_std_discriminators():
    from gantutor.models import MinibatchStd, MLPDiscriminator

    assert MLPDiscriminator(hidden=(8,), pack=4)(torch.randn(16, 2)).shape == (4,)
    D = MLPDiscriminator(hidden=(8,), minibatch_std=True)
    assert D(torch.randn(16, 2)).shape == (16,)
    h = torch.tensor([[1.0, 0.0], [3.0, 0.0]])
    assert torch.allclose(MinibatchStd()(h)[:, 2], torch.tensor([0.5, 0.5]))  # std (1, 0), mean 0.5
    with pytest.raises(ValueError, match="at least 2"):
        MinibatchStd()(torch.ones(1, 3))
