"""Run plumbing: seeds, the device, checkpoints."""
import pytest
import torch

from gantutor import default_device, seed_everything
from gantutor.models import MLPGenerator
from gantutor.runs import load_checkpoint, save_checkpoint


def test_seed_everything_repeats_numbers():
    seed_everything(5)
    a = torch.randn(3)
    seed_everything(5)
    assert torch.equal(a, torch.randn(3))

def test_default_device_is_usable():
    assert torch.zeros(1, device=default_device()).device.type in ("cpu", "cuda")

def test_checkpoints_round_trip_and_refuse_what_is_not_a_weights_file(tmp_path):
    import fractions

    G = MLPGenerator(2, hidden=(8,))
    opt = torch.optim.Adam(G.parameters(), lr=1e-3)
    G(torch.randn(4, 2)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "run" / "ckpt.pt", step=7, G=G, opt_G=opt)
    G2 = MLPGenerator(2, hidden=(8,))
    opt2 = torch.optim.Adam(G2.parameters(), lr=1e-3)
    assert load_checkpoint(tmp_path / "run" / "ckpt.pt", G=G2, opt_G=opt2) == {"step": 7}
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), G2.state_dict().values()))
    assert opt2.state_dict()["state"][0]["step"] == 1

    with pytest.raises(ValueError, match="holds"):
        load_checkpoint(tmp_path / "run" / "ckpt.pt", D=G2)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nothing.pt", G=G2)

    # an arbitrary pickled object (not a tensor, number or string): weights_only=True refuses it
    torch.save({"format": "gantutor-checkpoint-1", "x": fractions.Fraction(1, 3)}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="not a weights file"):
        load_checkpoint(tmp_path / "evil.pt", G=G2)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a gantutor checkpoint"):
        load_checkpoint(tmp_path / "other.pt", G=G2)
    with pytest.raises(TypeError, match="state_dict"):
        save_checkpoint(tmp_path / "x.pt", G=3)


def test_the_names_that_moved_out_of_train_are_still_importable_from_it():
    from gantutor import runs, sampling, train
    for module in (runs, sampling):
        for name in ("seed_everything", "default_device", "save_checkpoint", "load_checkpoint", "generate",
                     "interpolate_latents", "fit_discriminator", "rejection_sample", "sample_noise"):
            if hasattr(module, name):
                assert getattr(train, name) is getattr(module, name)
