import math

import pytest
import torch

from gantutor.losses import discriminator_loss, generator_loss_minimax, generator_loss_nonsaturating


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def test_discriminator_loss_by_hand():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 1.0])
    expected = -(math.log(sigmoid(0)) + math.log(sigmoid(2))) / 2 - (math.log(1 - sigmoid(-1)) + math.log(1 - sigmoid(1))) / 2
    assert math.isclose(float(discriminator_loss(real, fake)), expected, rel_tol=1e-6)


def test_discriminator_loss_at_chance_is_log_4():
    zeros = torch.zeros(5)
    assert math.isclose(float(discriminator_loss(zeros, zeros)), math.log(4), rel_tol=1e-6)


def test_generator_losses_by_hand():
    fake = torch.tensor([-2.0, 0.5])
    d = [sigmoid(-2.0), sigmoid(0.5)]
    assert math.isclose(float(generator_loss_minimax(fake)), sum(math.log(1 - v) for v in d) / 2, rel_tol=1e-6)
    assert math.isclose(float(generator_loss_nonsaturating(fake)), -sum(math.log(v) for v in d) / 2, rel_tol=1e-6)


def test_losses_are_finite_for_confident_logits():
    big = torch.tensor([200.0, -200.0], requires_grad=True)
    for value in (discriminator_loss(big, -big), generator_loss_minimax(big), generator_loss_nonsaturating(big)):
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(big.grad).all()
        big.grad = None


def test_saturation_gradient_per_sample():
    """d/dl log(1 - σ(l)) = -σ(l): vanishes when D rejects the fake; d/dl -log σ(l) = σ(l) - 1 does not."""
    logit = torch.tensor([-6.0], requires_grad=True)  # D(G(z)) ≈ 0.0025
    (g_mm,) = torch.autograd.grad(generator_loss_minimax(logit), logit)
    (g_ns,) = torch.autograd.grad(generator_loss_nonsaturating(logit), logit)
    d = torch.sigmoid(logit.detach())
    assert torch.allclose(g_mm, -d) and torch.allclose(g_ns, d - 1)
    assert g_ns.abs() > 300 * g_mm.abs()


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="logits_real has shape .* logits_fake"):
        discriminator_loss(torch.zeros(4), torch.zeros(4, 1))


def test_non_tensors_and_integer_logits_are_refused():
    with pytest.raises(TypeError, match="logits_fake must be a torch.Tensor"):
        generator_loss_nonsaturating([0.1, 0.2])
    with pytest.raises(TypeError, match="floating-point"):
        generator_loss_minimax(torch.tensor([1, 2]))
