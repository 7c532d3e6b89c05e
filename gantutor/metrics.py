"""Metrics for generated samples.

Mode coverage on 2D mixtures follows VEEGAN (Srivastava et al., 2017, §5.1) and PacGAN (Lin et
al., 2018, Table 1), which evaluate 2,500 generated samples:

* a sample is *high quality* when it lies within 3 standard deviations of its nearest mode
  centre (distance / std < 3);
* a mode is *captured* when at least one high-quality sample has it as its nearest mode.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from gantutor._validate import batch_of, float_tensor

PACGAN_NUM_SAMPLES = 2500


@dataclass(frozen=True)
class ModeCoverage:
    modes: int  # modes captured
    num_modes: int  # modes in the mixture
    high_quality: float  # fraction of samples within 3 std of their nearest mode, in [0, 1]
    counts: tuple  # high-quality samples per mode
    nearest: tuple = ()  # all samples per nearest mode, high quality or not: where G puts its mass

    def __str__(self) -> str:
        return f"{self.modes}/{self.num_modes} modes, {100 * self.high_quality:.1f}% high-quality samples"


def mode_coverage(samples: torch.Tensor, mixture, threshold: float = 3.0) -> ModeCoverage:
    """Modes captured and the fraction of high-quality samples (use 2,500 samples as the papers do)."""
    float_tensor(torch.as_tensor(samples), "samples")
    x = batch_of(torch.as_tensor(samples, dtype=torch.float32).cpu(), mixture.means.shape[1], "samples")
    if not torch.isfinite(x).all():
        raise ValueError("samples contain NaN or inf: the generator diverged")
    dist = torch.cdist(x, mixture.means)  # (n, K)
    nearest_dist, nearest = dist.min(dim=1)  # (n,), (n,)
    good = nearest_dist / mixture.std < threshold  # (n,)
    counts = torch.bincount(nearest[good], minlength=mixture.num_modes)  # (K,)
    return ModeCoverage(
        modes=int((counts > 0).sum()),
        num_modes=mixture.num_modes,
        high_quality=float(good.float().mean()),
        counts=tuple(counts.tolist()),
        nearest=tuple(torch.bincount(nearest, minlength=mixture.num_modes).tolist()),
    )


class CoverageTracker:
    """A ``train_gan`` callback: mode coverage of ``n`` samples every ``every`` steps.

    ``records`` holds dicts with the step, the modes captured, the high-quality fraction, the
    high-quality samples per mode (``counts``), all samples per nearest mode (``nearest``) and the
    mean D(G(z)) of the last ``every`` steps.
    """

    def __init__(self, mixture, every: int = 500, n: int = PACGAN_NUM_SAMPLES):
        self.mixture, self.every, self.n = mixture, every, n
        self.records = []

    def __call__(self, step, G, D, history) -> None:
        if (step + 1) % self.every:
            return
        from gantutor.train import generate

        cov = mode_coverage(generate(G, self.n), self.mixture)
        recent = history.d_fake[-self.every:]
        self.records.append({"step": step + 1, "modes": cov.modes, "high_quality": cov.high_quality,
                             "counts": cov.counts, "nearest": cov.nearest, "mean_d_fake": sum(recent) / len(recent)})


# ----------------------------------------------------------------------------------------------
# Images: a digit classifier as feature extractor, Fréchet distance / FID, KID, class histograms.

CLASSIFIER_WEIGHTS = "weights/mnist_classifier.pt"  # inside the package; `python benchmarks/train_classifier.py` rebuilds it


class DigitClassifier(torch.nn.Module):
    """A small CNN for 28×28 digits in [−1, 1]: ``features(x)`` (N, 64) for FID / KID, ``forward``
    the 10 class logits. ~94k parameters (~0.4 MB)."""

    feature_dim = 64

    def __init__(self):
        super().__init__()
        conv = lambda i, o: torch.nn.Sequential(torch.nn.Conv2d(i, o, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2))  # noqa: E731
        self.body = torch.nn.Sequential(
            conv(1, 32),   # (N, 32, 14, 14)
            conv(32, 64),  # (N, 64, 7, 7)
            conv(64, 64),  # (N, 64, 3, 3)
            torch.nn.Flatten(),  # (N, 576)
            torch.nn.Linear(576, self.feature_dim),
            torch.nn.ReLU(),  # (N, 64): the features
        )
        self.head = torch.nn.Sequential(torch.nn.Dropout(0.3), torch.nn.Linear(self.feature_dim, 10))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


_CLASSIFIER = {}


def load_classifier(device=None) -> DigitClassifier:
    """The course's digit classifier with its shipped weights, in eval mode (cached)."""
    from importlib import resources

    key = str(device)
    if key not in _CLASSIFIER:
        path = resources.files("gantutor") / CLASSIFIER_WEIGHTS
        if not path.is_file():
            raise FileNotFoundError(f"the classifier's weights are missing ({path}): run "
                                    "`python benchmarks/train_classifier.py` in the repository to rebuild them")
        model = DigitClassifier()
        with resources.as_file(path) as f:
            model.load_state_dict(torch.load(f, map_location="cpu", weights_only=True))
        _CLASSIFIER[key] = model.to(device).eval()
    return _CLASSIFIER[key]


