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


# --- least squares, Wasserstein, gradient penalty ------------------------------------------------
from gantutor.losses import (gradient_penalty, ls_discriminator_loss, ls_generator_loss, wasserstein_critic_loss,
                             wasserstein_generator_loss)


def test_least_squares_losses_by_hand():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])
    # ½·mean((0, 2)²) + ½·mean((0, −2)²) = ½·2 + ½·2
    assert float(ls_discriminator_loss(real, fake)) == pytest.approx(2.0)
    # ½·mean((−1, −3)²) = ½·5
    assert float(ls_generator_loss(fake)) == pytest.approx(2.5)


def test_wasserstein_losses_by_hand():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])
    assert float(wasserstein_critic_loss(real, fake)) == pytest.approx(-1.0 - 2.0)
    assert float(wasserstein_generator_loss(fake)) == pytest.approx(1.0)


class Linear2D(torch.nn.Module):
    """D(x) = w·x: its gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w))

    def forward(self, x):
        return x @ self.w


def test_gradient_penalty_is_zero_for_unit_gradients_and_one_for_zero_gradients():
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    assert gradient_penalty(Linear2D([0.6, 0.8]), real, fake).item() == pytest.approx(0.0, abs=1e-12)
    assert gradient_penalty(Linear2D([0.0, 0.0]), real, fake).item() == pytest.approx(1.0)
    assert gradient_penalty(Linear2D([3.0, 4.0]), real, fake).item() == pytest.approx(16.0)  # (5 − 1)²


def test_gradient_penalty_reaches_the_critic_not_the_generator():
    D = Linear2D([3.0, 4.0])
    fake = torch.randn(8, 2, requires_grad=True)
    gradient_penalty(D, torch.randn(8, 2), fake).backward()
    assert D.w.grad is not None and fake.grad is None


def test_gradient_penalty_on_images():
    D = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 1))
    assert gradient_penalty(D, torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)).dim() == 0
    with pytest.raises(ValueError, match="real has shape"):
        gradient_penalty(D, torch.randn(4, 3, 2, 2), torch.randn(5, 3, 2, 2))


def test_hinge_losses_by_hand():
    from gantutor.losses import hinge_discriminator_loss, hinge_generator_loss

    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-3.0, 0.0, 0.5])
    # real: max(0, 1 - s) = 0, 0.5, 2 -> mean 2.5/3; fake: max(0, 1 + s) = 0, 1, 1.5 -> mean 2.5/3
    assert hinge_discriminator_loss(real, fake).item() == pytest.approx(5.0 / 3)
    assert hinge_generator_loss(fake).item() == pytest.approx(2.5 / 3)
    with pytest.raises(ValueError):
        hinge_discriminator_loss(real, fake[:2])


def test_r1_penalty_of_a_linear_critic_is_its_squared_weight_norm():
    from gantutor.losses import r1_penalty

    D = torch.nn.Linear(3, 1)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([[1.0, -2.0, 2.0]]))
    critic = lambda x: D(x).squeeze(1)  # noqa: E731 - ∇ₓ D = w everywhere, ‖w‖² = 9
    penalty = r1_penalty(critic, torch.randn(5, 3))
    assert penalty.item() == pytest.approx(9.0)
    penalty.backward()  # it keeps D's graph: d(‖w‖²)/dw = 2w
    assert torch.allclose(D.weight.grad, 2 * D.weight.detach())


def test_clip_weights_clamps_every_parameter():
    from gantutor.losses import clip_weights

    D = torch.nn.Linear(4, 2)
    with torch.no_grad():
        D.weight.mul_(100)
    clip_weights(D, 0.01)
    assert all(p.abs().max() <= 0.01 for p in D.parameters())
    with pytest.raises(ValueError, match="c must be"):
        clip_weights(D, 0)


def test_one_sided_label_smoothing_is_bce_with_target_0_9():
    from gantutor import losses
    import torch.nn.functional as F

    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.3, -2.0, 1.0])
    expected = F.binary_cross_entropy_with_logits(real, torch.full_like(real, 0.9)) + \
        F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    assert torch.allclose(losses.discriminator_loss(real, fake, real_label=0.9), expected)
    # with smoothing, D's best logit for a real image is log(0.9 / 0.1), not +inf
    l = torch.tensor([math.log(9.0)], requires_grad=True)
    losses.discriminator_loss(l, torch.tensor([-50.0]), real_label=0.9).backward()
    assert abs(l.grad.item()) < 1e-6
    with pytest.raises(ValueError, match="real_label"):
        losses.discriminator_loss(real, fake, real_label=0.3)


# --- the registry ----------------------------------------------------------------------------------

from gantutor import losses  # noqa: E402
from gantutor.models import MLPDiscriminator, MLPGenerator  # noqa: E402
from gantutor.train import TrainConfig, train_gan  # noqa: E402
from gantutor.widgets import playground  # noqa: E402


def test_every_registered_loss_trains_two_steps_and_has_its_formulas():
    for name, loss in losses.LOSSES.items():
        assert loss.name == name and loss.d_formula and loss.g_formula and loss.source
        torch.manual_seed(0)
        history = train_gan(MLPGenerator(2, hidden=(8,)), MLPDiscriminator(hidden=(8,)), lambda n: torch.randn(n, 2),
                            num_steps=2, batch_size=8, loss=name, progress=False)
        assert len(history) == 2 and all(math.isfinite(v) for v in history.d_loss), name


def test_a_loss_added_to_the_registry_appears_in_the_playground_and_the_chapter_5_table(monkeypatch):
    calls = []

    def penalty(D, real, fake):
        calls.append(real.shape[0])
        return torch.zeros(())
    dummy = losses.GANLoss("dummy", losses.wasserstein_critic_loss, lambda s: -2 * s.mean(), "E[D(G(z))] − E[D(x)]",
                           "−2·E[D(G(z))]", "this test", penalty=penalty)
    monkeypatch.setitem(losses.LOSSES, "dummy", dummy)  # what register(dummy) does; removed after the test
    assert [r for r in losses.side_by_side() if r["loss"] == "dummy"][0]["push at s = -5"] == 2.0
    box = playground(width=16, batch_size=16, g_loss="dummy")
    assert "dummy" in box.children[1].children[1].options
    box.children[0].children[1].click()  # one chunk of training with the dummy loss
    assert box.model.step == 50 and calls == [16] * 50


def test_a_registered_name_is_taken_once_and_an_unknown_name_is_refused_before_training():
    with pytest.raises(ValueError, match="already registered"):
        losses.register(losses.LOSSES["hinge"])
    with pytest.raises(ValueError, match="loss must be one of 'minimax', 'non-saturating'"):
        train_gan(MLPGenerator(2, hidden=(8,)), MLPDiscriminator(hidden=(8,)), lambda n: torch.randn(n, 2), loss="hindge")


def test_a_configs_replacements_win_over_the_named_losss_own():
    objective = TrainConfig(loss="wasserstein (clipped)", d_clip=0.05, g_loss=generator_loss_minimax).objective()
    assert objective.d_loss is losses.wasserstein_critic_loss and objective.g_loss is generator_loss_minimax
    assert objective.settings == {"d_clip": 0.05}
    assert TrainConfig(loss="wasserstein-gp").objective().penalty is losses.wgan_gp_penalty
