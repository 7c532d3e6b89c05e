"""gantutor.prune: masks, schedule, channel removal, low rank, measurements, int8."""

import copy

from torch import nn
import pytest
import torch

from gantutor import prune as P
from gantutor.models import DCGANGenerator

def small_G(seed=0):
    torch.manual_seed(seed)
    G = DCGANGenerator(latent_dim=8, base_channels=4)
    G.train()
    G(torch.randn(32, 8))  # non-trivial BatchNorm running statistics
    return G.eval()


# --- masks --------------------------------------------------------------------------------------

@pytest.mark.parametrize("scope", ["global", "layer"])
def test_magnitude_prune_keeps_exactly_the_largest(scope):
    G = small_G()
    dense = {n: m.weight.detach().clone() for n, m in P.prunable_layers(G).items()}
    assert P.magnitude_prune(G, 0.7, scope=scope) is G
    if scope == "global":
        everything = torch.cat([w.abs().flatten() for w in dense.values()])
        keep = round(0.3 * everything.numel())
        threshold = everything.sort(descending=True).values[keep - 1]
    for name, layer in P.prunable_layers(G).items():
        assert hasattr(layer, "weight_orig") and hasattr(layer, "weight_mask")
        w, kept = dense[name].abs(), layer.weight_mask.bool()
        if scope == "layer":
            assert int(kept.sum()) == round(0.3 * w.numel())
            threshold = w.flatten().sort(descending=True).values[int(kept.sum()) - 1]
        assert (w[kept] >= threshold).all() and (w[~kept] <= threshold).all()
        assert torch.equal(layer.weight, dense[name] * layer.weight_mask)
    assert float(P.sparsity(G)) == pytest.approx(0.7, abs=1e-3)  # up to rounding to whole weights


def test_the_mask_is_used_in_the_forward_pass_and_permanent_after_make_permanent():
    G = small_G()
    P.magnitude_prune(G, 0.5)
    z = torch.randn(4, 8)
    masked = G(z)
    with torch.no_grad():
        for layer in P.prunable_layers(G).values():
            layer.weight_orig.add_(1.0)  # changes only the pruned-away entries' *effect* if the mask were ignored
    assert not torch.allclose(G(z), masked)  # the kept weights changed too, so the output moves...
    P.make_permanent(G)
    assert not any(hasattr(m, "weight_mask") for m in G.modules())
    assert float(P.sparsity(G)) == pytest.approx(0.5, abs=1e-3)  # ...but the zeros stayed zeros


def test_pruning_again_continues_from_the_mask_and_amount_is_absolute():
    G = small_G()
    P.magnitude_prune(G, 0.5)
    first = {n: m.weight_mask.clone() for n, m in P.prunable_layers(G).items()}
    P.magnitude_prune(G, 0.75)
    assert float(P.sparsity(G)) == pytest.approx(0.75, abs=1e-3)
    for name, layer in P.prunable_layers(G).items():
        assert (layer.weight_mask <= first[name]).all()  # nothing pruned comes back


def test_sparsity_report_per_layer():
    G = small_G()
    P.magnitude_prune(G, 0.5, scope="layer")
    s = P.sparsity(G)
    assert set(s.layers) == {"project.0", "net.0", "net.3"}
    assert "overall" in str(s) and "net.0" in str(s)


@pytest.mark.parametrize("amount", [-0.1, 1.5, float("nan")])
def test_bad_amount_raises_value_error(amount):
    with pytest.raises(ValueError, match="amount"):
        P.magnitude_prune(small_G(), amount)


def test_bad_scope_and_unsupported_module_raise():
    with pytest.raises(ValueError, match="scope"):
        P.magnitude_prune(small_G(), 0.5, scope="row")
    with pytest.raises(TypeError, match="amount"):
        P.magnitude_prune(small_G(), "half")
    with pytest.raises(TypeError, match="no layer that can be pruned"):
        P.magnitude_prune(nn.Sequential(nn.ReLU(), nn.BatchNorm1d(3)), 0.5)
    with pytest.raises(TypeError, match="Module"):
        P.sparsity(torch.zeros(3))


