"""Pruning and compressing the digits generator of chapter 4: what each method saves, and what it costs.

    python benchmarks/pruning.py                      # the table (~6 min on 2 cores)
    python benchmarks/pruning.py --json --out runs/pruning

The dense model is chapter 4's DCGAN generator (``benchmarks/results/image_gans/dcgan_G.pt``,
trained by ``benchmarks/image_gans.py``). Every compressed model is scored like it: FID of
N = 1,000 samples (the same z for every model) against the 1,000 test digits, in the course
classifier's features, beside the dense model's. Fine-tuning is distillation from the dense
generator (``gantutor.prune.distill``): no discriminator, no real data.

* ``unstructured_90``: 90 % of G's weights zeroed by magnitude while distilling (cubic schedule
  over the first half of 2 × 3,000 steps), most in the large projection layer; ``bytes`` is the sparse file
  (bitmask + values); latency is that of the dense kernels that still run;
* ``structured``: 75 % of the channels of both hidden layers removed (L1 importance), distilled;
* ``torch_pruning``: the same channel budget through the Torch-Pruning library, distilled;
* ``low_rank``: each layer factorised by truncated SVD at 60 % of the energy where it saves weights, distilled;
* ``int8``: static int8 quantisation of the dense G (every layer, BatchNorm folded);
  ``int8_dynamic``: PyTorch's dynamic int8, which quantises the Linear layer only.

Columns: ``params``; ``nonzeros``; ``macs`` (one sample); ``bytes`` on disk; CPU latency on 2
threads at batch 1 and 64 (``gantutor.prune.compare_latency``: all models timed interleaved,
medians), with PyTorch's defaults and, at batch 64, with oneDNN (``torch.backends.mkldnn``) off:
its kernel for the last layer, a transposed convolution to 1 channel, costs ~1 ms whatever the
layer's width, which caps what fewer channels can save; ``fid``; ``seconds`` of fine-tuning.

--json prints {ENTRY: {"fid", "params", "nonzeros", "macs", "bytes", "latency_ms_b1", "latency_ms_b64",
"latency_ms_b64_no_onednn", ...},
"deep_compression": {stage: bytes}, ...}; --out DIR saves DIR/dense.pt2 and DIR/structured.pt2
(``torch.export`` programs with a dynamic batch size: ``torch.export.load(path).module()(z)``
runs them without gantutor), DIR/meta.json (latent size, FIDs) and DIR/<entry>.npy (the
1,000 scored samples).
"""
from __future__ import annotations

import copy
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from _common import emit, parser
from gantutor import prune as P
from gantutor import seed_everything
from gantutor.data import mnist
from gantutor.metrics import fid
from gantutor.models import DCGANGenerator
from gantutor.train import generate, load_checkpoint

N = 1000
DENSE = Path(__file__).resolve().parent / "results" / "image_gans" / "dcgan_G.pt"
UNSTRUCTURED = {"project.0": 0.95, "net.0": 0.65}  # 90.6 % of all weights; the 512-weight output layer stays dense
CHANNELS = 0.75  # fraction of the channels removed in each hidden layer: 64 → 16 and 32 → 8
DISTILL_STEPS = 3000
ENERGY = 0.6


def dense_generator() -> DCGANGenerator:
    G = DCGANGenerator(latent_dim=64, base_channels=32)
    load_checkpoint(DENSE, G=G)
    return G.float().eval()


def torch_pruning(G: DCGANGenerator, amount: float):
    """The same channel budget through Torch-Pruning (L1 magnitude importance), or None if it is not installed."""
    try:
        import torch_pruning as tp
    except ImportError:
        return None
    small = copy.deepcopy(G)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tp.pruner.MagnitudePruner(small, torch.randn(2, G.latent_dim), importance=tp.importance.MagnitudeImportance(p=1),
                                  pruning_ratio=amount, ignored_layers=[small.net[3]]).step()
    return small


def quality_and_size(G, z: torch.Tensor, test: torch.Tensor, macs_of=None, **entry) -> tuple[dict, torch.Tensor]:
    """The row's FID, parameters, non-zeros, MACs and bytes (``entry`` overrides); returns it and the samples."""
    samples = generate(G, N, z=z, device="cpu")  # (int8 models have no parameters to tell the device)
    entry = {"fid": fid(samples, test)} | entry
    entry.setdefault("params", P.count_params(G))
    entry.setdefault("nonzeros", P.count_nonzeros(G))
    entry.setdefault("macs", P.count_macs(macs_of or G, (1, 64)))
    entry.setdefault("bytes", P.saved_bytes(G))
    return entry, samples


def latencies(models: dict, rounds: int | None = None) -> dict:
    """{name: {"latency_ms_b1", "latency_ms_b64", "latency_ms_b64_no_onednn"}}, every model timed interleaved
    over ``rounds`` rounds (default 30 at batch 1, 20 at batch 64)."""
    out = {name: {} for name in models}
    for key, batch, onednn in (("latency_ms_b1", 1, True), ("latency_ms_b64", 64, True), ("latency_ms_b64_no_onednn", 64, False)):
        torch.backends.mkldnn.enabled = onednn
        try:
            ms = P.compare_latency(models, torch.randn(batch, 64), rounds=rounds or (30 if batch == 1 else 20))
        finally:
            torch.backends.mkldnn.enabled = True
        for name, value in ms.items():
            out[name][key] = value
    return out


