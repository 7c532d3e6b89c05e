"""Chapter 6: image-to-image translation — the paired digits, U-Net / PatchGAN / ResNet models,
the pix2pix and CycleGAN losses, the image pool, the training steps, SSIM."""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gantutor.data import TASKS, Translation, center_crop, mnist, outline, translation
from gantutor.losses import (cycle_consistency_loss, discriminator_loss, identity_loss, ls_discriminator_loss,
                             ls_generator_loss, pix2pix_generator_loss)
from gantutor.metrics import ssim
from gantutor.models import PatchDiscriminator, ResnetGenerator, UNetGenerator, receptive_field
from gantutor.train import History
from gantutor.translation import (ImagePool, cyclegan_step, pix2pix_step, train_cyclegan, train_pix2pix,
                                  translate)


def numbered_pairs(n=10):
    """A Translation whose pair i has a = i and b = 100 + i everywhere: pairings are readable."""
    ids = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 32, 32)
    return Translation("numbered", ids.clone(), ids + 100, torch.arange(n))


def random_pairs(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    a, b = torch.rand(2, n, 1, 32, 32, generator=g) * 2 - 1
    return Translation("random", a, b, torch.zeros(n, dtype=torch.int64))


def tiny_pix2pix(seed=0):
    torch.manual_seed(seed)
    return UNetGenerator(base_channels=4, depth=2), PatchDiscriminator(2, base_channels=8, n_layers=1)


def tiny_cyclegan(seed=0):
    torch.manual_seed(seed)
    return (ResnetGenerator(base_channels=4, n_blocks=1), ResnetGenerator(base_channels=4, n_blocks=1),
            PatchDiscriminator(1, base_channels=8, n_layers=1), PatchDiscriminator(1, base_channels=8, n_layers=1))


# --- data -----------------------------------------------------------------------------------------

def test_edges2digits_pairs_the_padded_digit_with_its_outline():
    train, test = translation("train"), translation("test")
    assert (len(train), len(test)) == (4000, 1000) and train.name == "edges2digits"
    assert train.a.shape == train.b.shape == (4000, 1, 32, 32) and train.a.dtype == train.b.dtype == torch.float32
    assert train.a.min() == -1 and train.a.max() == 1 and train.b.min() == -1 and train.b.max() == 1
    assert torch.equal(center_crop(train.b), mnist("train").images) and torch.equal(train.labels, mnist("train").labels)
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert (train.b[:, 0, border] == -1).all()
    border[1:31, 1:31] = False  # the outline of a digit that touches its 28×28 frame reaches 1 pixel out
    assert (train.a[:, 0, border] == -1).all()
    assert torch.equal(train.a[:5], outline(train.b[:5]))
    assert translation("train") is train  # cached


def test_outline_is_dilation_minus_erosion_by_hand():
    square = -torch.ones(1, 1, 7, 7)
    square[..., 2:5, 2:5] = 1  # a 3×3 white square
    # dilation: the 5×5 block 1:6 is white; erosion: only the centre stays white -> gradient 1 on the ring
    expected = -torch.ones(7, 7)
    expected[1:6, 1:6] = 1
    expected[3, 3] = -1
    assert torch.equal(outline(square)[0, 0], expected)
    grey = torch.zeros(1, 1, 5, 5)  # 0.5 in [0, 1]: flat, so no edge anywhere
    assert torch.equal(outline(grey), -torch.ones(1, 1, 5, 5))


def test_unknown_task_and_split_are_refused():
    assert TASKS == ("edges2digits",)
    with pytest.raises(ValueError, match=r"task must be one of \('edges2digits',\), got 'maps'"):
        translation("train", task="maps")
    with pytest.raises(ValueError, match="split"):
        translation("validation")


def test_sample_pairs_are_aligned_and_reproducible():
    data = numbered_pairs()
    a, b = data.sample_pairs(50, generator=torch.Generator().manual_seed(0))
    assert a.shape == b.shape == (50, 1, 32, 32)
    assert torch.equal(b - a, torch.full_like(a, 100.0))  # b[i] belongs to a[i]
    a2, _ = data.sample_pairs(50, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, a2)
    with pytest.raises(ValueError, match="n must be"):
        data.sample_pairs(0)


def test_sample_unpaired_draws_a_and_b_from_disjoint_halves():
    data = numbered_pairs(10)
    a, b = data.sample_unpaired(200, generator=torch.Generator().manual_seed(1))
    ids_a, ids_b = a[:, 0, 0, 0], b[:, 0, 0, 0] - 100
    assert set(ids_a.tolist()) == set(range(5)) and set(ids_b.tolist()) == set(range(5, 10))


def test_center_crop():
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).view(2, 3, 32, 32)
    assert torch.equal(center_crop(x), x[:, :, 2:30, 2:30])
    assert center_crop(x, size=32).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match=r"images must have shape \(N, C, H, W\)"):
        center_crop(x[0])
    with pytest.raises(ValueError, match="H, W >= size = 28"):
        center_crop(torch.zeros(1, 1, 28, 27))


