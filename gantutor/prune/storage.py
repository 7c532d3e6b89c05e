"""Sparse storage and the Deep Compression pipeline: making a pruned model *small on disk*.

A mask zeroes weights but ``torch.save`` still writes every zero (and a masked model writes
``weight_orig`` *and* ``weight_mask``: twice the size). ``save_sparse`` folds the masks in and
writes each mostly-zero tensor as a **bitmask** of where the non-zeros are (1 bit per weight,
``numpy.packbits``) plus the non-zero values. A bitmask beats CSR at the densities pruning
reaches: at 10 % density CSR needs a column index per non-zero (≥ 2 bytes each, 8 in PyTorch's
int64 CSR, i.e. ≥ 0.2 bytes per weight) plus a pointer per row, while the bitmask costs 1/8 byte
per weight whatever the density; CSR only wins below 1/16 ≈ 6 % density with 16-bit indices.

Deep Compression (Han, Mao & Dally, ICLR 2016) goes further in three stages, each a function here:
1. pruning (``gantutor.prune.magnitude_prune``), positions stored as the *gaps* between
   consecutive non-zeros (relative indexing: small numbers, most of them frequent);
2. weight sharing: each layer's non-zero values are clustered by 1-D k-means (``kmeans_share``)
   into 2**bits centroids and stored as ``bits``-bit codes plus the float32 codebook;
3. Huffman coding (``huffman_code``) of both the gaps and the codes: frequent symbols get short
   code words. (The paper caps gaps at 8 bits for conv, 5 for FC layers and pads with a zero
   weight; here gaps are Huffman-coded uncapped, so no padding is needed.)
``deep_compress`` runs stages 2–3 on a pruned model and reports the bytes after each stage;
``DeepCompressed.to_model`` decodes it, so quality is measured on the model rebuilt from the bits.
"""
from __future__ import annotations

import copy
import heapq
import math
import os
import pickle
import uuid
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from gantutor.prune.masks import prunable_layers
from gantutor.prune.measure import saved_bytes

FORMAT = "gantutor.sparse_state_dict/1"


# --- sparse state dicts ---------------------------------------------------------------------------

