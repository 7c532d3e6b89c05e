"""The networks (DCGAN and conditional DCGAN: shapes, ranges, clear errors) and the probes that run them."""
import functools

import pytest
import torch

from gantutor.models import DCGANDiscriminator, DCGANGenerator, InstanceNoise, layer_shapes, layer_times
from _nets import small_gan, tiny_dcgan
from gantutor import seed_everything


@pytest.mark.parametrize("size", [28, 8])
def test_generator_and_discriminator_shapes(size):
    G, D = DCGANGenerator(latent_dim=16, base_channels=8, image_size=size), DCGANDiscriminator(base_channels=8, image_size=size)
    x = G(torch.randn(6, 16))
    assert x.shape == (6, 1, size, size) and x.min() >= -1 and x.max() <= 1  # tanh output, like the data
    assert D(x).shape == (6,)


def test_conditional_models_use_the_label():
    torch.manual_seed(0)
    G = DCGANGenerator(latent_dim=16, base_channels=8, num_classes=10).eval()
    D = DCGANDiscriminator(base_channels=8, num_classes=10).eval()
    assert not D.embed.weight.any()  # the projection starts at 0 ...
    torch.nn.init.normal_(D.embed.weight)  # ... and, once learned, depends on the label
    z = torch.randn(4, 16)
    a, b = G(z, torch.zeros(4, dtype=torch.long)), G(z, torch.full((4,), 7))
    assert not torch.allclose(a, b)  # same z, different class: a different image
    assert not torch.allclose(D(a, torch.zeros(4, dtype=torch.long)), D(a, torch.full((4,), 7)))


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="image_size"):
        DCGANGenerator(image_size=32)
    G = DCGANGenerator(latent_dim=16, base_channels=8, num_classes=10)
    with pytest.raises(ValueError, match="pass the class labels"):
        G(torch.randn(2, 16))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        G(torch.randn(2, 16), torch.tensor([3, 10]))
    with pytest.raises(ValueError, match="one integer label per image"):
        G(torch.randn(2, 16), torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        DCGANDiscriminator(base_channels=8)(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match="z"):
        DCGANGenerator(latent_dim=16, base_channels=8)(torch.randn(2, 15))


def test_layer_shapes_trace_the_generator():
    G = DCGANGenerator(latent_dim=16, base_channels=8)
    rows = layer_shapes(G, torch.randn(2, 16))
    assert rows[0] == ("project.0", "Linear", (2, 16 * 49))
    assert ("net.0", "ConvTranspose2d", (2, 8, 14, 14)) in rows
    assert rows[-1] == ("net.4", "Tanh", (2, 1, 28, 28))
    assert G.training  # the mode is restored


def test_spectral_norm_makes_every_layer_of_d_one_lipschitz():
    torch.manual_seed(0)
    D = DCGANDiscriminator(spectral_norm=True, minibatch_std=True)
    x = torch.randn(16, 1, 28, 28)
    for _ in range(30):  # one power iteration per training-mode forward pass
        D(x)
    layers = [m for m in D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 3 and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    for m in layers:
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2)  # the normalised weight as D uses it
        assert abs(sigma.item() - 1) < 1e-2, (m, sigma)
    plain = DCGANDiscriminator()
    assert torch.linalg.matrix_norm(plain.head.weight.detach(), ord=2) != pytest.approx(1, abs=1e-2)


def test_models_refuse_wrong_input_shapes():
    G, D = small_gan()
    with pytest.raises(ValueError, match=r"z must have shape \(batch, 2\)"):
        G(torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 2\)"):
        D(torch.zeros(4))

def test_instance_noise_only_in_training_and_annealed_to_zero():
    import functools

    D = tiny_dcgan(num_classes=None)[1]
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


def test_layer_times_times_every_leaf_layer_in_the_order_it_ran_and_restores_the_mode():
    G = DCGANGenerator(latent_dim=8, base_channels=4).train()
    times = layer_times(G, torch.randn(4, 8), repeats=3, warmup=1)
    assert list(times) == [name for name, _, _ in layer_shapes(G, torch.randn(4, 8))]
    assert all(ms > 0 for ms in times.values()) and G.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in G.modules()), "hooks left behind"