# --- models ---------------------------------------------------------------------------------------

def test_unet_shapes_and_skips_along_channels(monkeypatch):
    torch.manual_seed(0)
    G = UNetGenerator()
    y = G(torch.randn(3, 1, 32, 32))
    assert y.shape == (3, 1, 32, 32) and y.abs().max() <= 1
    assert UNetGenerator.skip(torch.zeros(2, 3, 4, 4), torch.ones(2, 5, 4, 4)).shape == (2, 8, 4, 4)
    calls = []
    monkeypatch.setattr(UNetGenerator, "skip", staticmethod(lambda d, e: calls.append(e.shape) or torch.cat([d, e], 1)))
    G(torch.randn(2, 1, 32, 32))
    assert calls == [(2, 64, 4, 4), (2, 32, 8, 8), (2, 16, 16, 16)]  # depth − 1 skips, innermost first


def test_unet_without_skips_and_other_depths():
    torch.manual_seed(0)
    plain = UNetGenerator(skips=False)
    assert plain(torch.randn(2, 1, 32, 32)).shape == (2, 1, 32, 32)
    assert sum(p.numel() for p in plain.parameters()) < sum(p.numel() for p in UNetGenerator().parameters())
    G = UNetGenerator(in_channels=2, out_channels=3, base_channels=4, depth=5)
    assert G(torch.randn(2, 2, 64, 64)).shape == (2, 3, 64, 64)
    dropouts = lambda G: sum(isinstance(m, nn.Dropout) for m in G.modules())  # noqa: E731
    assert [dropouts(UNetGenerator(depth=d)) for d in (1, 2, 4, 6)] == [0, 1, 3, 3]
    assert dropouts(UNetGenerator(dropout=0)) == 0


def test_unet_refuses_bad_images_and_arguments():
    G = UNetGenerator(depth=4)
    for shape in [(2, 3, 32, 32), (2, 1, 24, 24), (2, 1, 32, 16), (1, 32, 32)]:
        with pytest.raises(ValueError, match=r"x must have shape \(B, 1, S, S\) with S divisible by 16"):
            G(torch.zeros(shape))
    with pytest.raises(ValueError, match="dropout"):
        UNetGenerator(dropout=1.0)
    with pytest.raises(TypeError, match="depth"):
        UNetGenerator(depth=2.0)


def test_patch_discriminator_returns_a_map_of_patch_logits():
    torch.manual_seed(0)
    D = PatchDiscriminator(2)
    assert D(torch.randn(3, 2, 32, 32)).shape == (3, 1, 2, 2)
    D = PatchDiscriminator(2, base_channels=32, n_layers=2)
    assert D(torch.randn(3, 2, 32, 32)).shape == (3, 1, 6, 6) and D.output_side(32) == 6
    with pytest.raises(ValueError, match=r"x must have shape \(B, 2, H, W\)"):
        D(torch.randn(3, 1, 32, 32))
    with pytest.raises(ValueError, match="x is 16×16: too small for n_layers = 3.*at least 24×24"):
        PatchDiscriminator(2, n_layers=3)(torch.randn(3, 2, 16, 16))  # 16 → 8 → 4 → 2 → 1 → 0


