"""Slimming chapter 6's U-Net consistently across its skips, distilling it (GAN Compression's terms),
and counting its MACs by hand and with PyTorch's own counter."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from gantutor import prune as P
from gantutor.data import translation
from gantutor.models import PatchDiscriminator, UNetGenerator


def _teacher(seed: int = 0, **kwargs) -> UNetGenerator:
    torch.manual_seed(seed)
    G = UNetGenerator(1, 1, base_channels=8, **kwargs)
    for m in G.modules():  # BatchNorm statistics and affine parameters that are not the defaults
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return G.eval()


def _kept(weight: torch.Tensor, axis: int, n: int) -> torch.Tensor:
    dims = [d for d in range(weight.dim()) if d != axis]
    return weight.abs().sum(dim=dims).topk(n).indices


@pytest.mark.parametrize("skips", [True, False])
def test_a_slimmed_unet_computes_the_teacher_with_its_dropped_channels_zeroed(skips):
    """Removing channels for real = zeroing them in the teacher: every read of a dropped channel,
    by the next layer and across a skip, must be gone."""
    G = _teacher(skips=skips)
    S = P.slim_unet(G, channels=[3, 5, 9, 20], decoder_channels=[11, 6, 4]).eval()
    assert S.channels == [3, 5, 9, 20] and S.decoder_channels == [11, 6, 4]
    hooks = []
    for block, n in zip(G.encoder, S.channels):
        keep = _kept(block[0].weight, 0, n)
        hooks.append(block.register_forward_hook(lambda m, i, out, keep=keep: out * _mask(out, keep)))
    for block, n in zip(G.decoder[:-1], S.decoder_channels):
        keep = _kept(block[0].weight, 1, n)
        hooks.append(block.register_forward_hook(lambda m, i, out, keep=keep: out * _mask(out, keep)))
    x = torch.randn(5, 1, 32, 32)
    with torch.no_grad():
        zeroed = G(x)
    for h in hooks:
        h.remove()
    with torch.no_grad():
        assert torch.allclose(S(x), zeroed, atol=1e-5)
        assert not torch.allclose(G(x), zeroed, atol=1e-3)  # the zeroing changed something: the test has teeth


def _mask(out: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    mask = torch.zeros(out.shape[1])
    mask[keep] = 1
    return mask.view(1, -1, 1, 1)


def test_width_one_is_the_teacher_and_the_teacher_is_not_changed():
    G = _teacher()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    S = P.slim_unet(G, width=1.0).eval()
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(S(x), G(x), atol=1e-6)
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())


def test_a_width_that_empties_a_layer_or_wrong_widths_get_a_clear_error():
    G = _teacher()
    with pytest.raises(ValueError, match=r"width 0.05 leaves encoder layer 0 \(8 channels\) without channels"):
        P.slim_unet(G, width=0.05)
    with pytest.raises(ValueError, match=r"channels must hold 4 widths"):
        P.slim_unet(G, channels=[2, 4, 8])
    with pytest.raises(ValueError, match=r"channels\[1\] must be an integer from 1 to the teacher's 16"):
        P.slim_unet(G, channels=[2, 17, 8, 8])
    with pytest.raises(ValueError, match="either width"):
        P.slim_unet(G)
    with pytest.raises(TypeError, match="UNetGenerator"):
        P.slim_unet(nn.Linear(2, 2), width=0.5)
    with pytest.raises(ValueError, match=r"decoder_channels must hold depth - 1 = 3 widths"):
        UNetGenerator(channels=[2, 4, 8, 8], decoder_channels=[4, 2])
    with pytest.raises(ValueError, match=r"channels\[2\]"):
        UNetGenerator(channels=[2, 4, 0, 8])


def test_the_student_drops_dropout_only_when_told():
    G = UNetGenerator(1, 1, base_channels=8)  # dropout 0.5, the paper's
    assert any(isinstance(m, nn.Dropout) for m in P.slim_unet(G, width=0.5).modules())
    assert not any(isinstance(m, nn.Dropout) for m in P.slim_unet(G, width=0.5, dropout=0.0).modules())


def test_feature_distillation_loss_by_hand():
    torch.manual_seed(0)
    projections = nn.ModuleList([nn.Conv2d(2, 3, 1), nn.Conv2d(1, 2, 1)])
    fs = [torch.randn(4, 2, 8, 8, requires_grad=True), torch.randn(4, 1, 16, 16, requires_grad=True)]
    ft = [torch.randn(4, 3, 8, 8, requires_grad=True), torch.randn(4, 2, 16, 16)]
    by_hand = sum(((torch.einsum("oc,bchw->bohw", p.weight[:, :, 0, 0], s) + p.bias.view(1, -1, 1, 1) - t) ** 2).mean()
                  for p, s, t in zip(projections, fs, ft))
    loss = P.feature_distillation_loss(fs, ft, projections)
    assert torch.allclose(loss, by_hand, atol=1e-6)
    loss.backward()
    assert fs[0].grad is not None and projections[0].weight.grad is not None and ft[0].grad is None  # targets get none
    with pytest.raises(ValueError, match="one projection per feature pair"):
        P.feature_distillation_loss(fs, ft[:1], projections)


def test_distilling_a_student_brings_it_towards_its_teacher():
    torch.manual_seed(0)
    G = _teacher()
    S = P.slim_unet(G, width=0.5, dropout=0.0)
    x = translation("test").a[:64]
    with torch.no_grad():
        before = (S.eval()(x) - G(x)).abs().mean().item()
    history = P.distill_translator(S, G, translation("train"), num_steps=40, D=PatchDiscriminator(2, base_channels=8, n_layers=2),
                                   batch_size=8, lambda_target=0.0, progress=False)
    assert all(len(getattr(history, k)) == 40 for k in ("out_l1", "feature", "target_l1", "g_gan", "d_loss"))
    with torch.no_grad():
        after = (S(x) - G(x)).abs().mean().item()
    assert after < 0.7 * before, (before, after)
    assert not G.training and not S.training
    with pytest.raises(ValueError, match="lambda_feature"):
        P.distill_translator(S, G, translation("train"), num_steps=1, lambda_feature=-1)


def _hand_macs(G: UNetGenerator, side: int = 32) -> int:
    """Σ over layers of (output pixels) × (output channels) × (input channels) × 4 × 4, by hand."""
    total, s, inputs = 0, side, G.in_channels
    for c in G.channels:
        s //= 2
        total += s * s * c * inputs * 16
        inputs = c
    reads = [G.channels[-1]] + [d + e for d, e in zip(G.decoder_channels, G.channels[::-1][1:])]
    for read, out in zip(reads, G.decoder_channels + [1]):
        s *= 2
        total += (s // 2) * (s // 2) * out * read * 16  # a transposed conv: each input pixel meets out × 4 × 4 weights
    return total


def test_mac_counts_agree_with_a_hand_count_and_with_pytorchs_flop_counter():
    S = UNetGenerator(channels=[3, 5, 9, 20], decoder_channels=[11, 6, 4]).eval()
    macs = P.count_macs(S, (1, 1, 32, 32))
    assert macs == _hand_macs(S)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        S(torch.zeros(1, 1, 32, 32))
    assert counter.get_total_flops() == 2 * macs  # 1 MAC = 2 FLOPs


def test_the_u_nets_skip_reads_follow_the_decoder_widths():
    S = UNetGenerator(channels=[3, 5, 9, 20], decoder_channels=[11, 6, 4])
    assert [b[0].in_channels for b in S.decoder] == [20, 11 + 9, 6 + 5, 4 + 3]
    assert F.l1_loss(S(torch.zeros(2, 1, 32, 32)), torch.zeros(2, 1, 32, 32)) >= 0
