"""Small networks the tests of several modules train or probe (seeded where it matters)."""
from gantutor import seed_everything
from gantutor.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator


def small_gan():
    """An MLP pair on 2D data, the same weights every call (seed 0)."""
    seed_everything(0)
    return MLPGenerator(2, hidden=(16, 16)), MLPDiscriminator(hidden=(16, 16))


def tiny_dcgan(num_classes=10):
    """A DCGAN pair on 8×8 images, conditional on 10 classes by default (None: unconditional)."""
    return (DCGANGenerator(latent_dim=8, base_channels=4, image_size=8, num_classes=num_classes),
            DCGANDiscriminator(base_channels=4, image_size=8, num_classes=num_classes))
