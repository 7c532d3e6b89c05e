"""Image metrics: the shipped digit classifier, the Fréchet distance, FID, KID and class histograms."""
import math

import numpy as np
import pytest
import scipy.linalg
import torch

from gantutor.data import mnist
from gantutor.metrics import (class_histogram, classify, fid, frechet_distance, kid, kl_to_uniform,
                              load_classifier)


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