# --- the cubic schedule -------------------------------------------------------------------------

def test_cubic_schedule_formula_and_end_points():
    s = lambda t: P.cubic_schedule(t, start_step=100, end_step=1100, initial_sparsity=0.1, final_sparsity=0.9)  # noqa: E731
    assert s(0) == pytest.approx(0.1) and s(100) == pytest.approx(0.1)
    assert s(1100) == pytest.approx(0.9) and s(5000) == pytest.approx(0.9)
    assert s(600) == pytest.approx(0.9 + (0.1 - 0.9) * 0.5**3)  # halfway: 7/8 of the way there
    values = [s(t) for t in range(100, 1101, 50)]
    assert all(a <= b for a, b in zip(values, values[1:]))
    steps = [b - a for a, b in zip(values, values[1:])]
    assert all(a >= b for a, b in zip(steps, steps[1:]))  # fast first, slow at the end


def test_cubic_schedule_bad_arguments():
    with pytest.raises(ValueError, match="end_step"):
        P.cubic_schedule(0, 100, 100)
    with pytest.raises(ValueError, match="final_sparsity"):
        P.cubic_schedule(0, 0, 10, final_sparsity=1.2)


@pytest.mark.parametrize("target", ["G", "both"])
def test_gradual_pruning_callback_reaches_the_final_sparsity(target):
    G, D = small_G(), nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 1))
    cb = P.GradualPruning(0.8, start_step=10, end_step=50, every=10, target=target)
    for step in range(60):
        cb(step, G, D, None)
    assert [t for t, _ in cb.applied] == [10, 20, 30, 40, 50]
    assert cb.applied[-1][1] == pytest.approx(0.8)
    assert float(P.sparsity(G)) == pytest.approx(0.8, abs=1e-3)
    assert (float(P.sparsity(D)) > 0.79) == (target == "both")


def test_per_layer_amounts_and_their_errors():
    G = small_G()
    P.magnitude_prune(G, {"project.0": 0.9, "net.0": 0.5})
    s = P.sparsity(G).layers
    assert s["project.0"][0] == round(0.9 * s["project.0"][1]) and s["net.0"][0] == round(0.5 * s["net.0"][1])
    assert s["net.3"][0] == 0  # not named: left dense
    with pytest.raises(ValueError, match="not prunable layers.*net.1"):
        P.magnitude_prune(G, {"net.1": 0.5})
    with pytest.raises(ValueError, match="amount\\['net.0'\\]"):
        P.magnitude_prune(G, {"net.0": 2.0})
    cb = P.GradualPruning({"project.0": 0.8}, start_step=0, end_step=10, every=5)
    for step in range(12):
        cb(step, G, None)
    assert cb.applied[-1] == (10, {"project.0": pytest.approx(0.8)})
    assert P.sparsity(G).layers["project.0"] == s["project.0"]  # a lower target never regrows weights


def test_gradual_pruning_bad_target():
    with pytest.raises(ValueError, match="target"):
        P.GradualPruning(0.8, 0, 10, target="generator")


# --- channels -----------------------------------------------------------------------------------

@pytest.mark.parametrize("criterion", ["l1", "bn"])
def test_removed_channels_give_the_same_output_as_zeroed_channels(criterion):
    G = small_G()
    small, masked = P.prune_channels(G, 0.5, criterion), P.zero_channels(G, 0.5, criterion)
    z = torch.randn(6, 8)
    assert torch.allclose(small.eval()(z), masked.eval()(z), atol=1e-6)
    assert not torch.allclose(small(z), G(z))  # channels really were removed
    assert P.count_params(small) < P.count_params(masked) == P.count_params(G)
    assert small.channels == 4 and small.net[0].out_channels == 2 and small.net[3].in_channels == 2


