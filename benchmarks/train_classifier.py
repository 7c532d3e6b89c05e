"""Train the course's digit classifier on the bundled MNIST train split and save its weights.

    python benchmarks/train_classifier.py            # writes gantutor/weights/mnist_classifier.pt

It is the feature extractor of the domain FID / KID and the judge of class histograms
(gantutor.metrics). Seeded; small random shifts (±2 px) as augmentation. Prints the test accuracy
on the bundled test split (1,000 images); the course asks for >= 97 %.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from _common import emit, parser
from gantutor import seed_everything
from gantutor.data import mnist
from gantutor.metrics import CLASSIFIER_WEIGHTS, DigitClassifier

import gantutor


def shift(x: torch.Tensor, max_shift: int = 2) -> torch.Tensor:
    """Each image moved by a random whole-pixel offset in [−max_shift, max_shift]², background −1."""
    n = x.shape[0]
    padded = torch.nn.functional.pad(x, (max_shift,) * 4, value=-1.0)  # (N, 1, 32, 32)
    dx, dy = torch.randint(0, 2 * max_shift + 1, (2, n))
    return torch.stack([padded[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28] for i in range(n)])


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--save", type=Path, default=Path(gantutor.__file__).parent / CLASSIFIER_WEIGHTS)
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    seed_everything(0)
    train, test = mnist("train"), mnist("test")
    model = DigitClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps = args.epochs * (len(train) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    start = time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        for x, y in train.batches(64):
            loss = torch.nn.functional.cross_entropy(model(shift(x)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        accuracy = (model(test.images).argmax(1) == test.labels).float().mean().item()
    args.save.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.save)
    result = {"test_accuracy": round(accuracy, 4), "seconds": round(seconds, 1), "bytes": args.save.stat().st_size,
              "parameters": sum(p.numel() for p in model.parameters())}
    emit(result, ["test accuracy", "seconds", "bytes", "parameters"],
         [[f"{100 * accuracy:.1f} %", f"{seconds:.0f}", result["bytes"], result["parameters"]]], args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
