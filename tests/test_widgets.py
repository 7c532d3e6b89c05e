"""The playground's logic, headless: no browser, no display."""
import math

import pytest
import torch

from gantutor.widgets import G_LOSSES, latent_explorer, LatentExplorerModel, playground, PlaygroundModel, pruning_slider, PruningSliderModel
from _nets import tiny_dcgan
from gantutor.models import DCGANGenerator


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def test_a_chunk_of_training_changes_both_networks():
    model = PlaygroundModel(width=16, batch_size=32)
    g0, d0 = params(model.G), params(model.D)
    record = model.train(5)
    assert model.step == 5 and set(record) >= {"d_loss", "g_loss"}
    assert not all(torch.equal(a, b) for a, b in zip(g0, params(model.G)))
    assert not all(torch.equal(a, b) for a, b in zip(d0, params(model.D)))


@pytest.mark.parametrize("loss", list(G_LOSSES))
def test_switching_the_loss_mid_run_keeps_the_networks_and_trains(loss):
    model = PlaygroundModel(width=16, batch_size=32)
    model.train(3)
    g_before = params(model.G)
    model.update(g_loss=loss)
    assert all(torch.equal(a, b) for a, b in zip(g_before, params(model.G)))
    record = model.train(3)
    assert model.step == 6 and all(math.isfinite(v) for v in record.values())


def test_switching_the_dataset_mid_run():
    model = PlaygroundModel(width=16, batch_size=32)
    model.train(2)
    model.update(dataset="grid")
    model.train(2)
    assert model.data.num_modes == 25 and model.coverage(n=100).num_modes == 25
    model.update(dataset="hand-made")
    assert model.data.num_modes == 3


def test_changing_width_rebuilds_and_optimizer_change_keeps_history():
    model = PlaygroundModel(width=16, batch_size=32)
    model.train(2)
    model.update(optimizer="sgd", lr_d=0.01)
    assert model.step == 2 and isinstance(model.opt_D, torch.optim.SGD)
    model.update(width=32)
    assert model.step == 0 and model.G.net[0].out_features == 32


@pytest.mark.parametrize("change,message", [
    ({"g_loss": "hinge?"}, "g_loss must be one of"),
    ({"lr_g": 0.0}, "lr_g must be a learning rate"),
    ({"d_steps": 0}, "d_steps must be an integer from 1 to 20"),
    ({"dataset": "moons"}, "dataset must be one of"),
    ({"colour": "red"}, "unknown setting"),
])
def test_invalid_settings_are_refused_and_leave_the_model_unchanged(change, message):
    model = PlaygroundModel(width=16, batch_size=32)
    before = model.settings
    with pytest.raises(ValueError, match=message):
        model.update(**change)
    assert model.settings == before


def test_divergence_is_reported_not_hidden():
    model = PlaygroundModel(width=16, batch_size=32, optimizer="sgd", lr_g=1.0, lr_d=1.0, g_loss="wasserstein-gp")
    with pytest.raises(FloatingPointError, match="lower the learning rates"):
        model.train(400)


def test_generator_field_points_along_minus_the_gradient():
    model = PlaygroundModel(width=16, batch_size=32)
    points, push = model.generator_field(n=20)
    assert points.shape == push.shape == (20, 2) and torch.isfinite(push).all()


def test_the_widget_builds_and_its_controls_drive_the_model():
    box = playground(width=16, batch_size=32)
    model = box.model
    loss_dropdown = box.children[1].children[1]
    loss_dropdown.value = "least squares"
    assert model.settings.g_loss == "least squares"
    step_button = box.children[0].children[1]
    step_button.click()
    assert model.step == 50


# --- pruning slider ----------------------------------------------------------------------------


def small_generator():
    torch.manual_seed(0)
    return DCGANGenerator(latent_dim=8, base_channels=8)


def test_the_pruning_slider_masks_and_removes_without_touching_G():
    G = small_generator()
    before = [p.detach().clone() for p in G.parameters()]
    model = PruningSliderModel(G, torch.randn(6, 8))
    dense = model.report()
    assert dense["sparsity"] == 0 and dense["output_change"] == 0 and dense["macs_fewer"] == 1
    model.set(0.8, "weights, global")
    masked = model.report()
    assert abs(masked["sparsity"] - 0.8) < 0.01 and masked["macs"] == dense["macs"] and masked["macs_nonzero"] < dense["macs"]
    assert masked["bytes"] > dense["bytes"] and masked["sparse_bytes"] < dense["bytes"] and masked["output_change"] > 0
    model.set(0.5, "channels removed")
    removed = model.report()
    assert removed["params"] < dense["params"] and removed["macs_fewer"] > 2 and removed["sparsity"] == 0
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))
    for bad in ({"amount": 1.0, "method": "weights, global"}, {"amount": 0.5, "method": "random"}):
        with pytest.raises(ValueError, match=next(iter(bad)) if bad["amount"] == 1.0 else "method"):
            model.set(**bad)


def test_the_pruning_slider_widget_scores_fid_when_given_real_images():
    pytest.importorskip("ipywidgets")
    G = small_generator()
    box = pruning_slider(G, torch.randn(20, 8), real=torch.rand(20, 1, 28, 28) * 2 - 1)
    assert "FID (n = 20)" in box.children[1].children[1].value
    box.children[0].children[0].value = 0.5
    assert box.model.amount == 0.5 and "50.0%" in box.children[1].children[1].value


def test_latent_explorer_walks_and_varies_the_class():
    G, _ = tiny_dcgan()
    model = LatentExplorerModel(G, seed_a=3, seed_b=4, steps=5)
    walk = model.walk(label=2)
    assert walk.shape == (5, 1, 8, 8) and not torch.allclose(walk[0], walk[-1])
    classes = model.classes()
    assert classes.shape == (10, 1, 8, 8) and torch.allclose(classes[2], walk[0], atol=1e-6)
    with pytest.raises(ValueError, match="seed"):
        model.set_seeds(-1, 2)
    with pytest.raises(ValueError, match="conditional"):
        LatentExplorerModel(tiny_dcgan(num_classes=None)[0]).classes()
    widget = latent_explorer(G, steps=4)
    assert widget.model.walk().shape == (4, 1, 8, 8)