def test_prune_channels_keeps_the_largest_l1_filters_and_leaves_the_original_alone():
    G = small_G()
    before = copy.deepcopy(G.state_dict())
    small = P.prune_channels(G, 0.5)
    scores = G.net[0].weight.abs().sum(dim=(0, 2, 3))  # ConvTranspose weight: (in, out, k, k)
    kept = torch.topk(scores, 2).indices.sort().values
    assert torch.equal(small.net[1].weight, G.net[1].weight[kept])
    assert all(torch.equal(v, G.state_dict()[k]) for k, v in before.items())


def test_prune_channels_on_a_sequential_chain():
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 6, 3, padding=1),
                        nn.LeakyReLU(0.2), nn.ConvTranspose2d(6, 2, 4, 2, 1)).eval()
    x = torch.randn(2, 3, 8, 8)
    small = P.prune_channels(seq, [0.5, 0.5])
    assert torch.allclose(small(x), P.zero_channels(seq, [0.5, 0.5])(x), atol=1e-6)
    assert [m.out_channels for m in small if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))] == [4, 3, 2]
    assert P.count_macs(small, (1, 3, 8, 8)) < P.count_macs(seq, (1, 3, 8, 8))


@pytest.mark.parametrize("amount", [1.0, -0.5])
def test_prune_channels_bad_amount(amount):
    with pytest.raises(ValueError, match="amount"):
        P.prune_channels(small_G(), amount)


def test_prune_channels_bad_inputs():
    with pytest.raises(ValueError, match="2 groups"):
        P.prune_channels(small_G(), [0.5])
    with pytest.raises(ValueError, match="criterion"):
        P.prune_channels(small_G(), 0.5, criterion="l2")
    with pytest.raises(TypeError, match="supports"):
        P.prune_channels(nn.LSTM(3, 4), 0.5)
    with pytest.raises(TypeError, match="Linear"):
        P.keep_out_channels(nn.BatchNorm2d(3), [0])
    with pytest.raises(ValueError, match="distinct indices"):
        P.keep_out_channels(nn.Conv2d(3, 4, 3), [0, 0, 9])


def test_bn_l1_penalty():
    G = small_G()
    expected = 1e-3 * (G.project[1].weight.abs().sum() + G.net[1].weight.abs().sum())
    assert torch.allclose(P.bn_l1_penalty(G, 1e-3), expected)
    with pytest.raises(TypeError, match="BatchNorm"):
        P.bn_l1_penalty(nn.Linear(3, 3))


# --- low rank -----------------------------------------------------------------------------------

@pytest.mark.parametrize("layer, x", [
    (nn.Linear(20, 30), (4, 20)), (nn.Conv2d(6, 8, 3, padding=1), (2, 6, 7, 7)), (nn.ConvTranspose2d(8, 5, 4, 2, 1), (2, 8, 7, 7))])
def test_low_rank_at_full_rank_is_exact_and_rank_r_is_the_best_approximation(layer, x):
    torch.manual_seed(0)
    x = torch.randn(x)
    W = layer.weight.detach().reshape(layer.weight.shape[0], -1)
    full = min(W.shape)
    assert torch.allclose(P.low_rank(layer, rank=full)(x), layer(x), atol=1e-5)
    two = P.low_rank(layer, rank=2)
    assert sum(p.numel() for p in two.parameters()) < sum(p.numel() for p in layer.parameters())
    # Eckart–Young: the error of the rank-2 weight is the norm of the dropped singular values
    first, second = two[0].weight.detach(), two[1].weight.detach()
    if isinstance(layer, nn.ConvTranspose2d):
        W2 = first.reshape(2, -1).t() @ second.reshape(2, -1)
    else:
        W2 = second.reshape(second.shape[0], 2) @ first.reshape(2, -1)
    s = torch.linalg.svdvals(W)
    assert torch.linalg.matrix_norm(W - W2) == pytest.approx(float(s[2:].norm()), rel=1e-4)


