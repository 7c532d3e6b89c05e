"""gantutor.prune.storage: sparse files, k-means weight sharing, Huffman coding, Deep Compression."""
import copy
import io
import os

import pytest
import torch
from torch import nn

from gantutor.models import DCGANGenerator
from gantutor.prune.masks import magnitude_prune, make_permanent, prunable_layers
from gantutor.prune.storage import (DeepCompressed, deep_compress, huffman_code, huffman_decode, huffman_encode, kmeans_share,
                                    load_sparse, save_sparse, sparse_bytes)
from test_prune import small_G  # the small generator with BatchNorm statistics of the other prune tests


def linear_heavy(seed=0):
    """Weights dominate (200,704 + 31,360 of them beside 3,146 biases), 90 % pruned layer by layer.
    Bell-shaped weights, like trained ones (a uniform init leaves most k-means centroids empty)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 3136), nn.ReLU(), nn.Linear(3136, 10))
    for layer in (model[0], model[2]):
        nn.init.normal_(layer.weight, std=0.05)
    return magnitude_prune(model, 0.9, scope="layer")


def torch_save_bytes(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getbuffer().nbytes


# --- save_sparse / load_sparse --------------------------------------------------------------------

@pytest.mark.parametrize("permanent", [False, True])
def test_save_load_round_trip_is_exact(tmp_path, permanent):
    G = magnitude_prune(small_G(), 0.9)
    if permanent:
        make_permanent(G)
    path = tmp_path / "g.pt"
    save_sparse(G, path)
    assert sparse_bytes(G) == os.path.getsize(path)
    fresh = load_sparse(path, small_G(seed=1))
    for name, layer in prunable_layers(G).items():
        assert torch.equal(prunable_layers(fresh)[name].weight, layer.weight)  # the masked weight, zeros included
    for key in ("project.1.running_mean", "project.1.running_var", "net.3.bias", "net.1.num_batches_tracked"):
        assert torch.equal(fresh.state_dict()[key], G.state_dict()[key])
    z = torch.randn(5, 8)
    assert torch.equal(fresh(z), G(z))


def test_sparse_file_is_at_least_4x_smaller_than_dense(tmp_path):
    model = linear_heavy()
    dense = torch_save_bytes(make_permanent(copy.deepcopy(model)).state_dict())
    save_sparse(model, tmp_path / "m.pt")
    sparse = os.path.getsize(tmp_path / "m.pt")
    assert dense >= 4 * sparse  # measured: 943,133 vs 137,237 bytes (6.9×)
    assert sparse_bytes(model, torch.float16) < sparse  # float16 values: smaller still
    assert torch_save_bytes(model.state_dict()) > dense  # a masked state dict is *larger* than dense


def test_float16_values_load_into_a_float32_model(tmp_path):
    G = magnitude_prune(small_G(), 0.9)
    save_sparse(G, tmp_path / "g.pt", value_dtype=torch.float16)
    fresh = load_sparse(tmp_path / "g.pt", small_G(seed=1))
    w, w16 = G.project[0].weight, fresh.project[0].weight
    assert w16.dtype == torch.float32 and torch.equal(w16 != 0, w != 0)
    assert torch.allclose(w16, w, rtol=1e-3, atol=1e-6)


def test_load_errors_are_clear(tmp_path):
    G = magnitude_prune(small_G(), 0.9)
    save_sparse(G, tmp_path / "g.pt")
    with pytest.raises(ValueError, match="does not match the model.*different architecture"):
        load_sparse(tmp_path / "g.pt", DCGANGenerator(latent_dim=8, base_channels=8))
    with pytest.raises(ValueError, match="missing keys"):
        load_sparse(tmp_path / "g.pt", nn.Sequential(nn.Linear(8, 8)))
    torch.save(small_G().state_dict(), tmp_path / "plain.pt")
    with pytest.raises(ValueError, match="not a file written by .*save_sparse"):
        load_sparse(tmp_path / "plain.pt", small_G())
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a file written by .*save_sparse"):
        load_sparse(tmp_path / "junk.pt", small_G())
    with pytest.raises(ValueError, match="make_permanent"):
        load_sparse(tmp_path / "g.pt", magnitude_prune(small_G(), 0.5))
    with pytest.raises(TypeError, match="value_dtype"):
        save_sparse(G, tmp_path / "h.pt", value_dtype=torch.int8)


def test_an_interrupted_save_leaves_the_earlier_file_intact(tmp_path, monkeypatch):
    G = magnitude_prune(small_G(), 0.9)
    path = tmp_path / "g.pt"
    save_sparse(G, path)
    before = path.read_bytes()

    def crash(obj, f):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_sparse(magnitude_prune(small_G(seed=1), 0.5), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["g.pt"]  # no temporary file left behind


# --- kmeans_share ---------------------------------------------------------------------------------

def test_kmeans_finds_well_separated_cluster_means():
    torch.manual_seed(0)
    groups = [m + 0.1 * torch.randn(200) for m in (-6.0, -2.0, 2.0, 6.0)]
    codebook, codes = kmeans_share(torch.cat(groups), bits=2)
    assert codebook.shape == (4,) and codes.shape == (800,) and codes.dtype == torch.long
    assert torch.allclose(codebook, torch.stack([g.mean() for g in groups]), atol=1e-5)
    assert torch.equal(codes, torch.arange(4).repeat_interleave(200))


def test_kmeans_codes_the_nearest_centroid_and_keeps_empty_clusters():
    torch.manual_seed(0)
    values = torch.randn(1000) ** 3
    codebook, codes = kmeans_share(values, bits=3)
    distance = (values[:, None] - codebook[None, :]).abs()  # (n, k)
    assert torch.allclose(distance.gather(1, codes[:, None]).squeeze(1), distance.min(1).values)
    codebook, codes = kmeans_share(torch.tensor([0.0] * 5 + [1.0] * 5), bits=2)
    assert torch.allclose(codebook, torch.tensor([0.0, 1 / 3, 2 / 3, 1.0]))  # the middle two stay at their linear start
    assert codes.tolist() == [0] * 5 + [3] * 5


@pytest.mark.parametrize("bits, error", [(0, ValueError), (9, ValueError), (2.0, TypeError), (True, TypeError)])
def test_kmeans_bits_out_of_range_raise(bits, error):
    with pytest.raises(error, match="bits"):
        kmeans_share(torch.randn(10), bits)


def test_kmeans_rejects_non_1d_values():
    with pytest.raises(TypeError, match="values"):
        kmeans_share(torch.randn(3, 3), 2)


# --- Huffman --------------------------------------------------------------------------------------

def test_huffman_round_trip_and_prefix_free():
    torch.manual_seed(0)
    symbols = torch.randint(0, 20, (500,)).tolist()
    code = huffman_code(symbols)
    words = list(code.values())
    assert not any(a != b and b.startswith(a) for a in words for b in words)  # prefix-free
    data, num_bits = huffman_encode(symbols, code)
    assert num_bits == sum(len(code[s]) for s in symbols) and len(data) == (num_bits + 7) // 8
    assert huffman_decode(data, num_bits, code) == symbols
    assert huffman_code(symbols) == code  # deterministic


def test_huffman_beats_fixed_length_on_a_skewed_distribution():
    symbols = [0] * 800 + [1] * 100 + [2] * 50 + [3] * 30 + [4] * 10 + [5] * 5 + [6] * 3 + [7] * 2
    code = huffman_code(symbols)
    mean_length = sum(len(code[s]) for s in symbols) / len(symbols)
    assert mean_length < 3 / 2  # fixed length: 3 bits for 8 symbols
    assert len(code[0]) == 1 and len(code[7]) == max(map(len, code.values()))


def test_huffman_single_symbol_and_empty_input():
    code = huffman_code([7, 7, 7])
    assert code == {7: "0"}
    assert huffman_decode(*huffman_encode([7, 7, 7], code), code) == [7, 7, 7]
    assert huffman_code([]) == {} and huffman_encode([], {}) == (b"", 0) and huffman_decode(b"", 0, {}) == []


def test_huffman_errors():
    code = huffman_code([1, 2, 2])
    with pytest.raises(ValueError, match="symbol 3"):
        huffman_encode([3], code)
    with pytest.raises(ValueError, match="num_bits"):
        huffman_decode(b"\x00", 9, code)
    with pytest.raises(ValueError, match="ends inside a code word"):
        huffman_decode(*huffman_encode([1, 1], {1: "01"}), {1: "011"})


# --- deep_compress --------------------------------------------------------------------------------

def test_deep_compress_stages_shrink_the_model():
    result = deep_compress(linear_heavy(), bits=4)
    assert isinstance(result, DeepCompressed)
    sizes = result.sizes()
    assert list(sizes) == ["dense", "pruned_sparse", "shared", "huffman"]
    assert sizes["dense"] > sizes["pruned_sparse"] > sizes["shared"] > sizes["huffman"]
    assert sizes["dense"] > 15 * sizes["huffman"]  # measured: 943,005 > 137,237 > 53,323 > 35,329 (26.7×)
    assert "huffman" in str(result) and "×" in str(result)


@pytest.mark.parametrize("permanent", [False, True])
def test_deep_compressed_model_holds_the_shared_weights(permanent):
    G = small_G()
    for layer in prunable_layers(G).values():
        nn.init.normal_(layer.weight, std=0.1)
    magnitude_prune(G, 0.9)
    if permanent:
        make_permanent(G)
    rebuilt = deep_compress(G, bits=4).to_model(small_G(seed=1))
    for name, layer in prunable_layers(G).items():
        w, shared = layer.weight.detach().flatten(), prunable_layers(rebuilt)[name].weight.detach().flatten()
        kept = w != 0
        codebook, codes = kmeans_share(w[kept], 4)
        assert torch.equal(shared[kept], codebook[codes]) and (shared[~kept] == 0).all()
        assert (shared - w).abs().max() <= codebook.diff().max() / 2 + 1e-6  # each weight rounded to its nearest centroid
    z = torch.randn(16, 8)
    assert (rebuilt(z) - G(z)).abs().max() < 0.1
    assert torch.equal(rebuilt.state_dict()["project.1.running_var"], G.state_dict()["project.1.running_var"])


def test_to_model_rejects_a_masked_or_different_model():
    result = deep_compress(magnitude_prune(small_G(), 0.9))
    with pytest.raises(ValueError, match="make_permanent"):
        result.to_model(magnitude_prune(small_G(), 0.5))
    with pytest.raises(ValueError, match="does not match"):
        result.to_model(DCGANGenerator(latent_dim=8, base_channels=8))


def test_deep_compress_handles_a_fully_pruned_layer():
    model = magnitude_prune(nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 3)), {"0": 1.0, "1": 0.5})
    result = deep_compress(model, bits=2)
    assert result.layers["0"].count == 0 and result.layers["1"].count == 9
    rebuilt = result.to_model(nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 3)))
    assert (rebuilt[0].weight == 0).all() and torch.equal(rebuilt[0].bias, model[0].bias)
    assert torch.equal(rebuilt[1].weight != 0, model[1].weight != 0)
