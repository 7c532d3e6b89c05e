"""Helpers added for chapter 9 (myths and errata): the training-pass latency of pruned models."""
import pytest
import torch
from torch import nn

from gantutor import prune as P
from gantutor.models import DCGANGenerator


def test_compare_train_latency_times_every_model_and_leaves_the_originals_alone():
    torch.manual_seed(0)
    G = DCGANGenerator(latent_dim=8, base_channels=4).eval()
    masked = P.magnitude_prune(DCGANGenerator(latent_dim=8, base_channels=4).eval(), 0.9)
    stats = G.project[1].running_mean.clone()
    ms = P.compare_train_latency({"dense": G, "masked": masked}, torch.randn(16, 8), rounds=3, warmup=1)
    assert set(ms) == {"dense", "masked"} and all(v > 0 for v in ms.values())
    assert torch.equal(G.project[1].running_mean, stats), "BatchNorm statistics of the original changed"
    assert not G.training and not masked.training
    assert all(p.grad is None for p in [*G.parameters(), *masked.parameters()]), "the originals received gradients"


def test_compare_train_latency_is_slower_for_more_work_and_validates():
    fast, slow = nn.Linear(4, 4), nn.Sequential(*[nn.Linear(4, 4) for _ in range(50)])
    ms = P.compare_train_latency({"fast": fast, "slow": slow}, torch.randn(2, 4), rounds=3, per_round=2)
    assert 0 < ms["fast"] < ms["slow"]
    for bad in ({"rounds": 0}, {"per_round": 0}, {"warmup": -1}):
        with pytest.raises(ValueError, match="rounds"):
            P.compare_train_latency({"fast": fast}, torch.randn(2, 4), **bad)