def test_rank_for_energy():
    s = torch.tensor([3.0, 2.0, 1.0, 0.0])  # energies 9, 4, 1 of 14
    assert P.rank_for_energy(s, 9 / 14) == 1
    assert P.rank_for_energy(s, 0.9) == 2 and P.rank_for_energy(s, 1.0) == 3
    with pytest.raises(ValueError, match="energy"):
        P.rank_for_energy(s, 0.0)


def test_low_rank_bad_arguments():
    with pytest.raises(ValueError, match="rank must be between 1"):
        P.low_rank(nn.Linear(4, 4), rank=0)
    with pytest.raises(ValueError, match="exactly one"):
        P.low_rank(nn.Linear(4, 4))
    with pytest.raises(TypeError, match="low_rank supports"):
        P.low_rank(nn.BatchNorm1d(4), rank=1)


def test_low_rank_model_factorises_only_where_it_saves():
    G = small_G()
    small = P.low_rank_model(G, energy=0.5)
    assert P.count_params(small) < P.count_params(G)
    assert small(torch.randn(3, 8)).shape == (3, 1, 28, 28)


# --- measurements -------------------------------------------------------------------------------

def test_count_macs_by_hand():
    G = DCGANGenerator(latent_dim=8, base_channels=4)  # Linear 8→8·49; ConvT 8→4 on 7×7; ConvT 4→1 on 14×14
    per_sample = 8 * 8 * 49 + 7 * 7 * 8 * 4 * 16 + 14 * 14 * 4 * 1 * 16
    assert P.count_macs(G, (1, 8)) == per_sample
    assert P.count_macs(G, (5, 8)) == 5 * per_sample
    conv = nn.Conv2d(3, 4, 3, padding=1)
    assert P.count_macs(conv, (2, 3, 5, 5)) == 2 * 5 * 5 * 4 * 3 * 9
    with pytest.raises(ValueError, match="input_shape"):
        P.count_macs(G, (0, 8))


def test_masks_do_not_change_macs_params_or_file_size_only_nonzeros():
    G = small_G()
    dense_macs, dense_params, dense_bytes = P.count_macs(G, (1, 8)), P.count_params(G), P.saved_bytes(G)
    P.magnitude_prune(G, 0.9)
    assert P.count_macs(G, (1, 8)) == dense_macs and P.count_params(G) == dense_params
    assert P.count_macs(G, (1, 8), nonzero_only=True) < 0.2 * dense_macs
    assert P.saved_bytes(G) > dense_bytes  # weight_orig and weight_mask: the masked file is larger
    prunable = sum(m.weight.numel() for m in P.prunable_layers(G).values())
    others = sum(int((p != 0).sum()) for name, p in G.named_parameters() if not name.endswith("weight_orig"))
    assert P.count_nonzeros(G) == others + round(0.1 * prunable)


def test_latency_ms_is_positive_and_validates():
    G = small_G()
    assert P.latency_ms(G, torch.randn(2, 8), repeats=3, warmup=1) > 0
    assert not G.training
    with pytest.raises(ValueError, match="repeats"):
        P.latency_ms(G, torch.randn(2, 8), repeats=0)


# --- int8 ---------------------------------------------------------------------------------------

def test_dynamic_int8_quantises_linear_layers_only():
    G = small_G()
    q = P.quantize_dynamic_int8(G)
    assert "quantized" in type(q.project[0]).__module__ and isinstance(q.net[0], nn.ConvTranspose2d)
    z = torch.randn(16, 8)
    assert (q(z) - G(z)).abs().mean() < 0.05
    with pytest.raises(TypeError, match="no Linear"):
        P.quantize_dynamic_int8(nn.Sequential(nn.Conv2d(1, 1, 3)))


