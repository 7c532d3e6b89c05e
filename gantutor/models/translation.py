"""The networks of chapter 6, image-to-image translation.

pix2pix (Isola et al., 2017): a U-Net generator, whose skip connections carry the input's
structure straight to the output, and a PatchGAN discriminator that scores every N×N patch of the
(input, output) pair. CycleGAN (Zhu et al., 2017): a ResNet generator (after Johnson et al., 2016)
with instance normalisation. ``receptive_field`` computes how much of the input one output sees.
"""
from __future__ import annotations

import torch
from torch import nn

from gantutor._validate import positive_int


def _check_square_images(x, channels: int, multiple: int, name: str = "x", at_least: int = 1) -> torch.Tensor:
    """Raise unless ``x`` is (B, channels, S, S) with S a multiple of ``multiple`` and >= ``at_least``."""
    if (x.dim() != 4 or x.shape[1] != channels or x.shape[2] != x.shape[3] or x.shape[2] % multiple
            or x.shape[2] < at_least):
        least = f" and at least {at_least}" if at_least > multiple else ""
        raise ValueError(f"{name} must have shape (B, {channels}, S, S) with S divisible by {multiple}{least}, "
                         f"got {tuple(x.shape)}")
    return x


def _unet_channels(base: int, depth: int) -> list[int]:
    """Encoder widths base·min(2^i, 8), i = 0 … depth − 1 (64, 128, 256, 512, 512, … in the paper)."""
    return [base * min(2**i, 8) for i in range(depth)]