@pytest.mark.parametrize("n_layers, field", [(1, 16), (3, 70), (5, 286)])
def test_receptive_field_matches_pix2pix(n_layers, field):
    assert receptive_field(PatchDiscriminator(3, n_layers=n_layers)) == field


@pytest.mark.parametrize("n_layers, side", [(1, 40), (3, 112)])
def test_receptive_field_is_where_the_gradient_reaches(n_layers, side):
    """Independent check: the input pixels that one central logit depends on span the field."""
    torch.manual_seed(0)
    D = PatchDiscriminator(1, base_channels=4, n_layers=n_layers).eval()
    x = torch.randn(1, 1, side, side, requires_grad=True)
    logits = D(x)  # (1, 1, h, w)
    logits[0, 0, logits.shape[2] // 2, logits.shape[3] // 2].backward()
    rows = x.grad[0, 0].abs().sum(dim=1).nonzero()
    assert rows.max() - rows.min() + 1 == receptive_field(D)


def test_receptive_field_by_hand_and_refusals():
    stack = nn.Sequential(nn.Conv2d(1, 1, 3, dilation=2), nn.ReLU(), nn.MaxPool2d(2), nn.AvgPool2d(3, stride=1))
    # conv: 1 + 2·2·1 = 5, j = 1; max-pool: 5 + 1·1 = 6, j = 2; avg-pool: 6 + 2·2 = 10
    assert receptive_field(stack) == 10
    with pytest.raises(ValueError, match="ConvTranspose2d.*downsample"):
        receptive_field(UNetGenerator())
    with pytest.raises(ValueError, match="no Conv2d"):
        receptive_field(nn.Linear(3, 1))


def test_resnet_generator_shapes_and_per_image_normalisation():
    torch.manual_seed(0)
    G = ResnetGenerator()
    x = torch.randn(4, 1, 32, 32)
    y = G(x)
    assert y.shape == (4, 1, 32, 32) and y.abs().max() <= 1
    assert torch.allclose(G(x[:1]), y[:1], atol=1e-5)  # InstanceNorm: no batch statistics, even in training mode
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.modules())
    assert ResnetGenerator(2, 3, base_channels=4, n_blocks=1)(torch.randn(1, 2, 8, 8)).shape == (1, 3, 8, 8)
    for shape in [(2, 2, 32, 32), (2, 1, 30, 30), (2, 1, 4, 4)]:
        with pytest.raises(ValueError, match=r"x must have shape \(B, 1, S, S\) with S divisible by 4 and at least 8"):
            G(torch.zeros(shape))


# --- losses ---------------------------------------------------------------------------------------

def test_pix2pix_generator_loss_by_hand():
    logits = torch.tensor([0.0, math.log(3.0)]).view(1, 1, 1, 2)  # D = σ(l) = 0.5, 0.75
    fake, target = torch.tensor([[0.5, -0.5]]), torch.tensor([[1.0, 0.0]])  # |diff| = 0.5, 0.5
    adversarial = -(math.log(0.5) + math.log(0.75)) / 2
    assert pix2pix_generator_loss(logits, fake, target).item() == pytest.approx(adversarial + 100 * 0.5)
    assert pix2pix_generator_loss(logits, fake, target, lambda_l1=0).item() == pytest.approx(adversarial)
    with pytest.raises(ValueError, match="lambda_l1 must be >= 0"):
        pix2pix_generator_loss(logits, fake, target, lambda_l1=-1)
    with pytest.raises(ValueError, match="fake has shape"):
        pix2pix_generator_loss(logits, fake, target[:, :1])