@pytest.mark.xfail(not P.int8_conv_transpose_is_correct(), strict=True,
                   reason=f"PyTorch {torch.__version__} computes int8 ConvTranspose2d wrongly (a fixed PyTorch makes this XPASS: drop the mark)")
def test_static_int8_generator_is_close_and_about_4x_smaller():
    torch.manual_seed(0)
    G = DCGANGenerator(latent_dim=16, base_channels=16)
    G.train()
    G(torch.randn(64, 16))
    G.eval()
    q = P.quantize_static_int8(G, num_batches=3, batch_size=64)
    z = torch.randn(32, 16)
    assert q(z).shape == G(z).shape
    assert (q(z) - G(z)).abs().mean() < 0.05
    assert P.saved_bytes(G) / P.saved_bytes(q) > 3.5
    with pytest.raises(TypeError, match="unconditional"):
        P.quantize_static_int8(DCGANGenerator(latent_dim=8, base_channels=4, num_classes=10))


def test_static_int8_warns_when_this_pytorch_gets_conv_transpose_wrong(monkeypatch):
    import gantutor.prune.quantize as Q

    monkeypatch.setattr(Q, "int8_conv_transpose_is_correct", lambda: False)
    G = DCGANGenerator(latent_dim=8, base_channels=4).eval()
    with pytest.warns(RuntimeWarning, match="computes int8 ConvTranspose2d wrongly"):
        P.quantize_static_int8(G, num_batches=1, batch_size=8)


# --- distillation -------------------------------------------------------------------------------

def test_distill_brings_a_pruned_student_closer_to_its_teacher_while_pruning_it():
    teacher = small_G()
    with torch.no_grad():
        teacher.net[3].weight.mul_(20)  # images with contrast, far from the pruned copy's
    student = P.prune_channels(teacher, 0.5)
    schedule = P.GradualPruning(0.3, start_step=0, end_step=40, every=10)
    history = P.distill(student, teacher, num_steps=100, batch_size=32, lr=1e-2, callbacks=[schedule], progress=False)
    assert len(history.distill_loss) == 100 and not student.training and not teacher.training
    first, last = sum(history.distill_loss[:10]) / 10, sum(history.distill_loss[-10:]) / 10
    assert last < 0.7 * first
    assert float(P.sparsity(student)) == pytest.approx(0.3, abs=1e-2)


def test_distill_bad_arguments():
    with pytest.raises(ValueError, match="latent size"):
        P.distill(DCGANGenerator(latent_dim=4, base_channels=4), small_G(), num_steps=1)
    with pytest.raises(ValueError, match="num_steps"):
        P.distill(small_G(), small_G(), num_steps=0)


def test_compare_latency_times_every_model():
    fast, slow = nn.Linear(4, 4), nn.Sequential(*[nn.Linear(4, 4) for _ in range(50)])
    ms = P.compare_latency({"fast": fast, "slow": slow}, torch.randn(2, 4), rounds=3, per_round=2)
    assert set(ms) == {"fast", "slow"} and 0 < ms["fast"] < ms["slow"]
    with pytest.raises(ValueError, match="rounds"):
        P.compare_latency({"fast": fast}, torch.randn(2, 4), rounds=0)


def test_masks_carry_over_to_another_copy():
    G, other = small_G(0), small_G(1)
    P.magnitude_prune(G, 0.6)
    masks = P.masks_of(G)
    P.apply_masks(other, masks)
    for name, layer in P.prunable_layers(other).items():
        assert torch.equal(layer.weight_mask, masks[name]) and torch.equal(layer.weight, layer.weight_orig * masks[name])
    with pytest.raises(ValueError, match="not a prunable layer"):
        P.apply_masks(other, {"net.1": masks["net.0"]})
    with pytest.raises(ValueError, match="shape"):
        P.apply_masks(other, {"net.0": masks["project.0"]})


# --- Helpers added for chapter 9 (myths and errata): the training-pass latency of pruned models. ----------

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