def _digit_images(images, name: str) -> torch.Tensor:
    x = float_tensor(torch.as_tensor(images), name)
    if x.dim() == 3:
        x = x.unsqueeze(1)  # (N, 28, 28) -> (N, 1, 28, 28)
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"{name} must be digit images of shape (N, 1, 28, 28), got {tuple(x.shape)}")
    if x.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 images, got {x.shape[0]}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or inf: the generator diverged")
    return x


@torch.no_grad()
def _classifier_pass(images, output, batch_size: int) -> torch.Tensor:
    """``output(model, batch)`` over the checked images in batches, concatenated."""
    x = _digit_images(images, "images")
    model = load_classifier()
    return torch.cat([output(model, b.float().cpu()) for b in x.split(batch_size)])


def digit_features(images, batch_size: int = 500) -> torch.Tensor:
    """The classifier's 64 features of each image, (N, 64) float64 on the CPU."""
    return _classifier_pass(images, lambda model, b: model.features(b), batch_size).double()


def classify(images, batch_size: int = 500) -> torch.Tensor:
    """The classifier's predicted digit of each image, (N,) int64."""
    return _classifier_pass(images, lambda model, b: model(b).argmax(1), batch_size)


def frechet_distance(feats_a, feats_b) -> float:
    """‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½) between Gaussians fitted to two feature sets (N, d).

    The trace of the matrix square root is computed as Σ √λ of the symmetric PSD matrix
    Σ_a^½ Σ_b Σ_a^½ (same eigenvalues as Σ_a Σ_b), which stays real and stable where a general
    ``sqrtm`` can return complex noise.
    """
    a, b = (torch.as_tensor(f, dtype=torch.float64) for f in (feats_a, feats_b))
    for f, name in ((a, "feats_a"), (b, "feats_b")):
        if f.dim() != 2 or f.shape[0] < 2:
            raise ValueError(f"{name} must have shape (N, d) with N >= 2, got {tuple(f.shape)}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feats_a and feats_b must have the same feature size, got {a.shape[1]} and {b.shape[1]}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)  # (d, d)
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T  # Σ_a^½
    middle = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0)  # eigenvalues of Σ_a^½ Σ_b Σ_a^½
    value = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * middle.sqrt().sum()
    return max(float(value), 0.0)


def fid(images_a, images_b) -> float:
    """Domain FID: the Fréchet distance between the digit classifier's features of two image sets.

    Not comparable with Inception FIDs in papers. It is biased upwards for small sets: quote it
    with its n and beside the real-vs-real floor at the same n (``fid(real_a, real_b)``).
    """
    return frechet_distance(digit_features(images_a), digit_features(images_b))


def kid(images_a, images_b, num_subsets: int = 50, subset_size: int = 500, seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance on the classifier's features (Bińkowski et al., 2018): the unbiased
    MMD² with the kernel k(x, y) = (xᵀy / d + 1)³, averaged over random subsets. Returns (mean, std)."""
    fa, fb = digit_features(images_a), digit_features(images_b)
    m = min(subset_size, fa.shape[0], fb.shape[0])
    d = fa.shape[1]
    gen = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(num_subsets):
        x = fa[torch.randperm(fa.shape[0], generator=gen)[:m]]
        y = fb[torch.randperm(fb.shape[0], generator=gen)[:m]]
        kxx, kyy, kxy = ((u @ v.T / d + 1) ** 3 for u, v in ((x, x), (y, y), (x, y)))
        off = 1 - torch.eye(m, dtype=torch.float64)
        values.append(float((kxx * off).sum() / (m * (m - 1)) + (kyy * off).sum() / (m * (m - 1)) - 2 * kxy.mean()))
    v = torch.tensor(values)
    return float(v.mean()), float(v.std())


def class_histogram(images) -> torch.Tensor:
    """How many images the classifier puts in each of the 10 classes, (10,) int64."""
    return torch.bincount(classify(images), minlength=10)


def kl_to_uniform(histogram) -> float:
    """KL(p ‖ uniform) of a class histogram, in nats: 0 for perfectly balanced classes, log 10 ≈ 2.30
    when everything is one class. Empty classes contribute 0 (p log p → 0)."""
    h = torch.as_tensor(histogram, dtype=torch.float64)
    if h.dim() != 1 or (h < 0).any() or h.sum() <= 0:
        raise ValueError("histogram must be a 1D tensor of non-negative counts with a positive sum")
    p = h / h.sum()
    nz = p > 0
    return float((p[nz] * (p[nz] * len(p)).log()).sum())