class UNetGenerator(nn.Module):
    """pix2pix's generator: x (B, in_channels, S, S) → y (B, out_channels, S, S) in [−1, 1].

    Encoder: ``depth`` Conv(4×4, stride 2) layers, each halving the side, BatchNorm (not on the
    first) and LeakyReLU(0.2). Decoder: ``depth`` ConvTranspose(4×4, stride 2) layers doubling it
    back, BatchNorm and ReLU; the last one outputs ``out_channels`` through tanh. With ``skips``
    the decoder's features at each scale are concatenated along the channel axis with the
    encoder's features of the same scale (``skip``), so low-level structure (where the edges are)
    skips the bottleneck; ``skips=False`` is the plain encoder–decoder of the paper's ablation.

    There is no z: the paper found G learned to ignore it, and its only noise is Dropout(``dropout``)
    in the first min(3, depth − 1) decoder layers, kept on at test time (``translate``'s
    ``dropout_at_test``). S must be divisible by 2**depth.

    A slimmed U-Net (``prune.slim_unet``, chapter 10) sets every layer's width: ``channels``, the
    encoder's depth widths (then ``base_channels`` and ``depth`` are not used), and
    ``decoder_channels``, the depth − 1 widths the decoder writes before its last layer (by default
    the encoder's, mirrored, as in the paper). A decoder layer after a skip reads its predecessor's
    output and the encoder's features of the same scale, concatenated.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, base_channels: int = 16, depth: int = 4,
                 dropout: float = 0.5, skips: bool = True, channels=None, decoder_channels=None):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.skips = bool(skips)
        if channels is None:
            self.depth = positive_int(depth, "depth")
            c = _unet_channels(positive_int(base_channels, "base_channels"), depth)
        else:
            c = [positive_int(w, f"channels[{i}]") for i, w in enumerate(channels)]
            self.depth = depth = positive_int(len(c), "len(channels)")
        mirrored = c[::-1][1:]
        d = mirrored if decoder_channels is None else [positive_int(w, f"decoder_channels[{k}]")
                                                       for k, w in enumerate(decoder_channels)]
        if len(d) != depth - 1:
            raise ValueError(f"decoder_channels must hold depth - 1 = {depth - 1} widths, got {len(d)}")
        self.channels, self.decoder_channels = list(c), list(d)
        self.encoder = nn.ModuleList(
            nn.Sequential(nn.Conv2d(in_channels if i == 0 else c[i - 1], c[i], 4, stride=2, padding=1, bias=i == 0),
                          nn.Identity() if i == 0 else nn.BatchNorm2d(c[i]), nn.LeakyReLU(0.2))
            for i in range(depth))
        outs = d + [positive_int(out_channels, "out_channels")]  # decoder layer k writes outs[k] ...
        layers = []
        for k in range(depth):  # ... and reads its predecessor's output, plus the encoder's features after a skip
            width = c[-1] if k == 0 else d[k - 1] + (mirrored[k - 1] if skips else 0)
            up = nn.ConvTranspose2d(width, outs[k], 4, stride=2, padding=1, bias=k == depth - 1)
            if k == depth - 1:
                layers.append(nn.Sequential(up, nn.Tanh()))
            else:
                noise = [nn.Dropout(dropout)] if dropout > 0 and k < 3 else []
                layers.append(nn.Sequential(up, nn.BatchNorm2d(outs[k]), *noise, nn.ReLU()))
        self.decoder = nn.ModuleList(layers)

    @staticmethod
    def skip(decoded: torch.Tensor, encoded: torch.Tensor) -> torch.Tensor:
        """The U-Net skip connection: (B, c_d, s, s), (B, c_e, s, s) → (B, c_d + c_e, s, s)."""
        return torch.cat([decoded, encoded], dim=1)

    def forward(self, x):
        h = _check_square_images(x, self.in_channels, 2**self.depth)  # (B, C_in, S, S)
        features = []
        for down in self.encoder:
            h = down(h)  # (B, c_i, S / 2^(i+1), S / 2^(i+1))
            features.append(h)
        features.pop()  # the bottleneck (B, c_{depth-1}, S / 2^depth, ...) is h itself
        for up in self.decoder[:-1]:
            h = up(h)  # (B, c_i, s, s): twice the side
            if self.skips:
                h = self.skip(h, features.pop())  # (B, 2·c_i, s, s)
        return self.decoder[-1](h)  # (B, out_channels, S, S)


class PatchDiscriminator(nn.Module):
    """pix2pix's PatchGAN: images (B, in_channels, H, W) → logits (B, 1, h, w), one per patch.

    Each logit judges one N×N patch of the input (N = ``receptive_field(D)``: 16, 70, 286 for
    ``n_layers`` = 1, 3, 5); the loss averages them. For pix2pix, D is conditioned on the input:
    the caller concatenates the pair along channels, ``D(torch.cat([a, b], dim=1))``, so
    ``in_channels`` = channels of A + channels of B. CycleGAN's D sees one image (in_channels = C).

    Layers: Conv(4×4, stride 2) in → base, LeakyReLU(0.2); ``n_layers`` − 1 more Conv(stride 2) →
    base·min(2^i, 8) with BatchNorm and LeakyReLU; one Conv(stride 1) → base·min(2^n_layers, 8)
    with BatchNorm and LeakyReLU; a last Conv(stride 1) → 1 logit per position.
    """

    def __init__(self, in_channels: int, base_channels: int = 64, n_layers: int = 3):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels")
        self.n_layers = positive_int(n_layers, "n_layers")
        c = positive_int(base_channels, "base_channels")
        width = lambda i: c * min(2**i, 8)  # noqa: E731
        layers = [nn.Conv2d(in_channels, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        for i in range(1, n_layers + 1):
            stride = 2 if i < n_layers else 1  # the last of these keeps the side (− 1)
            layers += [nn.Conv2d(width(i - 1), width(i), 4, stride=stride, padding=1, bias=False),
                       nn.BatchNorm2d(width(i)), nn.LeakyReLU(0.2)]
        layers.append(nn.Conv2d(width(n_layers), 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)

    def output_side(self, side: int) -> int:
        """The side of the logit map for an input side: floor((s + 2p − k) / stride) + 1 per conv."""
        for layer in self.net:
            if isinstance(layer, nn.Conv2d):
                side = (side + 2 * layer.padding[0] - layer.kernel_size[0]) // layer.stride[0] + 1
        return side

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (B, {self.in_channels}, H, W) (for pix2pix: the pair "
                             f"torch.cat([a, b], dim=1)), got {tuple(x.shape)}")
        if min(self.output_side(x.shape[2]), self.output_side(x.shape[3])) < 1:
            least = next(s for s in range(1, 4096) if self.output_side(s) >= 1)
            raise ValueError(f"x is {x.shape[2]}×{x.shape[3]}: too small for n_layers = {self.n_layers} (the map of "
                             f"patch logits would be empty); use images of at least {least}×{least} or fewer layers")
        return self.net(x)  # (B, 1, h, w): h ≈ H / 2^n_layers − 2


class ResidualBlock(nn.Module):
    """x + F(x), F = [reflection pad, Conv 3×3, InstanceNorm, ReLU, reflection pad, Conv 3×3,
    InstanceNorm]: (B, C, s, s) → (B, C, s, s)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels))

    def forward(self, x):
        return x + self.body(x)  # (B, C, s, s)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: x (B, in_channels, S, S) → y (B, out_channels, S, S) in [−1, 1].

    Reflection pad + Conv 7×7 → base; two stride-2 Conv 3×3 (→ 2·base, 4·base, side S/4);
    ``n_blocks`` residual blocks at S/4; two ConvTranspose 3×3 back to S; reflection pad + Conv
    7×7 → out; tanh. InstanceNorm (no affine parameters, as in the reference code) normalises
    each image on its own: the output does not depend on the rest of the batch. S must be
    divisible by 4 and at least 8.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, base_channels: int = 16, n_blocks: int = 3):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels")
        c = positive_int(base_channels, "base_channels")
        positive_int(n_blocks, "n_blocks")
        norm_relu = lambda width: [nn.InstanceNorm2d(width), nn.ReLU()]  # noqa: E731
        self.net = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, c, 7), *norm_relu(c),  # (B, c, S, S)
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), *norm_relu(2 * c),  # (B, 2c, S/2, S/2)
            nn.Conv2d(2 * c, 4 * c, 3, stride=2, padding=1), *norm_relu(4 * c),  # (B, 4c, S/4, S/4)
            *[ResidualBlock(4 * c) for _ in range(n_blocks)],  # (B, 4c, S/4, S/4)
            nn.ConvTranspose2d(4 * c, 2 * c, 3, stride=2, padding=1, output_padding=1), *norm_relu(2 * c),  # (B, 2c, S/2, S/2)
            nn.ConvTranspose2d(2 * c, c, 3, stride=2, padding=1, output_padding=1), *norm_relu(c),  # (B, c, S, S)
            nn.ReflectionPad2d(3), nn.Conv2d(c, positive_int(out_channels, "out_channels"), 7), nn.Tanh(),  # (B, out, S, S)
        )

    def forward(self, x):
        return self.net(_check_square_images(x, self.in_channels, 4, at_least=8))  # (B, out_channels, S, S)