def test_cycle_consistency_loss_by_hand():
    real_a, rec_a = torch.tensor([0.0, 1.0]), torch.tensor([0.5, 0.5])  # mean |·| = 0.5
    real_b, rec_b = torch.tensor([1.0, -1.0, 0.0]), torch.tensor([1.0, 1.0, 0.0])  # mean |·| = 2/3
    assert cycle_consistency_loss(real_a, rec_a, real_b, rec_b).item() == pytest.approx(10 * (0.5 + 2 / 3))
    assert cycle_consistency_loss(real_a, rec_a, real_b, rec_b, lambda_cyc=1).item() == pytest.approx(0.5 + 2 / 3)
    with pytest.raises(ValueError, match="lambda_cyc must be >= 0"):
        cycle_consistency_loss(real_a, rec_a, real_b, rec_b, lambda_cyc=-0.1)
    with pytest.raises(ValueError, match="real_b has shape .* reconstructed_b"):
        cycle_consistency_loss(real_a, rec_a, real_b, rec_b[:2])


def test_identity_loss_by_hand():
    real, same = torch.tensor([1.0, 2.0]), torch.tensor([0.0, 4.0])  # mean |·| = 1.5
    assert identity_loss(real, same).item() == pytest.approx(5 * 1.5)
    assert identity_loss(real, same, lambda_id=0).item() == 0
    with pytest.raises(ValueError, match="lambda_id must be >= 0"):
        identity_loss(real, same, lambda_id=-5)
    with pytest.raises(ValueError, match="real has shape"):
        identity_loss(real, same[:1])


def test_gan_losses_average_over_patch_maps():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(2, 4, 1, 3, 3, generator=g)  # (B, 1, h, w) patch logits
    bce = F.binary_cross_entropy_with_logits
    assert torch.allclose(discriminator_loss(real, fake),
                          bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake)))
    assert torch.allclose(ls_discriminator_loss(real, fake), ls_discriminator_loss(real.flatten(), fake.flatten()))
    assert torch.allclose(ls_generator_loss(fake), 0.5 * F.mse_loss(fake, torch.ones_like(fake)))


# --- SSIM -----------------------------------------------------------------------------------------

