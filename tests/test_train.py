import copy

import pytest
import torch

from gantutor import default_device, seed_everything
from gantutor.data import mixture
from gantutor.models import MLPDiscriminator, MLPGenerator
from gantutor.train import History, adam, d_step, g_step, generate, sample_noise, train_gan


def small_gan():
    seed_everything(0)
    return MLPGenerator(2, hidden=(16, 16)), MLPDiscriminator(hidden=(16, 16))


def test_seed_everything_repeats_numbers():
    seed_everything(5)
    a = torch.randn(3)
    seed_everything(5)
    assert torch.equal(a, torch.randn(3))


def test_default_device_is_usable():
    assert torch.zeros(1, device=default_device()).device.type in ("cpu", "cuda")


def test_d_step_changes_only_d():
    G, D = small_gan()
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
    out = d_step(G, D, mixture("ring").sample(32), sample_noise(32, 2), adam(D, 1e-2))
    assert set(out) == {"d_loss", "d_real", "d_fake", "d_grad_norm"}
    assert all(torch.equal(p, q) for p, q in zip(G.parameters(), G0.parameters()))
    assert all(p.grad is None for p in G.parameters())  # the fakes were detached
    assert not all(torch.equal(p, q) for p, q in zip(D.parameters(), D0.parameters()))


def test_g_step_changes_only_g():
    G, D = small_gan()
    D0 = copy.deepcopy(D)
    g_step(G, D, sample_noise(32, 2), adam(G, 1e-2))
    assert all(torch.equal(p, q) for p, q in zip(D.parameters(), D0.parameters()))
    assert all(p.grad is None for p in D.parameters()) and all(p.requires_grad for p in D.parameters())


def test_train_gan_records_history_and_calls_callbacks():
    G, D = small_gan()
    seen = []
    h = train_gan(G, D, mixture("ring").sample, num_steps=12, batch_size=16, progress=False,
                  callbacks=[lambda step, G, D, history: seen.append((step, len(history)))])
    assert len(h) == 12 and seen[-1] == (11, 12)
    assert all(0 <= v <= 1 for v in h.d_real + h.d_fake)
    h = train_gan(G, D, mixture("ring").sample, num_steps=3, batch_size=16, progress=False, history=h)
    assert h.step[-4:] == [11, 12, 13, 14]


def test_lr_decay_reaches_zero():
    G, D = small_gan()
    opt_G = adam(G, 1e-3)
    train_gan(G, D, mixture("ring").sample, num_steps=5, batch_size=8, lr_decay=True, opt_G=opt_G, progress=False)
    assert opt_G.param_groups[0]["lr"] == pytest.approx(0.0)


