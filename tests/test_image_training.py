"""Training on images: conditional GANs in train_gan, generate with labels, the generator EMA."""
import pytest
import torch

from gantutor.data import digits
from gantutor.models import DCGANDiscriminator, DCGANGenerator
from gantutor.train import EMA, generate, seed_everything, train_gan


def _pair(num_classes=10):
    return (DCGANGenerator(latent_dim=8, base_channels=4, image_size=8, num_classes=num_classes),
            DCGANDiscriminator(base_channels=4, image_size=8, num_classes=num_classes))


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
    G, D = _pair()
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
    G, D = _pair()
    D = Recorder(D)
    train_gan(G, D, lambda n: data.sample(n, with_labels=True), num_steps=2, batch_size=32, reuse_fakes=True,
              progress=False)
    # per step: real labels, asked labels (D step), the same asked labels (G step, on the same fakes)
    assert len(D.labels) == 6 and torch.equal(D.labels[1], D.labels[2]) and torch.equal(D.labels[4], D.labels[5])


def test_conditional_training_refuses_unlabelled_batches_and_the_reverse():
    data = digits("train")
    G, D = _pair()
    with pytest.raises(ValueError, match="must return \\(images, labels\\)"):
        train_gan(G, D, lambda n: data.sample(n), num_steps=1, progress=False)
    G, D = _pair(num_classes=None)
    with pytest.raises(ValueError, match="G is unconditional"):
        train_gan(G, D, lambda n: data.sample(n, with_labels=True), num_steps=1, progress=False)
    G, D = _pair()
    with pytest.raises(ValueError, match="unroll_steps"):
        train_gan(G, D, lambda n: data.sample(n, with_labels=True), num_steps=1, unroll_steps=2, progress=False)


def test_generate_with_labels():
    seed_everything(0)
    G, _ = _pair()
    z = torch.randn(20, 8)
    turns = generate(G, 20, z=z)
    assert turns.shape == (20, 1, 8, 8)
    assert torch.allclose(generate(G, 20, z=z, labels=torch.arange(20) % 10), turns)
    sevens = generate(G, 20, z=z, labels=7)
    assert torch.allclose(sevens[7], turns[7]) and not torch.allclose(sevens[0], turns[0])
    with pytest.raises(ValueError, match="labels must be in"):
        generate(G, 4, labels=12)
    with pytest.raises(ValueError, match="unconditional"):
        generate(_pair(num_classes=None)[0], 4, labels=3)


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
    G, D = _pair(num_classes=None)
    ema = EMA(G)
    train_gan(G, D, lambda n: data.sample(n), num_steps=5, batch_size=16, callbacks=[ema], progress=False)
    assert ema.updates == 5
    assert not torch.allclose(ema.model.net[0].weight, G.net[0].weight)  # it lags behind G


def test_interpolate_latents_ends_at_both_points_and_keeps_the_norm_on_the_sphere():
    from gantutor.train import interpolate_latents

    z0, z1 = torch.randn(64, generator=torch.Generator().manual_seed(0)), torch.randn(64, generator=torch.Generator().manual_seed(1))
    for spherical in (True, False):
        path = interpolate_latents(z0, z1, 9, spherical)
        assert path.shape == (9, 64) and torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    mid_slerp, mid_line = interpolate_latents(z0, z1, 3)[1], interpolate_latents(z0, z1, 3, spherical=False)[1]
    assert mid_line.norm() < 0.8 * z0.norm()  # the straight line cuts inside the shell where the noise lives
    assert abs(mid_slerp.norm() - (z0.norm() + z1.norm()) / 2) < 0.05 * z0.norm()
    with pytest.raises(ValueError, match="same size"):
        interpolate_latents(z0, z1[:10], 3)


def test_sample_grid_keeps_fixed_noise_and_rows_of_classes():
    from gantutor.plotting import SampleGrid, image_grid

    seed_everything(0)
    G, D = _pair()
    grid = SampleGrid(every=2, n=20, nrow=10)
    data = digits("train")
    train_gan(G, D, lambda n: data.sample(n, with_labels=True), num_steps=4, batch_size=16, callbacks=[grid], progress=False)
    assert [s for s, _ in grid.grids] == [2, 4] and grid.grids[0][1].shape == (20, 1, 8, 8)
    again = SampleGrid(every=1, n=20, nrow=10)
    again(0, G, D, None)
    assert torch.allclose(again.grids[0][1], grid.grids[-1][1])  # same seed, same z, same G: same picture
    picture = image_grid(grid.grids[0][1], nrow=10)
    assert picture.shape == (2 * 8 + 3 * 2, 10 * 8 + 11 * 2, 3) and 0 <= picture.min() and picture.max() <= 1
    with pytest.raises(ValueError, match="shape"):
        image_grid(torch.zeros(2, 8, 8))


def test_latent_explorer_walks_and_varies_the_class():
    from gantutor.widgets import LatentExplorerModel, latent_explorer

    G, _ = _pair()
    model = LatentExplorerModel(G, seed_a=3, seed_b=4, steps=5)
    walk = model.walk(label=2)
    assert walk.shape == (5, 1, 8, 8) and not torch.allclose(walk[0], walk[-1])
    classes = model.classes()
    assert classes.shape == (10, 1, 8, 8) and torch.allclose(classes[2], walk[0], atol=1e-6)
    with pytest.raises(ValueError, match="seed"):
        model.set_seeds(-1, 2)
    with pytest.raises(ValueError, match="conditional"):
        LatentExplorerModel(_pair(num_classes=None)[0]).classes()
    widget = latent_explorer(G, steps=4)
    assert widget.model.walk().shape == (4, 1, 8, 8)


def test_instance_noise_only_in_training_and_annealed_to_zero():
    import functools

    from gantutor.models import InstanceNoise

    D = _pair(num_classes=None)[1]
    noisy = InstanceNoise(D, std=0.5)
    x = torch.zeros(4, 1, 8, 8)
    noisy.eval(), D.eval()
    assert torch.equal(noisy(x), D(x))  # no noise when evaluating
    noisy.train()
    D.train()
    seed_everything(0)
    a = noisy(x)
    seed_everything(0)
    assert torch.allclose(a, D(0.5 * torch.randn_like(x)))
    anneal = functools.partial(noisy.anneal, num_steps=10)
    anneal(4, None, None, None)
    assert noisy.std == pytest.approx(0.25)
    anneal(9, None, None, None)
    assert noisy.std == 0
    with pytest.raises(ValueError, match="num_steps"):
        noisy.anneal(3)


def test_d_clip_keeps_every_weight_of_d_in_range():
    seed_everything(0)
    data = digits("train")
    G, D = _pair(num_classes=None)
    train_gan(G, D, lambda n: data.sample(n), num_steps=3, batch_size=16, lr=0.1, d_clip=0.01, progress=False)
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.01