def ssim_numpy(a, b, data_range=2.0):
    """SSIM written out with loops in float64: weighted statistics window by window."""
    t = np.arange(11) - 5.0
    g = np.exp(-t**2 / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    out = []
    for x, y in zip(a, b):
        values = []
        for xc, yc in zip(x, y):
            for i in range(xc.shape[0] - 10):
                for j in range(xc.shape[1] - 10):
                    p, q = xc[i:i + 11, j:j + 11], yc[i:i + 11, j:j + 11]
                    mp, mq = (w * p).sum(), (w * q).sum()
                    vp, vq = (w * (p - mp) ** 2).sum(), (w * (q - mq) ** 2).sum()
                    cov = (w * (p - mp) * (q - mq)).sum()
                    values.append((2 * mp * mq + c1) * (2 * cov + c2) / ((mp**2 + mq**2 + c1) * (vp + vq + c2)))
        out.append(np.mean(values))
    return np.array(out)


def test_ssim_of_an_image_with_itself_is_one():
    x = torch.rand(3, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert ssim(x, x).shape == (3,) and torch.allclose(ssim(x, x), torch.ones(3, dtype=torch.float64))


def test_ssim_of_flat_images_is_the_luminance_term():
    a, b = torch.full((1, 1, 12, 12), 0.5), torch.full((1, 1, 12, 12), -0.5)
    c1 = (0.01 * 2) ** 2
    expected = (2 * 0.5 * -0.5 + c1) / (0.5**2 + 0.5**2 + c1)
    assert ssim(a, b).item() == pytest.approx(expected, abs=1e-9)


def test_ssim_agrees_with_a_loop_in_numpy():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 2, 13, 14, generator=g) * 2 - 1
    b = (a + 0.5 * torch.randn(2, 2, 13, 14, generator=g)).clamp(-1, 1)
    expected = ssim_numpy(a.double().numpy(), b.double().numpy())
    assert np.allclose(ssim(a, b).numpy(), expected, atol=1e-5)
    assert np.allclose(ssim(a, b, data_range=1.0).numpy(), ssim_numpy(a.double().numpy(), b.double().numpy(), 1.0),
                       atol=1e-5)


def test_ssim_refuses_bad_shapes():
    with pytest.raises(ValueError, match="images_a has shape .* images_b"):
        ssim(torch.zeros(2, 1, 16, 16), torch.zeros(2, 1, 16, 15))
    with pytest.raises(ValueError, match="H, W >= 11"):
        ssim(torch.zeros(2, 1, 10, 16), torch.zeros(2, 1, 10, 16))
    with pytest.raises(ValueError, match="data_range"):
        ssim(torch.zeros(1, 1, 11, 11), torch.zeros(1, 1, 11, 11), data_range=0)


# --- the image pool -------------------------------------------------------------------------------

def numbered_images(start, n):
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone()


def test_image_pool_returns_only_what_it_was_given_and_never_overflows():
    pool = ImagePool(5, generator=torch.Generator().manual_seed(0))
    seen, old_returned = set(), 0
    for k in range(8):
        batch = numbered_images(10 * k, 4)
        seen |= set(batch[:, 0, 0, 0].tolist())
        out = pool.query(batch)
        assert out.shape == batch.shape and len(pool) <= 5
        ids = out[:, 0, 0, 0]
        assert set(ids.tolist()) <= seen and (out == ids.view(4, 1, 1, 1)).all()  # whole images, seen before
        old_returned += int((ids < 10 * k).sum())
    assert len(pool) == 5 and old_returned > 0


def test_image_pool_returns_the_new_images_until_full():
    pool = ImagePool(6)
    first, second = numbered_images(0, 4), numbered_images(4, 2)
    assert torch.equal(pool.query(first), first) and torch.equal(pool.query(second), second) and len(pool) == 6


def test_image_pool_is_reproducible_and_stores_detached_clones():
    outs = []
    for _ in range(2):
        pool = ImagePool(3, generator=torch.Generator().manual_seed(7))
        outs.append(torch.cat([pool.query(numbered_images(4 * k, 4)) for k in range(5)]))
    assert torch.equal(*outs)
    pool = ImagePool(3)
    x = torch.ones(2, 1, 2, 2, requires_grad=True)
    y = x * 2
    assert not pool.query(y).requires_grad
    with torch.no_grad():
        y.zero_()
    assert all(image.eq(2).all() for image in pool.images)
    passthrough = ImagePool(0)
    assert torch.equal(passthrough.query(numbered_images(0, 3)), numbered_images(0, 3)) and len(passthrough) == 0
    with pytest.raises(ValueError, match="size must be an integer >= 0"):
        ImagePool(-1)


# --- training steps -------------------------------------------------------------------------------

def snapshot_grads(module):
    return [None if p.grad is None else p.grad.clone() for p in module.parameters()]


def test_pix2pix_step_keeps_d_loss_out_of_g_and_g_loss_out_of_d():
    G, D = tiny_pix2pix()
    opt_G, opt_D = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
    seen = {}
    d_step, g_step = opt_D.step, opt_G.step
    opt_D.step = lambda *args: (seen.update(G_after_D=snapshot_grads(G), D_after_D=snapshot_grads(D)), d_step())[1]
    opt_G.step = lambda *args: (seen.update(D_after_G=snapshot_grads(D)), g_step())[1]
    a, b = random_pairs(4).sample_pairs(4, generator=torch.Generator().manual_seed(0))
    record = pix2pix_step(G, D, a, b, opt_G, opt_D)
    assert set(record) == {"d_loss", "g_loss", "l1"} and all(math.isfinite(v) for v in record.values())
    assert all(g is None for g in seen["G_after_D"])  # the fakes were detached for D's loss
    assert all(g is not None for g in seen["D_after_D"])
    assert all(torch.equal(x, y) for x, y in zip(seen["D_after_D"], seen["D_after_G"]))  # D frozen in G's step
    assert all(p.grad is not None for p in G.parameters())


def test_pix2pix_step_l1_only_leaves_d_alone():
    G, D = tiny_pix2pix()
    D0 = copy.deepcopy(D)
    a, b = random_pairs(4).sample_pairs(4)
    record = pix2pix_step(G, D, a, b, torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters()), gan=False)
    assert set(record) == {"g_loss", "l1"} and record["g_loss"] == record["l1"]
    assert all(torch.equal(p, q) for p, q in zip(D.state_dict().values(), D0.state_dict().values()))
    with pytest.raises(ValueError, match="lambda_l1 must be >= 0"):
        pix2pix_step(G, D, a, b, None, None, lambda_l1=-1)