def _folded_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict an unpruned model would have: each ``<p>_orig`` / ``<p>_mask`` pair
    (torch.nn.utils.prune) becomes ``<p> = <p>_orig · <p>_mask``."""
    state, folded = model.state_dict(), {}
    for key, t in state.items():
        stem = key[:-len("_orig")]
        if key.endswith("_mask") and stem + "_orig" in state:
            continue  # folded into its <p>_orig below
        if key.endswith("_orig") and stem + "_mask" in state:
            key, t = stem, t * state[stem + "_mask"]  # the effective weight, as the forward pre-hook computes it
        folded[key] = t.detach().cpu()
    return folded


def _check_unmasked(model: nn.Module, name: str) -> None:
    state = model.state_dict()
    if any(k.endswith("_mask") and k[:-5] + "_orig" in state for k in state):
        raise ValueError(f"{name} still has pruning masks (weight_orig / weight_mask); call "
                         f"gantutor.prune.make_permanent({name}) first, or pass an unpruned model of the same architecture")


def _sparse_payload(state: dict[str, torch.Tensor], value_dtype: torch.dtype) -> dict:
    if not isinstance(value_dtype, torch.dtype) or not value_dtype.is_floating_point:
        raise TypeError(f"value_dtype must be a floating torch.dtype such as torch.float32 or torch.float16, got {value_dtype!r}")
    dense, sparse = {}, {}
    for key, t in state.items():
        kept = t != 0
        if t.is_floating_point() and t.dim() and t.numel() and 2 * int(kept.sum()) <= t.numel():  # at least half zeros
            bitmask = torch.from_numpy(np.packbits(kept.flatten().numpy()))  # (ceil(n / 8),) uint8: 1 bit per weight
            sparse[key] = {"shape": list(t.shape), "bitmask": bitmask, "values": t[kept].to(value_dtype)}
        else:
            dense[key] = t
    return {"format": FORMAT, "dense": dense, "sparse": sparse}


def _unpack(entry: dict) -> torch.Tensor:
    shape, values = tuple(entry["shape"]), entry["values"]
    kept = torch.from_numpy(np.unpackbits(entry["bitmask"].numpy(), count=math.prod(shape)).astype(bool))
    if int(kept.sum()) != values.numel():
        raise ValueError(f"corrupt sparse entry: its bitmask marks {int(kept.sum())} non-zeros, {values.numel()} values stored")
    flat = torch.zeros(kept.numel(), dtype=values.dtype)
    flat[kept] = values  # the non-zeros go back in row-major order
    return flat.view(shape)


def _load_state(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> nn.Module:
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    wrong = [f"{k}: {tuple(state[k].shape)} stored, {tuple(v.shape)} in the model"
             for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        parts = [f"missing keys {missing}"] * bool(missing) + [f"unexpected keys {unexpected}"] * bool(unexpected) + wrong
        raise ValueError(f"{source} does not match the model ({type(model).__name__}): " + "; ".join(parts)
                         + ". Was it saved from a different architecture?")
    model.load_state_dict(state)  # copies into the model's own tensors (dtype and device)
    return model


def sparse_bytes(model: nn.Module, value_dtype: torch.dtype = torch.float32) -> int:
    """Bytes that ``save_sparse(model, path, value_dtype)`` writes (measured in memory)."""
    return saved_bytes(_sparse_payload(_folded_state(model), value_dtype))


def save_sparse(model: nn.Module, path, value_dtype: torch.dtype = torch.float32) -> None:
    """Write ``model``'s state dict with masks folded in (it loads into an unpruned model of the
    same architecture); every floating tensor that is at least half zeros is stored as a bitmask
    of its non-zeros + their values in ``value_dtype`` + its shape, the others as they are.

    The file is written under a temporary name and then renamed (``os.replace``), so a save that
    is interrupted leaves an earlier file at ``path`` intact. Read it back with ``load_sparse``.
    """
    payload, path = _sparse_payload(_folded_state(model), value_dtype), os.fspath(path)
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename, so even a power cut leaves one whole file
        os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half of one
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_sparse(path, model: nn.Module) -> nn.Module:
    """Load a file written by ``save_sparse`` into ``model`` (unpruned, same architecture) and
    return it. Raises ValueError for another kind of file or a model whose keys/shapes differ."""
    _check_unmasked(model, "model")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError) as exc:
        raise ValueError(f"{path!s} is not a file written by gantutor.prune.save_sparse ({exc.__class__.__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path!s} is not a file written by gantutor.prune.save_sparse (no format marker {FORMAT!r}); "
                         "a plain torch.save(state_dict) file loads with model.load_state_dict(torch.load(path))")
    state = {**payload["dense"], **{k: _unpack(e) for k, e in payload["sparse"].items()}}
    return _load_state(model, state, f"{path!s}")


# --- weight sharing -------------------------------------------------------------------------------

def _check_bits(bits) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError(f"bits must be an integer in 1..8, got {bits!r}")
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be in 1..8 (2 to 256 shared values per layer), got {bits}")
    return bits


def _nearest(x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index of the nearest of the (sorted) centroids: in 1-D the clusters are intervals cut at midpoints."""
    return torch.bucketize(x, (centroids[1:] + centroids[:-1]) / 2)  # (n,) long


