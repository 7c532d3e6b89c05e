"""Metrics for generated samples.

Mode coverage on 2D mixtures follows VEEGAN (Srivastava et al., 2017, §5.1) and PacGAN (Lin et
al., 2018, Table 1), which evaluate 2,500 generated samples:

* a sample is *high quality* when it lies within 3 standard deviations of its nearest mode
  centre (distance / std < 3);
* a mode is *captured* when at least one high-quality sample has it as its nearest mode.

Images: a digit classifier's features for FID / KID, class histograms, precision / recall,
memorisation, and (chapter 6) the structural similarity SSIM of Wang et al. (2004) between a
translation and its target.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch

from gantutor._validate import batch_of, float_tensor, positive_int, same_shape
from gantutor.sampling import generate

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

        cov = mode_coverage(generate(G, self.n), self.mixture)
        recent = history.d_fake[-self.every:]
        self.records.append({"step": step + 1, "modes": cov.modes, "high_quality": cov.high_quality,
                             "counts": cov.counts, "nearest": cov.nearest, "mean_d_fake": sum(recent) / len(recent)})


# ----------------------------------------------------------------------------------------------
# Images: a digit classifier as feature extractor, Fréchet distance / FID, KID, class histograms.

CLASSIFIER_WEIGHTS = "weights/mnist_classifier.pt"  # inside the package; `python benchmarks/train_classifier.py` rebuilds it


class DigitClassifier(torch.nn.Module):
    """A small CNN for 28×28 digits in [−1, 1]: ``features(x, layer)`` for FID / KID, ``forward``
    the 10 class logits. ~94k parameters (~0.4 MB).

    Feature layers (``FEATURE_LAYERS``): ``"conv"``, the 576 outputs of the last convolutional
    block, is the default: like Inception's pool3 in the standard FID, it is the last layer before
    the classifier's fully connected part. ``"hidden"``, the 64-unit fully connected layer, is
    trained to separate classes and so is far harsher on ambiguous or thick-stroked digits (chapter
    4 shows the same samples scored in both).
    """

    feature_dim = 64
    FEATURE_LAYERS = {"conv": 4, "hidden": 6}  # name -> number of leading layers of ``body``

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

    def features(self, x: torch.Tensor, layer: str = "conv") -> torch.Tensor:
        if layer not in self.FEATURE_LAYERS:
            raise ValueError(f"layer must be one of {sorted(self.FEATURE_LAYERS)}, got {layer!r}")
        return self.body[: self.FEATURE_LAYERS[layer]](x)  # (N, 576) or (N, 64)

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


_FEATURES: dict = {}  # id(images) -> (weak reference, version, layer, batch_size, features): the last few computed
_FEATURES_KEPT = 8


def digit_features(images, layer: str = "conv", batch_size: int = 500) -> torch.Tensor:
    """The classifier's features of each image, float64 on the CPU: (N, 576) for ``layer="conv"``
    (the default), (N, 64) for ``"hidden"`` (see ``DigitClassifier``).

    The features of the last few image tensors are kept while those tensors live and are not
    changed in place, so scoring many sample sets against the same real images computes the real
    ones once (the same numbers: the classifier is deterministic)."""
    if isinstance(images, torch.Tensor):
        entry = _FEATURES.get(id(images))
        if entry and entry[0]() is images and entry[1:4] == (images._version, layer, batch_size):
            return entry[4].clone()
    feats = _classifier_pass(images, lambda model, b: model.features(b, layer), batch_size).double()
    if isinstance(images, torch.Tensor):
        if len(_FEATURES) >= _FEATURES_KEPT:
            _FEATURES.pop(next(iter(_FEATURES)))
        _FEATURES[id(images)] = (weakref.ref(images), images._version, layer, batch_size, feats.clone())
    return feats


def classify(images, batch_size: int = 500) -> torch.Tensor:
    """The classifier's predicted digit of each image, (N,) int64."""
    return _classifier_pass(images, lambda model, b: model(b).argmax(1), batch_size)


