import copy

import pytest
import torch

from gantutor import default_device, seed_everything
from gantutor.data import digits
from gantutor.data import mixture
from gantutor.models import DCGANDiscriminator, DCGANGenerator
from gantutor.models import MLPDiscriminator, MLPGenerator
from gantutor.train import configure, DCGAN_RECIPE, EMA, g_step_unrolled, generate, seed_everything, train_gan, TrainConfig
from gantutor.train import History, adam, d_step, g_step, generate, sample_noise, train_gan
from _nets import small_gan, tiny_dcgan
from gantutor.losses import gradient_penalty

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


def test_d_step_adds_the_penalty():
    G, D = small_gan()
    x, z = mixture("ring").sample(32), sample_noise(32, 2)
    plain = d_step(copy.deepcopy(G), copy.deepcopy(D), x, z, adam(D, 1e-3))["d_loss"]
    seed_everything(1)
    G, D = small_gan()
    penalised = d_step(G, D, x, z, adam(D, 1e-3), penalty=lambda D, r, f: 10 * gradient_penalty(D, r, f))["d_loss"]
    assert penalised > plain


def test_unrolled_step_changes_g_not_d_and_differs_from_a_plain_step():
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


def test_a_config_and_keyword_settings_combine_and_unknown_settings_are_named():
    config = configure(DCGAN_RECIPE, {"num_steps": 10})
    assert config.num_steps == 10 and config.batch_size == DCGAN_RECIPE.batch_size and DCGAN_RECIPE.num_steps == 4500
    with pytest.raises(TypeError, match="unknown training setting.* num_step;"):
        configure(None, {"num_step": 10})
    with pytest.raises(TypeError, match="config must be a gantutor.train.TrainConfig"):
        configure({"num_steps": 10}, {})
    with pytest.raises(ValueError, match="num_steps must be a positive integer"):
        configure(TrainConfig(), {"num_steps": 0})


def test_the_same_seed_trains_the_same_networks_with_a_config_or_keywords():
    runs = []
    for config, settings in ((TrainConfig(num_steps=5, batch_size=16), {}), (None, {"num_steps": 5, "batch_size": 16})):
        torch.manual_seed(0)
        G, D = MLPGenerator(2, hidden=(8,)), MLPDiscriminator(hidden=(8,))
        train_gan(G, D, lambda n: torch.randn(n, 2), config, progress=False, **settings)
        runs.append(torch.cat([p.flatten() for p in G.parameters()]))
    assert torch.equal(*runs)


# --- Training on images: conditional GANs in train_gan, generate with labels, the generator EMA. ----------

class Recorder(torch.nn.Module):
    """Wraps a conditional D and records the labels it is asked about."""

    def __init__(self, D):
        super().__init__()
        self.D, self.labels = D, []

    def forward(self, x, y):
        self.labels.append(y.clone())
        return self.D(x, y)


def test_conditional_training_passes_real_and_asked_labels():
    seed_everything(0)
    data = digits("train")
    G, D = tiny_dcgan()
    D = Recorder(D)
    before = [p.clone() for p in G.parameters()]
    history = train_gan(G, D, lambda n: data.sample(n, with_labels=True), num_steps=3, batch_size=32,
                        lr=1e-3, progress=False)
    assert len(history) == 3
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters()))
    # per step: D sees real labels, then asked labels (D step), then asked labels (G step)
    assert len(D.labels) == 9 and all(y.shape == (32,) and y.max() < 10 for y in D.labels)


def test_conditional_training_reusing_the_fakes_asks_the_same_labels_in_both_steps():
    seed_everything(0)
    data = digits("train")
    G, D = tiny_dcgan()
    D = Recorder(D)
    train_gan(G, D, lambda n: data.sample(n, with_labels=True), num_steps=2, batch_size=32, reuse_fakes=True,
              progress=False)
    # per step: real labels, asked labels (D step), the same asked labels (G step, on the same fakes)
    assert len(D.labels) == 6 and torch.equal(D.labels[1], D.labels[2]) and torch.equal(D.labels[4], D.labels[5])


def test_conditional_training_refuses_unlabelled_batches_and_the_reverse():
    data = digits("train")
    G, D = tiny_dcgan()
    with pytest.raises(ValueError, match="must return \\(images, labels\\)"):
        train_gan(G, D, lambda n: data.sample(n), num_steps=1, progress=False)
    G, D = tiny_dcgan(num_classes=None)
    with pytest.raises(ValueError, match="G is unconditional"):
        train_gan(G, D, lambda n: data.sample(n, with_labels=True), num_steps=1, progress=False)
    G, D = tiny_dcgan()
    with pytest.raises(ValueError, match="unroll_steps"):
        train_gan(G, D, lambda n: data.sample(n, with_labels=True), num_steps=1, unroll_steps=2, progress=False)


def test_generate_with_labels():
    seed_everything(0)
    G, _ = tiny_dcgan()
    z = torch.randn(20, 8)
    turns = generate(G, 20, z=z)
    assert turns.shape == (20, 1, 8, 8)
    assert torch.allclose(generate(G, 20, z=z, labels=torch.arange(20) % 10), turns)
    sevens = generate(G, 20, z=z, labels=7)
    assert torch.allclose(sevens[7], turns[7]) and not torch.allclose(sevens[0], turns[0])
    with pytest.raises(ValueError, match="labels must be in"):
        generate(G, 4, labels=12)
    with pytest.raises(ValueError, match="unconditional"):
        generate(tiny_dcgan(num_classes=None)[0], 4, labels=3)


def test_ema_follows_the_formula_with_warm_up():
    G = torch.nn.Linear(2, 1)
    ema = EMA(G, decay=0.99)
    start = G.weight.detach().clone()
    with torch.no_grad():
        G.weight.add_(1.0)
    ema.update(G)  # first update: beta = min(0.99, 1/10) = 0.1
    assert torch.allclose(ema.model.weight, 0.1 * start + 0.9 * G.weight)
    for _ in range(2000):
        ema.update(G)
    assert ema.decay == 0.99 and torch.allclose(ema.model.weight, G.weight)
    assert not any(p.requires_grad for p in ema.model.parameters())
    with pytest.raises(ValueError, match="decay"):
        EMA(G, decay=1.0)


def test_ema_is_a_train_gan_callback():
    seed_everything(0)
    data = digits("train")
    G, D = tiny_dcgan(num_classes=None)
    ema = EMA(G)
    train_gan(G, D, lambda n: data.sample(n), num_steps=5, batch_size=16, callbacks=[ema], progress=False)
    assert ema.updates == 5
    assert not torch.allclose(ema.model.net[0].weight, G.net[0].weight)  # it lags behind G


def test_d_clip_keeps_every_weight_of_d_in_range():
    seed_everything(0)
    data = digits("train")
    G, D = tiny_dcgan(num_classes=None)
    train_gan(G, D, lambda n: data.sample(n), num_steps=3, batch_size=16, lr=0.1, d_clip=0.01, progress=False)
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.01
