"""Compressing chapter 6's pix2pix generator, GAN Compression style: students at several widths,
scored on the 1,000 test outlines, exported to ONNX and timed in PyTorch eager and ONNX Runtime.

    python benchmarks/compression.py                        # the table (~13 min on 2 cores)
    python benchmarks/compression.py --json --out runs/compression

The teacher (``dense``) is chapter 6's committed pix2pix generator
(``benchmarks/results/translation/pix2pix_G.pt``, a U-Net of base width 16). Each student is
``prune.slim_unet(teacher, width=w, dropout=0)`` — every layer at w of its channels, the teacher's
filters of largest L1 norm kept, the same channels kept across each skip — then distilled for
``--steps`` steps (``prune.distill_translator``): L1 to the teacher's output, its decoder features
through learned 1×1 projections, L1 to the true digit, and the cGAN loss against a PatchGAN D
trained alongside. ``compressed`` (the headline) is w = 0.24; ``w0.24_dropout`` keeps the
teacher's dropout and ``w0.24_no_gan`` has no D: the two choices the recipe makes, measured.
``compressed_int8_dynamic`` / ``compressed_int8_static``: the headline student quantised to int8 by
ONNX Runtime (dynamic; static QDQ calibrated on 200 training outlines), scored and timed in ONNX Runtime.

Columns: L1 to the true digit, SSIM, class kept (the course's classifier), FID / floor (as
chapter 6: against 1,000 training digits; the floor is the real test digits' FID), parameters,
MACs per image (1 MAC = 2 FLOPs), the ONNX file's bytes, and latency in ms at batch 1 and 64 on 2
threads, PyTorch eager and ONNX Runtime, every model timed interleaved (medians).

--json prints {ROW: {"l1", "ssim", "class_kept", "fid", "fid_floor", "params", "macs", "onnx_bytes",
"eager_ms_b1", "onnx_ms_b1", "eager_ms_b64", "onnx_ms_b64", "seconds", "width"}, "settings": {...}} with
rows "dense" and "compressed" among them (the int8 rows, "compressed_int8_dynamic" and
"compressed_int8_static", have no eager times and add "max_abs_diff" from the float student); --out DIR writes DIR/dense.onnx and DIR/compressed.onnx
(input N×1×32×32 outlines in [−1, 1], output the digit in [−1, 1], batch dimension dynamic),
DIR/test_a.npy and DIR/test_b.npy (the 1,000 test outlines and true digits, float32), and
DIR/compressed_G.pt (float16 weights; the widths are in the JSON's settings).
"""
from __future__ import annotations

import copy
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parser  # noqa: E402

from gantutor import prune as P  # noqa: E402
from gantutor.data import center_crop, translation  # noqa: E402
from gantutor.metrics import fid  # noqa: E402
from gantutor.models import PatchDiscriminator, UNetGenerator  # noqa: E402
from gantutor.runs import load_checkpoint, save_checkpoint, seed_everything  # noqa: E402
from gantutor.translation import translate, translation_scores  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TEACHER = RESULTS / "translation" / "pix2pix_G.pt"
HEADLINE = 0.24  # 14.7× fewer MACs than the teacher; 0.2 (22×) ends just over +10 % L1
STEPS = 3000
STUDENTS = {  # row: (width, dropout kept, with D)
    "w0.5": (0.5, False, True), "w0.35": (0.35, False, True), "w0.28": (0.28, False, True),
    "compressed": (HEADLINE, False, True), "w0.2": (0.2, False, True),
    "w0.24_no_gan": (HEADLINE, False, False), "w0.24_dropout": (HEADLINE, True, True),
}
D_CHANNELS, D_LAYERS = 16, 2  # chapter 6's D


def teacher() -> UNetGenerator:
    G = UNetGenerator(1, 1, base_channels=16)
    load_checkpoint(TEACHER, G=G)
    return G.eval()


def student(G: UNetGenerator, width: float, keep_dropout: bool, gan: bool, steps: int, seed: int = 0):
    """A slimmed copy of G distilled from it; returns (student, seconds)."""
    seed_everything(seed)
    S = P.slim_unet(G, width=width, dropout=None if keep_dropout else 0.0)
    D = PatchDiscriminator(2, base_channels=D_CHANNELS, n_layers=D_LAYERS) if gan else None
    start = time.perf_counter()
    P.distill_translator(S, G, translation("train"), num_steps=steps, D=D, progress=False)
    return S.eval(), time.perf_counter() - start


def int8_models(folder: Path, calibration: torch.Tensor) -> dict:
    """The headline student quantised by ONNX Runtime: dynamic int8, and static int8 (QDQ) calibrated
    on training outlines."""
    src = folder / "compressed.onnx"
    return {"compressed_int8_dynamic": P.quantize_onnx_int8(src, folder / "compressed_int8_dynamic.onnx"),
            "compressed_int8_static": P.quantize_onnx_int8(src, folder / "compressed_int8_static.onnx", calibration)}