def test_reuse_fakes_trains_g_on_the_d_steps_fakes_judged_by_the_updated_d():
    G, D = small_gan()
    G1, D1 = copy.deepcopy(G), copy.deepcopy(D)
    torch.manual_seed(1)
    train_gan(G, D, mixture("ring").sample, num_steps=1, batch_size=16, lr=1e-2, reuse_fakes=True, progress=False)
    torch.manual_seed(1)  # by hand: the same z for both steps, drawn before the real batch as train_gan does
    z = sample_noise(16, 2)
    d_step(G1, D1, mixture("ring").sample(16), z, adam(D1, 1e-2))
    g_step(G1, D1, z, adam(G1, 1e-2))
    for a, b in ((G, G1), (D, D1)):
        assert all(torch.allclose(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(ValueError, match="reuse_fakes"):
        train_gan(G, D, mixture("ring").sample, num_steps=1, reuse_fakes=True, unroll_steps=2, progress=False)


def test_same_seed_same_run():
    runs = []
    for _ in range(2):
        G, D = small_gan()
        train_gan(G, D, mixture("ring").sample, num_steps=20, batch_size=16, progress=False)
        runs.append(generate(G, 5))
    assert torch.equal(*runs)


def test_history_last():
    h = History()
    assert h.last() == {}
    h.append(0, {"d_loss": 1.0, "g_loss": 2.0})
    assert h.last() == {"step": 0, "d_loss": 1.0, "g_loss": 2.0}


@pytest.mark.parametrize("kwargs,match", [
    ({"num_steps": 0}, "num_steps"), ({"batch_size": -1}, "batch_size"),
    ({"lr": 0.0}, "lr"), ({"d_steps": 0}, "d_steps"),
])
def test_bad_training_arguments_are_refused(kwargs, match):
    G, D = small_gan()
    with pytest.raises(ValueError, match=match):
        train_gan(G, D, mixture("ring").sample, progress=False, **kwargs)


def test_models_refuse_wrong_input_shapes():
    G, D = small_gan()
    with pytest.raises(ValueError, match=r"z must have shape \(batch, 2\)"):
        G(torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 2\)"):
        D(torch.zeros(4))


def test_fit_discriminator_learns_to_separate_two_fixed_distributions():
    from gantutor.train import fit_discriminator

    seed_everything(0)
    D = MLPDiscriminator(in_dim=1, hidden=(16,))
    losses_ = fit_discriminator(D, lambda n: torch.randn(n, 1) - 3, lambda n: torch.randn(n, 1) + 3,
                                num_steps=200, batch_size=64, lr=1e-2)
    assert len(losses_) == 200 and losses_[-1] < 0.1 < losses_[0]
    with pytest.raises(ValueError, match="num_steps"):
        fit_discriminator(D, torch.randn, torch.randn, num_steps=0)


def test_d_step_adds_the_penalty():
    from gantutor.losses import gradient_penalty

    G, D = small_gan()
    x, z = mixture("ring").sample(32), sample_noise(32, 2)
    plain = d_step(copy.deepcopy(G), copy.deepcopy(D), x, z, adam(D, 1e-3))["d_loss"]
    seed_everything(1)
    G, D = small_gan()
    penalised = d_step(G, D, x, z, adam(D, 1e-3), penalty=lambda D, r, f: 10 * gradient_penalty(D, r, f))["d_loss"]
    assert penalised > plain


def test_unrolled_step_changes_g_not_d_and_differs_from_a_plain_step():
    from gantutor.train import g_step_unrolled

    G, D = small_gan()
    G_plain = copy.deepcopy(G)
    D0 = copy.deepcopy(D)
    z = sample_noise(32, 2)
    seed_everything(3)
    g_step_unrolled(G, D, z, torch.optim.SGD(G.parameters(), lr=0.1), mixture("ring").sample, unroll_steps=3, inner_lr=0.5)
    g_step(G_plain, D, z, torch.optim.SGD(G_plain.parameters(), lr=0.1))
    assert all(torch.equal(p, q) for p, q in zip(D.parameters(), D0.parameters()))
    assert all(p.grad is None for p in D.parameters())
    assert not all(torch.allclose(p, q) for p, q in zip(G.parameters(), G_plain.parameters()))


def test_unroll_of_zero_steps_equals_the_plain_step():
    from gantutor.train import g_step_unrolled

    G, D = small_gan()
    G2 = copy.deepcopy(G)
    z = sample_noise(16, 2)
    with pytest.raises(ValueError, match="unroll_steps"):
        g_step_unrolled(G, D, z, adam(G, 1e-3), mixture("ring").sample, unroll_steps=0)
    # one unrolled step with inner_lr = 0 is exactly the plain step
    g_step_unrolled(G, D, z, torch.optim.SGD(G.parameters(), lr=0.1), mixture("ring").sample, unroll_steps=1, inner_lr=0.0)
    g_step(G2, D, z, torch.optim.SGD(G2.parameters(), lr=0.1))
    assert all(torch.allclose(p, q, atol=1e-7) for p, q in zip(G.parameters(), G2.parameters()))


def test_divergence_stops_training_with_the_history_so_far():
    G, D = small_gan()
    sgd = lambda m: torch.optim.SGD(m.parameters(), lr=50.0, momentum=0.99)
    with pytest.raises(FloatingPointError, match="diverged at step") as err:
        train_gan(G, D, mixture("ring").sample, num_steps=500, batch_size=16, opt_G=sgd(G), opt_D=sgd(D), progress=False)
    assert 0 < len(err.value.history) < 500


def test_fit_discriminator_lr_decay_reaches_zero():
    from gantutor.train import fit_discriminator

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
    from gantutor.train import rejection_sample

    torch.manual_seed(0)
    # with the exact log-ratio, N(0, 1) corrected by D* becomes N(2, 1) (up to the max cut-off)
    x, acceptance = rejection_sample(_Shift(), _ExactRatio(), 4000, quantile=1.0, burn_in=20000)
    assert x.shape == (4000, 1)
    assert x.mean().item() == pytest.approx(2.0, abs=0.08)
    assert x.std().item() == pytest.approx(1.0, abs=0.08)
    assert 0 < acceptance < 0.2


def test_rejection_sampling_refuses_a_packed_discriminator_and_reports_starvation():
    from gantutor.train import rejection_sample

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


def test_checkpoints_round_trip_and_refuse_what_is_not_a_weights_file(tmp_path):
    import fractions

    from gantutor.train import load_checkpoint, save_checkpoint

    G = MLPGenerator(2, hidden=(8,))
    opt = torch.optim.Adam(G.parameters(), lr=1e-3)
    G(torch.randn(4, 2)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "run" / "ckpt.pt", step=7, G=G, opt_G=opt)
    G2 = MLPGenerator(2, hidden=(8,))
    opt2 = torch.optim.Adam(G2.parameters(), lr=1e-3)
    assert load_checkpoint(tmp_path / "run" / "ckpt.pt", G=G2, opt_G=opt2) == {"step": 7}
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), G2.state_dict().values()))
    assert opt2.state_dict()["state"][0]["step"] == 1

    with pytest.raises(ValueError, match="holds"):
        load_checkpoint(tmp_path / "run" / "ckpt.pt", D=G2)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nothing.pt", G=G2)

    # an arbitrary pickled object (not a tensor, number or string): weights_only=True refuses it
    torch.save({"format": "gantutor-checkpoint-1", "x": fractions.Fraction(1, 3)}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="not a weights file"):
        load_checkpoint(tmp_path / "evil.pt", G=G2)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a gantutor checkpoint"):
        load_checkpoint(tmp_path / "other.pt", G=G2)
    with pytest.raises(TypeError, match="state_dict"):
        save_checkpoint(tmp_path / "x.pt", G=3)