def _square(value, name: str) -> int:
    value = (value, value) if isinstance(value, int) else tuple(value)
    if value[0] != value[1]:
        raise ValueError(f"receptive_field handles square kernels, strides and dilations; a layer has {name} = {value}")
    return value[0]


def receptive_field(module: nn.Module) -> int:
    """The receptive field, in input pixels, of one output of a plain stack of convolutions and
    poolings (``module``'s Conv2d / MaxPool2d / AvgPool2d layers, in definition order).

    With kernel k, stride s and dilation d, each layer widens the field by d·(k − 1) steps of the
    current jump j (the distance, in input pixels, between neighbouring positions of its input):
    r ← r + d·(k − 1)·j, then j ← j·s, from r = j = 1. Padding shifts the field, never widens it.
    For pix2pix's PatchGAN it gives 16, 70 and 286 for 1, 3 and 5 layers.
    """
    r, j, seen = 1, 1, False
    for layer in module.modules():
        if isinstance(layer, nn.ConvTranspose2d):
            raise ValueError(f"module has a ConvTranspose2d ({layer}): receptive_field's formula is for stacks that "
                             "downsample (convolutions and poolings); an upsampling layer spreads each input over outputs")
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s = _square(layer.kernel_size, "kernel_size"), _square(layer.stride, "stride")
            d = _square(getattr(layer, "dilation", 1), "dilation")  # AvgPool2d has none
            r, j, seen = r + d * (k - 1) * j, j * s, True
    if not seen:
        raise ValueError("module has no Conv2d, MaxPool2d or AvgPool2d layer: it has no receptive field to compute")
    return r