def psd_sqrt(m: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix, through its
    eigen-decomposition (round-off negative eigenvalues are clamped to 0)."""
    vals, vecs = torch.linalg.eigh(m)
    return vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T


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
    root_a = psd_sqrt(cov_a)  # Σ_a^½
    middle = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0)  # eigenvalues of Σ_a^½ Σ_b Σ_a^½
    value = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * middle.sqrt().sum()
    return max(float(value), 0.0)


def fid(images_a, images_b, layer: str = "conv") -> float:
    """Domain FID: the Fréchet distance between the digit classifier's features of two image sets.

    Not comparable with Inception FIDs in papers, nor across ``layer``s. It is biased upwards for
    small sets: quote it with its n and beside the real-vs-real floor at the same n
    (``fid(real_a, real_b)``).
    """
    return frechet_distance(digit_features(images_a, layer), digit_features(images_b, layer))


def kid(images_a, images_b, num_subsets: int = 50, subset_size: int = 500, seed: int = 0,
        layer: str = "conv") -> tuple[float, float]:
    """Kernel Inception Distance on the classifier's features (Bińkowski et al., 2018): the unbiased
    MMD² with the kernel k(x, y) = (xᵀy / d + 1)³, averaged over random subsets. Returns (mean, std)."""
    fa, fb = digit_features(images_a, layer), digit_features(images_b, layer)
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


# --- Precision / recall and memorisation -------------------------------------------------------


def _knn_radii(feats: torch.Tensor, k: int) -> torch.Tensor:
    """Distance of each point to its k-th nearest neighbour in the same set (itself excluded)."""
    d = torch.cdist(feats, feats)  # (N, N)
    return d.kthvalue(k + 1, dim=1).values  # the 1st smallest is the point itself (0)


def precision_recall(real_images, fake_images, k: int = 3, layer: str = "conv") -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019) in the classifier's features.

    Each set's *manifold* is the union of balls around its points, each ball reaching the point's
    k-th nearest neighbour (k = 3 in the paper). Precision: the fraction of fakes inside the real
    manifold (are the samples realistic?). Recall: the fraction of real images inside the fake
    manifold (is the data's variety covered?). A collapsed G can have high precision and low
    recall; FID mixes the two into one number.
    """

    positive_int(k, "k")
    real, fake = digit_features(real_images, layer), digit_features(fake_images, layer)
    for f, name in ((real, "real_images"), (fake, "fake_images")):
        if f.shape[0] <= k:
            raise ValueError(f"{name} needs more than k = {k} images, got {f.shape[0]}")
    r_real, r_fake = _knn_radii(real, k), _knn_radii(fake, k)
    cross = torch.cdist(fake, real)  # (N_fake, N_real)
    precision = (cross <= r_real.unsqueeze(0)).any(dim=1).double().mean()
    recall = (cross.T <= r_fake.unsqueeze(0)).any(dim=1).double().mean()
    return float(precision), float(recall)


@dataclass
class Memorisation:
    """Nearest-neighbour distances to the training set, in pixels (L2 over [−1, 1] images).

    ``fake_distance`` (N,) and ``nearest`` (N,): each sample's distance to, and index of, its
    nearest training image; ``real_distance`` (M,): the same for held-out real images, the
    yardstick of what a *new* digit's distance looks like.
    """

    fake_distance: torch.Tensor
    nearest: torch.Tensor
    real_distance: torch.Tensor

    def copy_rate(self, quantile: float = 0.01) -> float:
        """The fraction of samples closer to a training image than all but ``quantile`` of the
        held-out real images are: ≈ ``quantile`` for a G that does not copy, → 1 for one that does."""
        threshold = torch.quantile(self.real_distance, quantile)
        return float((self.fake_distance < threshold).double().mean())

    def __str__(self) -> str:
        return (f"median distance to the nearest training image: samples {self.fake_distance.median():.2f}, "
                f"held-out real {self.real_distance.median():.2f}; copy rate {self.copy_rate():.1%} (≈1 % expected)")


@torch.no_grad()
def memorisation(fake_images, train_images, heldout_images, batch_size: int = 500) -> Memorisation:
    """Does G copy its training set? Compare each sample's pixel distance to its nearest training
    image with the same distance for held-out real images (see ``Memorisation``)."""
    train = _digit_images(train_images, "train_images").flatten(1).double()

    def nearest(images, name):
        x = _digit_images(images, name).flatten(1).double()
        dist, idx = zip(*(torch.cdist(b, train).min(dim=1) for b in x.split(batch_size)))
        return torch.cat(dist), torch.cat(idx)

    fake_distance, idx = nearest(fake_images, "fake_images")
    real_distance, _ = nearest(heldout_images, "heldout_images")
    return Memorisation(fake_distance, idx, real_distance)


# ----------------------------------------------------------------------------------------------
# Structural similarity (Wang et al., 2004): how close a translation is to its target, pixel
# neighbourhood by neighbourhood, in luminance, contrast and structure.

def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """A normalised size×size Gaussian window, float64, shape (size, size)."""
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-t**2 / (2 * sigma**2))
    g = g / g.sum()  # (size,)
    return g[:, None] * g[None, :]  # separable: w(i, j) = g(i)·g(j)


def ssim(images_a, images_b, data_range: float = 2.0) -> torch.Tensor:
    """The mean SSIM of each pair of images (N, C, H, W), (N, C, H, W) → (N,) float64 on the CPU.

    At every position of an 11×11 Gaussian window (σ = 1.5) that fits inside the image (no
    padding), with weighted means μ, variances σ² and covariance σ_ab:

        SSIM = (2 μ_a μ_b + C1)(2 σ_ab + C2) / ((μ_a² + μ_b² + C1)(σ_a² + σ_b² + C2)),

    C1 = (0.01 L)², C2 = (0.03 L)², L = ``data_range`` (2 for images in [−1, 1]). The map is
    averaged over channels and positions. 1 means identical; for flat images only the luminance
    factor (2 μ_a μ_b + C1) / (μ_a² + μ_b² + C1) is left.
    """
    a = float_tensor(torch.as_tensor(images_a), "images_a").detach().cpu().double()
    b = float_tensor(torch.as_tensor(images_b), "images_b").detach().cpu().double()
    if a.dim() != 4 or a.shape[2] < 11 or a.shape[3] < 11:
        raise ValueError(f"images_a must have shape (N, C, H, W) with H, W >= 11 (the window), got {tuple(a.shape)}")
    same_shape(a, b, "images_a", "images_b")
    if not data_range > 0:
        raise ValueError(f"data_range must be > 0, got {data_range}")
    channels = a.shape[1]
    window = _gaussian_window().expand(channels, 1, 11, 11)  # (C, 1, 11, 11): one filter per channel
    mean = lambda x: torch.nn.functional.conv2d(x, window, groups=channels)  # noqa: E731 - (N, C, H − 10, W − 10)
    mu_a, mu_b = mean(a), mean(b)
    var_a = mean(a * a) - mu_a**2  # σ_a² = E[a²] − μ_a²
    var_b = mean(b * b) - mu_b**2
    cov = mean(a * b) - mu_a * mu_b  # σ_ab = E[ab] − μ_a μ_b
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = (2 * mu_a * mu_b + c1) * (2 * cov + c2) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return ssim_map.flatten(1).mean(dim=1)  # (N,)