def test_cyclegan_step_terms_and_gradient_flow():
    G_ab, G_ba, D_a, D_b = tiny_cyclegan()
    opt_G = torch.optim.Adam([*G_ab.parameters(), *G_ba.parameters()])
    opt_D = torch.optim.Adam([*D_a.parameters(), *D_b.parameters()])
    seen = {}
    g_step, d_step = opt_G.step, opt_D.step
    opt_G.step = lambda *args: (seen.update(G=snapshot_grads(G_ab), D=snapshot_grads(D_b)), g_step())[1]
    opt_D.step = lambda *args: (seen.update(G_after_D=snapshot_grads(G_ab)), d_step())[1]
    a, b = random_pairs(8).sample_unpaired(4, generator=torch.Generator().manual_seed(0))
    record = cyclegan_step(G_ab, G_ba, D_a, D_b, a, b, opt_G, opt_D, ImagePool(2), ImagePool(2))
    assert set(record) == {"g_loss", "g_gan", "cycle", "identity", "d_a", "d_b", "d_loss"}
    assert record["g_loss"] == pytest.approx(record["g_gan"] + record["cycle"] + record["identity"], rel=1e-5)
    assert record["d_loss"] == pytest.approx(record["d_a"] + record["d_b"])
    assert all(g is None for g in seen["D"])  # D frozen in G's step (and zeroed before)
    assert all(torch.equal(x, y) for x, y in zip(seen["G"], seen["G_after_D"]))  # D's loss does not reach G


def test_cyclegan_step_skips_unused_terms_and_their_forward_passes():
    G_ab, G_ba, D_a, D_b = tiny_cyclegan()
    calls = []
    G_ab.register_forward_hook(lambda *args: calls.append("G_ab"))
    opt_G = torch.optim.Adam([*G_ab.parameters(), *G_ba.parameters()])
    opt_D = torch.optim.Adam([*D_a.parameters(), *D_b.parameters()])
    a, b = random_pairs(8).sample_unpaired(4)
    record = cyclegan_step(G_ab, G_ba, D_a, D_b, a, b, opt_G, opt_D, ImagePool(0), ImagePool(0), lambda_cyc=0, lambda_id=0)
    assert set(record) == {"g_loss", "g_gan", "d_a", "d_b", "d_loss"} and len(calls) == 1
    cyclegan_step(G_ab, G_ba, D_a, D_b, a, b, opt_G, opt_D, ImagePool(0), ImagePool(0))
    assert len(calls) == 1 + 3  # G_ab(a), G_ab(G_ba(b)), G_ab(b)


def test_train_pix2pix_runs_and_changes_g():
    G, D = tiny_pix2pix()
    G0 = copy.deepcopy(G)
    steps = []
    history = train_pix2pix(G, D, random_pairs(), num_steps=3, batch_size=4, progress=False, lr_decay=True,
                            callbacks=[lambda step, G_, D_, h: steps.append((step, G_ is G, D_ is D, len(h)))])
    assert isinstance(history, History) and len(history) == 3
    assert all(math.isfinite(v) for key in ("d_loss", "g_loss", "l1") for v in getattr(history, key))
    assert steps == [(0, True, True, 1), (1, True, True, 2), (2, True, True, 3)]
    assert not all(torch.equal(p, q) for p, q in zip(G.parameters(), G0.parameters()))
    history = train_pix2pix(G, D, random_pairs(), num_steps=2, batch_size=4, progress=False, gan=False)
    assert history.d_loss == [] and len(history.l1) == 2


