"""What every benchmark shares: --json / --out arguments and a plain-text table."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from gantutor.metrics import PACGAN_NUM_SAMPLES, mode_coverage
from gantutor.train import generate, train_gan


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--out", type=Path, default=None, help="save what was measured in this folder")
    return p


def table(headers, rows) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def emit(result: dict, headers, rows, as_json: bool) -> None:
    print(json.dumps(result, indent=2) if as_json else table(headers, rows))


def train_and_score(G, D, data, **options):
    """``train_gan`` on a 2D mixture, timed, then 2,500 samples scored with the PacGAN protocol.

    Returns (coverage, seconds of training, samples).
    """
    start = time.perf_counter()
    train_gan(G, D, data.sample, progress=False, **options)
    seconds = time.perf_counter() - start
    samples = generate(G, PACGAN_NUM_SAMPLES)
    return mode_coverage(samples, data), seconds, samples
