import math
import struct

import numpy as np
import pytest
import torch

from gantutor.data import Images, digits, mnist
from gantutor.data import custom_mixture, mixture

def test_ring_follows_pacgan_protocol():
    ring = mixture("ring")
    assert ring.means.shape == (8, 2) and ring.std == 0.01
    assert torch.allclose(ring.means.norm(dim=1), torch.ones(8), atol=1e-6)
    assert torch.allclose(ring.means[2], torch.tensor([0.0, 1.0]), atol=1e-6)  # 90° apart / 2


def test_grid_follows_pacgan_protocol():
    grid = mixture("grid")
    assert grid.means.shape == (25, 2) and grid.std == 0.05
    assert sorted(set(grid.means[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_samples_sit_on_the_modes_with_the_right_spread():
    ring = mixture("ring")
    x = ring.sample(20000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (20000, 2)
    offsets = x - ring.means[torch.cdist(x, ring.means).argmin(1)]
    assert abs(float(offsets.std()) - 0.01) < 5e-4


def test_sampling_is_reproducible_with_a_generator():
    ring = mixture("ring")
    a = ring.sample(10, generator=torch.Generator().manual_seed(3))
    b = ring.sample(10, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_density_integrates_to_one():
    grid = mixture("grid")
    axis = torch.linspace(-5, 5, 801)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    p = grid.density(torch.stack([xx.flatten(), yy.flatten()], 1))
    cell = float(axis[1] - axis[0]) ** 2
    assert abs(float(p.sum()) * cell - 1) < 1e-3


def test_density_at_a_mode_centre():
    ring = mixture("ring")
    peak = float(ring.density(ring.means[:1]))
    assert math.isclose(peak, 1 / 8 / (2 * math.pi * 0.01**2), rel_tol=1e-6)


@pytest.mark.parametrize("bad", ["rings", "", "Ring"])
def test_unknown_mixture_name_is_refused(bad):
    with pytest.raises(ValueError, match="name must be one of"):
        mixture(bad)


@pytest.mark.parametrize("n", [0, -5])
def test_non_positive_sample_count_is_refused(n):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        mixture("ring").sample(n)


def test_non_integer_sample_count_is_refused():
    with pytest.raises(TypeError, match="n must be a positive integer"):
        mixture("ring").sample(2.5)


def test_custom_mixture_validates():
    m = custom_mixture([[0, 0], [1, 1]], 0.1)
    assert m.num_modes == 2
    with pytest.raises(ValueError, match="means"):
        custom_mixture([0, 1, 2], 0.1)
    with pytest.raises(ValueError, match="std"):
        custom_mixture([[0, 0]], 0.0)


def test_pack_puts_m_consecutive_samples_side_by_side():
    from gantutor.models import pack

    x = torch.arange(12.0).reshape(6, 2)
    assert torch.equal(pack(x, 3), torch.tensor([[0.0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]))
    with pytest.raises(ValueError, match="divisible by m = 4"):
        pack(x, 4)


def test_packed_and_minibatch_std_discriminators():
    from gantutor.models import MinibatchStd, MLPDiscriminator

    assert MLPDiscriminator(hidden=(8,), pack=4)(torch.randn(16, 2)).shape == (4,)
    D = MLPDiscriminator(hidden=(8,), minibatch_std=True)
    assert D(torch.randn(16, 2)).shape == (16,)
    h = torch.tensor([[1.0, 0.0], [3.0, 0.0]])
    assert torch.allclose(MinibatchStd()(h)[:, 2], torch.tensor([0.5, 0.5]))  # std (1, 0), mean 0.5
    with pytest.raises(ValueError, match="at least 2"):
        MinibatchStd()(torch.ones(1, 3))


# --- Image data: the bundled MNIST digits, the full datasets through torchvision (offline), 8×8 digits. ----------

def test_bundled_mnist_is_a_fixed_stratified_split_in_minus_one_to_one():
    train, test = mnist("train"), mnist("test")
    assert (len(train), len(test)) == (4000, 1000) and train.shape == (1, 28, 28)
    assert train.labels.bincount().tolist() == [400] * 10 and test.labels.bincount().tolist() == [100] * 10
    assert train.images.dtype == torch.float32 and train.images.min() == -1 and train.images.max() == 1
    assert len(train.labels[:100].unique()) == 10  # shuffled: a prefix holds every class
    # no test image is also a train image
    as_bytes = lambda x: {row.tobytes() for row in x.flatten(1).numpy()}  # noqa: E731
    assert not as_bytes(train.images) & as_bytes(test.images)


def test_bundled_mnist_labels_describe_the_images():
    train = mnist("train")
    ink = lambda c: (train.images[train.labels == c] > 0).float().mean().item()  # noqa: E731
    assert ink(1) < 0.6 * ink(0) and ink(1) < 0.6 * ink(8)  # a "1" has far less ink than a "0" or an "8"


def test_sample_and_batches():
    train = mnist("train")
    x, y = train.sample(7, generator=torch.Generator().manual_seed(0), with_labels=True)
    assert x.shape == (7, 1, 28, 28) and y.shape == (7,)
    batches = list(train.batches(512))
    assert len(batches) == 4000 // 512 and all(b[0].shape == (512, 1, 28, 28) for b in batches)
    assert sum(len(b[1]) for b in train.batches(512, drop_last=False)) == 4000
    with pytest.raises(ValueError, match="batch_size"):
        next(train.batches(0))


def test_bad_split_and_source_are_refused():
    with pytest.raises(ValueError, match="split"):
        mnist("validation")
    with pytest.raises(ValueError, match="source"):
        mnist("train", source="kaggle")
    with pytest.raises(ValueError, match="root"):
        mnist("train", source="full")


def test_missing_full_mnist_names_the_folder_and_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        mnist("train", source="full", root=tmp_path)
    message = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in message and "train-images-idx3-ubyte" in message and "download=True" in message


def _write_idx(path, array):
    """The IDX format of MNIST: magic (0, 0, type 0x08 = uint8, number of dims), the dims, the bytes."""
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("source, folder", [("full", "MNIST"), ("fashion", "FashionMNIST")])
def test_full_datasets_load_offline_from_idx_files(tmp_path, source, folder):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 5)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    train, test = mnist("train", source=source, root=tmp_path), mnist("test", source=source, root=tmp_path)
    assert (len(train), len(test)) == (12, 5) and train.shape == (1, 28, 28)
    assert train.labels.tolist() == [i % 10 for i in range(12)]
    assert -1 <= train.images.min() and train.images.max() <= 1


def test_digits_are_8x8_in_minus_one_to_one():
    train, test = digits("train"), digits("test")
    assert (len(train), len(test)) == (1457, 340) and train.shape == (1, 8, 8)
    assert test.labels.bincount().tolist() == [34] * 10
    assert train.images.min() == -1 and train.images.max() == 1
    assert isinstance(train, Images)
