import pytest
import torch

from gantutor.data import mixture
from gantutor.metrics import mode_coverage


def test_real_samples_cover_every_mode():
    for name in ("ring", "grid"):
        m = mixture(name)
        cov = mode_coverage(m.sample(2500, generator=torch.Generator().manual_seed(0)), m)
        assert cov.modes == m.num_modes
        assert cov.high_quality > 0.98  # 3σ in 2D holds ~98.9 % of a Gaussian's mass


def test_a_collapsed_generator_covers_one_mode():
    ring = mixture("ring")
    cov = mode_coverage(ring.means[3] + 0.005 * torch.randn(2500, 2), ring)
    assert (cov.modes, cov.high_quality) == (1, 1.0)
    assert cov.counts[3] == 2500 == cov.nearest[3] == sum(cov.nearest)


def test_samples_between_modes_are_low_quality_and_capture_nothing():
    ring = mixture("ring")
    assert mode_coverage(torch.zeros(2500, 2), ring).modes == 0
    between = torch.tensor([[0.5, 0.5], [0.5, 0.5], [-0.5, 0.0]])  # halfway to mode 1 (twice), and to mode 4
    cov = mode_coverage(between, ring)
    assert cov.modes == 0 and cov.high_quality == 0.0 and sum(cov.counts) == 0
    assert cov.nearest == (0, 2, 0, 0, 1, 0, 0, 0)  # the mass is counted where it lies, good or not


def test_threshold_is_three_standard_deviations():
    ring = mixture("ring")
    inside = ring.means[:1] + torch.tensor([[0.0299, 0.0]])
    outside = ring.means[:1] + torch.tensor([[0.0301, 0.0]])
    assert mode_coverage(inside, ring).modes == 1
    assert mode_coverage(outside, ring).modes == 0


def test_bad_samples_are_refused():
    ring = mixture("ring")
    with pytest.raises(ValueError, match=r"samples must have shape \(batch, 2\)"):
        mode_coverage(torch.zeros(10, 3), ring)
    with pytest.raises(ValueError, match="NaN"):
        mode_coverage(torch.full((10, 2), float("nan")), ring)


def test_coverage_tracker_records_every_n_steps():
    from gantutor.metrics import CoverageTracker
    from gantutor.models import MLPDiscriminator, MLPGenerator
    from gantutor.train import train_gan

    ring = mixture("ring")
    tracker = CoverageTracker(ring, every=5, n=100)
    train_gan(MLPGenerator(2, hidden=(8,)), MLPDiscriminator(hidden=(8,)), ring.sample, num_steps=12, batch_size=8,
              callbacks=[tracker], progress=False)
    assert [r["step"] for r in tracker.records] == [5, 10]
    assert all(0 <= r["mean_d_fake"] <= 1 and 0 <= r["modes"] <= 8 for r in tracker.records)
    assert all(len(r["counts"]) == 8 and sum(r["counts"]) <= 100 == sum(r["nearest"]) for r in tracker.records)