def kmeans_share(values: torch.Tensor, bits: int, iters: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """1-D k-means with k = 2**bits: returns ``codebook`` (k,) and ``codes`` (n,) long, with
    ``codebook[codes]`` ≈ ``values`` and each value coded by its nearest centroid.

    Centroids start evenly spaced between min and max: Han et al. (2016, §3.2) found this *linear*
    initialisation best, as it keeps centroids on the rare large weights, which matter most. A
    cluster that empties keeps its centroid (after magnitude pruning the values near 0 are gone,
    so the middle centroids of the linear start often stay empty). Each step:
    c_j = mean{v : v nearest to c_j}. (The paper then fine-tunes the centroids by gradient
    descent, summing the gradients of each cluster; that is not done here.)
    """
    if not isinstance(values, torch.Tensor) or not values.is_floating_point() or values.dim() != 1:
        raise TypeError(f"values must be a 1-D floating-point tensor (one layer's non-zero weights), got "
                        f"{type(values).__name__} of shape {tuple(getattr(values, 'shape', ()))}")
    k, x = 2 ** _check_bits(bits), values.detach().cpu().double()
    if x.numel() == 0:
        return torch.zeros(k, dtype=values.dtype), torch.zeros(0, dtype=torch.long)
    centroids = torch.linspace(x.min().item(), x.max().item(), k, dtype=torch.float64)  # linear initialisation
    for _ in range(iters):  # stays sorted: each mean lies inside its own interval
        codes = _nearest(x, centroids)
        counts = torch.bincount(codes, minlength=k)
        means = torch.zeros(k, dtype=torch.float64).index_add_(0, codes, x) / counts.clamp(min=1)
        new = torch.where(counts > 0, means, centroids)  # an empty cluster keeps its centroid
        if torch.equal(new, centroids):
            break
        centroids = new
    codebook = centroids.to(values.dtype)
    return codebook, _nearest(x, codebook.double())


# --- Huffman coding -------------------------------------------------------------------------------

def _as_list(symbols) -> list:
    return symbols.tolist() if isinstance(symbols, (torch.Tensor, np.ndarray)) else list(symbols)


def _code_lengths(counts: Counter) -> dict:
    """Huffman's algorithm: merge the two rarest subtrees until one is left; a symbol's code
    length is how many merges it went through. Ties break by symbol order, then merge order."""
    if len(counts) == 1:
        return {s: 1 for s in counts}
    heap = [(n, i, [s]) for i, (s, n) in enumerate(sorted(counts.items()))]
    heapq.heapify(heap)
    lengths, order = dict.fromkeys(counts, 0), len(heap)
    while len(heap) > 1:
        (n1, _, a), (n2, _, b) = heapq.heappop(heap), heapq.heappop(heap)
        for s in a + b:
            lengths[s] += 1  # one level deeper
        heapq.heappush(heap, (n1 + n2, order, a + b))
        order += 1
    return lengths


def huffman_code(symbols) -> dict:
    """A Huffman code {symbol: bit string} for the symbols' frequencies (symbols hashable and
    orderable, e.g. ints). It is *canonical*: code words are assigned in order of (length, symbol),
    so the table is rebuilt from the lengths alone, which is why a stored table needs only
    (symbol, length) per entry. A single distinct symbol gets the code "0"; none, an empty code."""
    lengths = _code_lengths(Counter(_as_list(symbols)))
    code, value, previous = {}, 0, 0
    for s in sorted(lengths, key=lambda s: (lengths[s], s)):
        value <<= lengths[s] - previous  # next code word, lengthened with zeros
        previous = lengths[s]
        code[s] = format(value, f"0{previous}b")
        value += 1
    return code


def huffman_encode(symbols, code: dict) -> tuple[bytes, int]:
    """The symbols' code words concatenated and packed 8 per byte: returns (bytes, num_bits)."""
    try:
        bits = "".join(code[s] for s in _as_list(symbols))
    except KeyError as exc:
        raise ValueError(f"symbol {exc.args[0]!r} has no code word in code") from None
    array = np.frombuffer(bits.encode("ascii"), dtype=np.uint8) - ord("0")  # (num_bits,) of 0/1
    return np.packbits(array).tobytes(), len(bits)


def huffman_decode(data: bytes, num_bits: int, code: dict) -> list:
    """Inverse of ``huffman_encode``: read the first ``num_bits`` bits of ``data`` as code words."""
    if not 0 <= num_bits <= 8 * len(data):
        raise ValueError(f"num_bits must be in 0..{8 * len(data)} for {len(data)} bytes of data, got {num_bits}")
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=num_bits)
    symbol_of, out, word = {w: s for s, w in code.items()}, [], ""
    for b in (bits + ord("0")).tobytes().decode("ascii"):
        word += b
        if word in symbol_of:  # prefix-free: the first match is the code word
            out.append(symbol_of[word])
            word = ""
    if word:
        raise ValueError(f"the data ends inside a code word ({word!r}): wrong code or num_bits")
    return out


def _table_bytes(code: dict) -> int:
    """A stored canonical table: per entry the symbol in as few whole bytes as the largest needs,
    plus 1 byte for its code length (2 bytes per entry for codes of ≤ 8 bits, 3 for gaps < 65536)."""
    return len(code) * (max(1, math.ceil(max(code).bit_length() / 8)) + 1) if code else 0


# --- Deep Compression -----------------------------------------------------------------------------

