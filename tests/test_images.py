"""Image data: the bundled MNIST digits, the full datasets through torchvision (offline), 8×8 digits."""
import struct

import numpy as np
import pytest
import torch

from gantutor.data import Images, digits, mnist


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