def latencies(models: dict, folder: Path, rounds: int, calibration: torch.Tensor) -> tuple[dict, dict]:
    """Every model's ONNX bytes and milliseconds (eager and ONNX Runtime; the int8 files in ONNX
    Runtime only), and the int8 files."""
    files = {name: P.export_onnx(m, folder / f"{name}.onnx") for name, m in models.items()}
    int8 = int8_models(folder, calibration)
    out = {name: {"onnx_bytes": P.onnx_bytes(path)} for name, path in {**files, **int8}.items()}
    for batch in (1, 64):
        x = torch.randn(batch, 1, 32, 32, generator=torch.Generator().manual_seed(batch)).clamp(-1, 1)
        times = P.compare_latency_onnx(models, files, x, threads=2, rounds=rounds, per_round=10 if batch == 64 else 50,
                                       onnx_only=int8)
        for name, t in times.items():
            out[name] |= {f"{kind}_ms_b{batch}": ms for kind, ms in t.items()}
    return out, int8


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=STEPS, help=f"distillation steps per student (default {STEPS})")
    p.add_argument("--only", nargs="*", default=None, help="only these students (default: all)")
    p.add_argument("--rounds", type=int, default=20, help="latency rounds (fewer for a quick try)")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    train, test = translation("train"), translation("test")
    reference = center_crop(train.b[:1000])  # real digits no model translates, as chapter 6
    floor = fid(center_crop(test.b), reference)
    G = teacher()
    models, rows = {"dense": G}, {"dense": {"width": 1.0, "seconds": 0.0}}
    for name, (width, keep_dropout, gan) in STUDENTS.items():
        if args.only is not None and name not in args.only and name != "compressed":
            continue
        models[name], seconds = student(G, width, keep_dropout, gan, args.steps)
        rows[name] = {"width": width, "seconds": round(seconds, 1)}
        print(f"{name}: distilled in {seconds:.0f} s", file=sys.stderr, flush=True)
    result = {}
    for name, m in models.items():
        scores = translation_scores(translate(m, test.a), test, reference)
        result[name] = {k: round(v, 4) for k, v in scores.items()} | {"fid_floor": round(floor, 4)} | rows[name] | {
            "params": P.count_params(m), "macs": P.count_macs(m, (1, 1, 32, 32))}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.out) if args.out else Path(tmp)
        times, int8 = latencies(models, folder, args.rounds, calibration=train.a[:200])
        for name, path in int8.items():  # scored like the others, run by ONNX Runtime
            translated = P.run_onnx(P.onnx_session(path), test.a)
            scores = translation_scores(translated, test, reference)
            result[name] = {k: round(v, 4) for k, v in scores.items()} | {"fid_floor": round(floor, 4)} | rows["compressed"] | {
                "params": result["compressed"]["params"], "macs": result["compressed"]["macs"],
                "max_abs_diff": round((translated - translate(models["compressed"], test.a)).abs().max().item(), 4)}
        for name, t in times.items():
            result[name] |= {k: round(v, 4) if isinstance(v, float) else v for k, v in t.items()}
        if args.out:
            for name in [*models, *int8]:
                if name not in ("dense", "compressed"):
                    (folder / f"{name}.onnx").unlink()
            np.save(folder / "test_a.npy", test.a.numpy().astype(np.float32))
            np.save(folder / "test_b.npy", test.b.numpy().astype(np.float32))
            save_checkpoint(folder / "compressed_G.pt", step=args.steps, G=copy.deepcopy(models["compressed"]).half())
    S = models["compressed"]
    result["settings"] = {"steps": args.steps, "threads": 2, "n": len(test.a), "headline_width": HEADLINE,
                          "compressed_channels": S.channels, "compressed_decoder_channels": S.decoder_channels,
                          "torch": torch.__version__}
    if args.out:
        (Path(args.out) / "compression.json").write_text(json.dumps(result, indent=1) + "\n")
    dense = result["dense"]
    table_rows = [[name, f"{r['l1']:.4f}", f"{r['ssim']:.3f}", f"{100 * r['class_kept']:.1f}", f"{r['fid'] / r['fid_floor']:.2f}",
                   f"{r['params']:,}", f"{r['macs']:,}", f"{dense['macs'] / r['macs']:.1f}", f"{r['onnx_bytes'] / 1024:.0f}",
                   f"{r.get('eager_ms_b1', float('nan')):.2f}", f"{r['onnx_ms_b1']:.3f}", f"{r.get('eager_ms_b64', float('nan')):.2f}",
                   f"{r['onnx_ms_b64']:.2f}",
                   f"{dense['onnx_ms_b64'] / r['onnx_ms_b64']:.2f}", f"{r['seconds']:.0f}"]
                  for name, r in result.items() if name != "settings"]
    emit(result, ["model", "L1", "SSIM", "class %", "FID/floor", "params", "MACs", "× fewer", "ONNX KiB", "eager b1",
                  "ORT b1", "eager b64", "ORT b64", "× faster (ORT b64)", "s"], table_rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
