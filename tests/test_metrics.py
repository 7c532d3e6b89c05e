import math
import scipy.linalg

import numpy as np
import pytest
import torch

from gantutor.data import mixture
from gantutor.data import mnist
from gantutor.metrics import (class_histogram, classify, digit_features, fid, frechet_distance, kid, kl_to_uniform,
                              memorisation, precision_recall,
                              load_classifier)
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


# --- Image metrics: the shipped digit classifier, the Fréchet distance, FID, KID and class histograms. ----------

def _scipy_frechet(a, b):
    """An independent computation with scipy's general matrix square root."""
    mu_a, mu_b, ca, cb = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(ca @ cb).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca + cb - 2 * root))


def test_frechet_distance_agrees_with_scipy_and_is_zero_for_identical_sets():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 8))
    b = rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8)) * 0.5 + 1.0
    assert frechet_distance(a, b) == pytest.approx(_scipy_frechet(a, b), abs=1e-4)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    # a pure shift of the mean by v adds exactly |v|^2
    assert frechet_distance(a, a + 2.0) == pytest.approx(8 * 4.0, abs=1e-6)


def test_frechet_distance_refuses_bad_shapes():
    with pytest.raises(ValueError, match="same feature size"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="feats_a"):
        frechet_distance(np.zeros(5), np.zeros((5, 4)))


def test_the_shipped_classifier_is_small_and_at_least_97_percent_accurate():
    test = mnist("test")
    assert (classify(test.images) == test.labels).float().mean() >= 0.97
    assert sum(p.numel() for p in load_classifier().parameters()) * 4 <= 500_000


def test_fid_and_kid_separate_real_digits_from_one_class_and_show_the_floor():
    train, test = mnist("train"), mnist("test")
    ones = train.images[train.labels == 1][:400]
    floor = fid(test.images, train.images[:1000])
    assert 0 < floor < fid(test.images, ones) / 10
    # the small-sample bias: the same distributions look further apart with fewer images
    assert fid(test.images[:100], train.images[:100]) > floor
    same, _ = kid(test.images, train.images[:1000], num_subsets=10, subset_size=200)
    apart, _ = kid(test.images, ones, num_subsets=10, subset_size=200)
    assert abs(same) < 0.1 * apart


def test_class_histogram_and_kl_to_uniform():
    test = mnist("test")
    h = class_histogram(test.images)
    assert h.sum() == 1000 and h.min() >= 90 and kl_to_uniform(h) < 0.01
    assert kl_to_uniform([0, 0, 5, 0, 0, 0, 0, 0, 0, 0]) == pytest.approx(math.log(10))
    assert kl_to_uniform([1] * 10) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="histogram"):
        kl_to_uniform([0] * 10)


def test_image_metrics_refuse_the_wrong_image_size_and_nan():
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        fid(torch.zeros(10, 1, 8, 8), torch.zeros(10, 1, 8, 8))
    with pytest.raises(ValueError, match="NaN"):
        class_histogram(torch.full((4, 1, 28, 28), float("nan")))


def test_feature_layers_and_their_sensitivity():
    train, test = mnist("train"), mnist("test")
    assert digit_features(test.images[:5]).shape == (5, 576)
    assert digit_features(test.images[:5], layer="hidden").shape == (5, 64)
    with pytest.raises(ValueError, match="layer must be one of"):
        digit_features(test.images[:5], layer="pool3")
    # both layers see thickened strokes; the class-trained hidden layer is the harsher one
    thick = torch.nn.functional.max_pool2d(train.images[:1000], 3, 1, 1)
    ratios = {layer: fid(thick, test.images, layer) / fid(train.images[:1000], test.images, layer)
              for layer in ("conv", "hidden")}
    assert 3 < ratios["conv"] < ratios["hidden"]


def test_precision_recall_tell_realism_from_coverage():
    train, test = mnist("train"), mnist("test")
    p, r = precision_recall(test.images[:500], train.images[:500])
    assert p > 0.7 and r > 0.7  # real vs real: both high
    ones = train.images[train.labels == 1][:300]
    p1, r1 = precision_recall(test.images[:500], ones)
    assert p1 > 0.7 and r1 < 0.3  # realistic but one class: high precision, low recall
    noise = torch.rand(300, 1, 28, 28) * 2 - 1
    pn, _ = precision_recall(test.images[:500], noise)
    assert pn < 0.05
    with pytest.raises(ValueError, match="more than k"):
        precision_recall(test.images[:3], train.images[:100])


def test_memorisation_flags_copies_and_not_new_digits():
    train, test = mnist("train"), mnist("test")
    fresh = memorisation(test.images[:300], train.images, test.images[300:])
    assert fresh.copy_rate() < 0.05
    copies = (train.images[:300] + 0.02 * torch.randn(300, 1, 28, 28)).clamp(-1, 1)
    report = memorisation(copies, train.images, test.images)
    assert report.copy_rate() > 0.95 and (report.nearest == torch.arange(300)).all()
    assert "copy rate" in str(report)