def distilled(student, teacher, steps: int, **options):
    """``student`` distilled from ``teacher`` for ``steps`` steps (seeded); returns it and the seconds it took."""
    seed_everything(0)
    start = time.perf_counter()
    P.distill(student, teacher, num_steps=steps, progress=False, **options)
    return student, time.perf_counter() - start


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=DISTILL_STEPS, help="distillation steps per model")
    p.add_argument("--rounds", type=int, default=None, help="latency rounds (default 30 at batch 1, 20 at batch 64; "
                   "fewer for a quick try)")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    test = mnist("test").images
    torch.manual_seed(10_000)
    z = torch.randn(N, 64)  # the same samples' noise for every model
    G = dense_generator()
    models, rows = {"dense": G}, {"dense": {}}

    schedule = P.GradualPruning(UNSTRUCTURED, start_step=0, end_step=args.steps, every=50)  # then as long again at 90 %
    masked, seconds = distilled(copy.deepcopy(G), G, 2 * args.steps, callbacks=[schedule])
    models["unstructured_90"] = P.make_permanent(masked)
    rows["unstructured_90"] = {"bytes": P.sparse_bytes(masked), "seconds": seconds, "sparsity": float(P.sparsity(masked)),
                               "nonzero_macs": P.count_macs(masked, (1, 64), nonzero_only=True)}
    oneshot = P.make_permanent(P.magnitude_prune(copy.deepcopy(G), UNSTRUCTURED))
    models["unstructured_90_no_finetuning"], rows["unstructured_90_no_finetuning"] = oneshot, {"bytes": P.sparse_bytes(oneshot)}
    models["structured_no_finetuning"], rows["structured_no_finetuning"] = P.prune_channels(G, CHANNELS), {}
    small, seconds = distilled(P.prune_channels(G, CHANNELS), G, args.steps)
    models["structured"], rows["structured"] = small, {"seconds": seconds}
    other = torch_pruning(G, CHANNELS)
    if other is not None:
        models["torch_pruning"], seconds = distilled(other, G, args.steps)
        rows["torch_pruning"] = {"seconds": seconds}
    models["low_rank"], seconds = distilled(P.low_rank_model(G, energy=ENERGY), G, args.steps)
    rows["low_rank"] = {"seconds": seconds}
    dense_counts = {"params": P.count_params(G), "nonzeros": P.count_nonzeros(G), "macs_of": G}
    models["int8"], rows["int8"] = P.quantize_static_int8(G), dict(dense_counts)
    models["int8_dynamic"], rows["int8_dynamic"] = P.quantize_dynamic_int8(G), dict(dense_counts)

    result, samples = {}, {}
    for name, model in models.items():
        result[name], samples[name] = quality_and_size(model, z, test, **rows[name])
    for name, times in latencies(models, args.rounds).items():
        result[name] |= times
    for name, r in result.items():
        print(f"{name}: " + ", ".join(f"{k} {v:.4g}" for k, v in r.items()), file=sys.stderr, flush=True)
    compressed = P.deep_compress(masked, bits=4)
    result["deep_compression"] = compressed.sizes()
    result["deep_compression_fid"] = fid(generate(compressed.to_model(G), N, z=z), test)
    result["settings"] = {"unstructured": UNSTRUCTURED, "channels_removed": CHANNELS, "low_rank_energy": ENERGY,
                          "distill_steps": args.steps, "n": N, "threads": torch.get_num_threads()}
    if args.out:
        save(args.out, {"dense": G, "structured": small}, result, samples)
    dense = result["dense"]
    table_rows = [[name, f"{r['fid']:.1f}", f"{r['fid'] / dense['fid']:.3f}", f"{r['params']:,}", f"{r['nonzeros']:,}",
                   f"{r['macs']:,}", f"{dense['macs'] / r['macs']:.1f}", f"{r['bytes'] / 1024:.0f}",
                   f"{dense['bytes'] / r['bytes']:.1f}", f"{r['latency_ms_b1']:.2f}", f"{r['latency_ms_b64']:.2f}",
                   f"{dense['latency_ms_b64'] / r['latency_ms_b64']:.2f}",
                   f"{dense['latency_ms_b64_no_onednn'] / r['latency_ms_b64_no_onednn']:.2f}"]
                  for name, r in result.items() if isinstance(r, dict) and "fid" in r]
    emit(result, ["model", "FID", "× dense", "params", "non-zeros", "MACs", "× fewer", "KiB", "× smaller",
                  "ms (b=1)", "ms (b=64)", "× faster", "(no oneDNN)"], table_rows, args.json)
    if not args.json:
        print(f"\nDeep Compression of unstructured_90 (FID {result['deep_compression_fid']:.1f} rebuilt from the codes):")
        print(compressed)
    return 0


def save(out, models: dict, result: dict, samples: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1, max=4096)
    for name, model in models.items():
        program = torch.export.export(model.eval(), (torch.randn(2, 64),), dynamic_shapes=({0: batch},))
        torch.export.save(program, out / f"{name}.pt2")
    meta = {"latent_dim": 64, "fid": {k: result[k]["fid"] for k in models}, "files": {k: f"{k}.pt2" for k in models}}
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    for name, images in samples.items():
        np.save(out / f"{name}.npy", images.numpy().astype(np.float32))


if __name__ == "__main__":
    sys.exit(main())
