"""Plots and plotting callbacks."""
import pytest
import torch

from _nets import tiny_dcgan
from gantutor import seed_everything
from gantutor.data import digits
from gantutor.plotting import SampleGrid, image_grid
from gantutor.train import train_gan


def test_sample_grid_keeps_fixed_noise_and_rows_of_classes():
    seed_everything(0)
    G, D = tiny_dcgan()
    grid = SampleGrid(every=2, n=20, nrow=10)
    data = digits("train")
    train_gan(G, D, lambda n: data.sample(n, with_labels=True), num_steps=4, batch_size=16, callbacks=[grid], progress=False)
    assert [s for s, _ in grid.grids] == [2, 4] and grid.grids[0][1].shape == (20, 1, 8, 8)
    again = SampleGrid(every=1, n=20, nrow=10)
    again(0, G, D, None)
    assert torch.allclose(again.grids[0][1], grid.grids[-1][1])  # same seed, same z, same G: same picture
    picture = image_grid(grid.grids[0][1], nrow=10)
    assert picture.shape == (2 * 8 + 3 * 2, 10 * 8 + 11 * 2, 3) and 0 <= picture.min() and picture.max() <= 1
    with pytest.raises(ValueError, match="shape"):
        image_grid(torch.zeros(2, 8, 8))