@dataclass
class CodedWeight:
    """One layer's weight after Deep Compression: Huffman-coded gaps and k-means codes + codebook."""

    shape: tuple
    codebook: torch.Tensor  # (2**bits,) float32
    count: int  # number of non-zeros
    gap_code: dict = field(repr=False)
    gaps: bytes = field(repr=False)
    gap_bits: int
    value_code: dict = field(repr=False)
    codes: bytes = field(repr=False)
    code_bits: int

    def decode(self) -> torch.Tensor:
        """The shared weight: codebook[code] at the kept positions, 0 elsewhere."""
        gaps = torch.tensor(huffman_decode(self.gaps, self.gap_bits, self.gap_code), dtype=torch.long)
        codes = torch.tensor(huffman_decode(self.codes, self.code_bits, self.value_code), dtype=torch.long)
        flat = torch.zeros(math.prod(self.shape), dtype=self.codebook.dtype)
        flat[torch.cumsum(gaps, 0) - 1] = self.codebook[codes]  # position = sum of the gaps − 1
        return flat.view(self.shape)

    def shared_bytes(self, bits: int) -> int:  # positions as a 1-bit mask, values as bits-bit codes, codebook
        return math.ceil(math.prod(self.shape) / 8) + math.ceil(self.count * bits / 8) + 4 * self.codebook.numel()

    def huffman_bytes(self) -> int:  # both streams, both tables, codebook
        tables = _table_bytes(self.gap_code) + _table_bytes(self.value_code)
        return len(self.gaps) + len(self.codes) + tables + 4 * self.codebook.numel()


def _code_weight(weight: torch.Tensor, bits: int) -> CodedWeight:
    flat = weight.flatten().float()
    positions = flat.nonzero().flatten()  # (nnz,) indices of the kept weights
    gaps = torch.diff(positions, prepend=torch.tensor([-1])).tolist()  # relative index: distance to the previous non-zero
    codebook, codes = kmeans_share(flat[positions], bits)
    gap_code, value_code = huffman_code(gaps), huffman_code(codes)
    return CodedWeight(tuple(weight.shape), codebook, len(gaps), gap_code, *huffman_encode(gaps, gap_code),
                       value_code, *huffman_encode(codes, value_code))


@dataclass
class DeepCompressed:
    """A model after Deep Compression, with the bytes after each stage (``sizes()``):

    * ``dense``: the float32 state dict as ``torch.save`` writes it;
    * ``pruned_sparse``: ``sparse_bytes`` (bitmask + float32 non-zeros, ``torch.save`` container);
    * ``shared``: 1-bit position masks + ``bits``-bit codes + float32 codebooks + the rest;
    * ``huffman``: Huffman-coded gaps and codes + their tables + codebooks + the rest.
    The last two count payload bytes exactly (no container; names and shapes come from the
    architecture); "the rest" (biases, normalisation, buffers) is dense float32.
    """

    bits: int
    layers: dict[str, CodedWeight] = field(repr=False)
    rest: dict[str, torch.Tensor] = field(repr=False)
    dense: int = 0
    pruned_sparse: int = 0
    shared: int = 0
    huffman: int = 0

    def sizes(self) -> dict[str, int]:
        return {"dense": self.dense, "pruned_sparse": self.pruned_sparse, "shared": self.shared, "huffman": self.huffman}

    def __str__(self) -> str:
        rows = [f"{'stage':<14} {'bytes':>11} {'× smaller':>10}"]
        rows += [f"{stage:<14} {n:>11,} {self.dense / n:>9.1f}×" for stage, n in self.sizes().items()]
        return "\n".join(rows)

    def to_model(self, like: nn.Module) -> nn.Module:
        """A copy of ``like`` (unpruned, same architecture) holding the decoded shared weights."""
        _check_unmasked(like, "like")
        state = {**self.rest, **{_weight_key(name): coded.decode() for name, coded in self.layers.items()}}
        return _load_state(copy.deepcopy(like), state, "the compressed model")


def _weight_key(layer_name: str) -> str:
    return f"{layer_name}.weight" if layer_name else "weight"


@torch.no_grad()
def deep_compress(model: nn.Module, bits: int = 4) -> DeepCompressed:
    """Weight sharing (``bits`` bits, k-means per layer) and Huffman coding of the non-zero
    weights of every Linear / Conv / ConvTranspose layer of a pruned ``model`` (masks folded in
    or not); everything else stays dense float32. ``print`` the result for the size table."""
    bits = _check_bits(bits)
    state = {k: t.float() if t.is_floating_point() else t for k, t in _folded_state(model).items()}
    layers = {name: _code_weight(state[_weight_key(name)], bits) for name in prunable_layers(model)}
    rest = {k: t for k, t in state.items() if k not in {_weight_key(name) for name in layers}}
    rest_bytes = sum(t.numel() * t.element_size() for t in rest.values())
    return DeepCompressed(
        bits, layers, rest, dense=saved_bytes(state), pruned_sparse=saved_bytes(_sparse_payload(state, torch.float32)),
        shared=rest_bytes + sum(c.shared_bytes(bits) for c in layers.values()),
        huffman=rest_bytes + sum(c.huffman_bytes() for c in layers.values()))