def test_a_config_and_keyword_settings_combine_and_unknown_settings_are_named():
    from gantutor.train import DCGAN_RECIPE, TrainConfig, configure
    config = configure(DCGAN_RECIPE, {"num_steps": 10})
    assert config.num_steps == 10 and config.batch_size == DCGAN_RECIPE.batch_size and DCGAN_RECIPE.num_steps == 4500
    with pytest.raises(TypeError, match="unknown training setting.* num_step;"):
        configure(None, {"num_step": 10})
    with pytest.raises(TypeError, match="config must be a gantutor.train.TrainConfig"):
        configure({"num_steps": 10}, {})
    with pytest.raises(ValueError, match="num_steps must be a positive integer"):
        configure(TrainConfig(), {"num_steps": 0})


def test_the_same_seed_trains_the_same_networks_with_a_config_or_keywords():
    from gantutor.train import TrainConfig
    runs = []
    for config, settings in ((TrainConfig(num_steps=5, batch_size=16), {}), (None, {"num_steps": 5, "batch_size": 16})):
        torch.manual_seed(0)
        G, D = MLPGenerator(2, hidden=(8,)), MLPDiscriminator(hidden=(8,))
        train_gan(G, D, lambda n: torch.randn(n, 2), config, progress=False, **settings)
        runs.append(torch.cat([p.flatten() for p in G.parameters()]))
    assert torch.equal(*runs)