def test_train_cyclegan_runs_and_changes_both_generators():
    G_ab, G_ba, D_a, D_b = tiny_cyclegan()
    before = [copy.deepcopy(m) for m in (G_ab, G_ba)]
    history = train_cyclegan(G_ab, G_ba, D_a, D_b, random_pairs(), num_steps=3, batch_size=4, pool_size=4,
                             progress=False, lr_decay=True)
    assert isinstance(history, History) and len(history) == 3 and len(history.cycle) == 3
    assert all(math.isfinite(v) for key in ("d_loss", "g_loss", "cycle", "identity") for v in getattr(history, key))
    for G, G0 in zip((G_ab, G_ba), before):
        assert not all(torch.equal(p, q) for p, q in zip(G.parameters(), G0.parameters()))


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_steps=0), "num_steps"), (dict(batch_size=0), "batch_size"), (dict(lr=0), "lr must be > 0"),
    (dict(lambda_l1=-1), "lambda_l1 must be >= 0")])
def test_train_pix2pix_refuses_bad_arguments(kwargs, match):
    G, D = tiny_pix2pix()
    with pytest.raises(ValueError, match=match):
        train_pix2pix(G, D, random_pairs(), **({"num_steps": 1} | kwargs), progress=False)


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_steps=0), "num_steps"), (dict(lambda_cyc=-1), "lambda_cyc must be >= 0"),
    (dict(lambda_id=-0.5), "lambda_id must be >= 0"), (dict(pool_size=-1), "pool_size must be an integer >= 0")])
def test_train_cyclegan_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_cyclegan(*tiny_cyclegan(), random_pairs(), **({"num_steps": 1} | kwargs), progress=False)


def test_trainers_refuse_other_data_and_stop_on_nan():
    G, D = tiny_pix2pix()
    with pytest.raises(TypeError, match="data must be a gantutor.data.Translation"):
        train_pix2pix(G, D, mnist, num_steps=1, progress=False)
    good = random_pairs()
    bad = Translation("nan", good.a, torch.full_like(good.b, float("nan")), good.labels)
    with pytest.raises(FloatingPointError, match="diverged at step 0") as err:
        train_pix2pix(G, D, bad, num_steps=2, batch_size=2, progress=False)
    assert len(err.value.history) == 1
    with pytest.raises(FloatingPointError):
        train_cyclegan(*tiny_cyclegan(), bad, num_steps=2, batch_size=2, progress=False)


def test_translate_in_batches_eval_mode_and_dropout_at_test():
    G, _ = tiny_pix2pix()
    G.train()
    G(torch.randn(8, 1, 32, 32))  # move BatchNorm's running statistics away from their start
    a = random_pairs(7).a
    stats = copy.deepcopy([b.clone() for b in G.buffers()])
    y = translate(G, a)
    assert y.shape == (7, 1, 32, 32) and G.training
    assert torch.allclose(translate(G, a, batch_size=3), y, atol=1e-6)  # eval mode: the batching does not matter
    torch.manual_seed(0)
    noisy = translate(G, a, dropout_at_test=True)
    assert not torch.allclose(noisy, y) and G.training
    assert all(torch.equal(b, s) for b, s in zip(G.buffers(), stats))  # BatchNorm stayed in eval mode


def test_translation_scores_of_the_truth_and_of_a_wrong_shape():
    from gantutor.metrics import classify
    from gantutor.translation import translation_scores

    test = translation("test")
    small = Translation("small", test.a[:60], test.b[:60], test.labels[:60])
    scores = translation_scores(small.b, small, center_crop(translation("train").b[:60]))
    assert scores["l1"] == 0 and scores["ssim"] == pytest.approx(1)
    assert scores["class_kept"] == pytest.approx(float((classify(center_crop(small.b)) == small.labels).double().mean()))
    assert set(scores) == {"l1", "ssim", "class_kept", "fid"} and scores["fid"] > 0
    with pytest.raises(ValueError, match="translated must have the shape"):
        translation_scores(small.b[:10], small, center_crop(small.b))
