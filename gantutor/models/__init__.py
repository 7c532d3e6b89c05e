"""Networks of the course, by family: ``mlp`` (chapters 1–3, 2D data), ``dcgan`` (chapters 4, 5
and 7, digits), ``translation`` (chapter 6: U-Net, PatchGAN, ResNet generator); ``probe`` runs a
model to list its layers' output shapes and times. Every name is importable from here.

Discriminators return logits, never probabilities: the losses apply the sigmoid inside a
numerically stable log (``gantutor.losses``).
"""
from gantutor.models.dcgan import DCGANDiscriminator, DCGANGenerator, InstanceNoise, dcgan
from gantutor.models.mlp import MinibatchStd, MLPDiscriminator, MLPGenerator, mlp, pack
from gantutor.models.probe import layer_shapes, layer_times
from gantutor.models.translation import (PatchDiscriminator, ResidualBlock, ResnetGenerator, UNetGenerator,
                                         receptive_field)

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "InstanceNoise", "dcgan", "MinibatchStd", "MLPDiscriminator",
           "MLPGenerator", "mlp", "pack", "layer_shapes", "layer_times", "PatchDiscriminator", "ResidualBlock",
           "ResnetGenerator", "UNetGenerator", "receptive_field"]
