"""Networks of the course.

Chapter 1 uses multilayer perceptrons on 2D data: a generator maps noise z ~ N(0, I) to a point,
a discriminator maps a point to one logit (the sigmoid of the logit is D(x), the probability that
x is real). Discriminators return logits, never probabilities: the losses apply the sigmoid
inside a numerically stable log (see ``gantutor.losses``).
"""
from __future__ import annotations

import torch
from torch import nn

from gantutor._validate import batch_of, positive_int


def _hidden_layers(in_dim: int, hidden, activation) -> tuple[nn.Sequential, int]:
    """Linear → activation blocks of the given ``hidden`` widths; returns them and the last width."""
    positive_int(in_dim, "in_dim")
    if len(hidden) == 0:
        raise ValueError("hidden must list at least one width, e.g. (128, 128)")
    layers, width = [], in_dim
    for i, h in enumerate(hidden):
        positive_int(h, f"hidden[{i}]")
        layers += [nn.Linear(width, h), activation()]
        width = h
    return nn.Sequential(*layers), width


def mlp(in_dim: int, out_dim: int, hidden=(128, 128, 128), activation=nn.ReLU) -> nn.Sequential:
    """Linear → activation blocks of the given ``hidden`` widths, then a final Linear."""
    body, width = _hidden_layers(in_dim, hidden, activation)
    return nn.Sequential(*body, nn.Linear(width, positive_int(out_dim, "out_dim")))


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """PacGAN packing (Lin et al., 2018): m samples side by side, (B, d) → (B/m, m·d).

    D then judges m samples at once; a generator that repeats itself is easy to spot in a pack.
    """
    positive_int(m, "m")
    if x.dim() != 2 or x.shape[0] % m:
        raise ValueError(f"x must have shape (B, d) with B divisible by m = {m}, got {tuple(x.shape)}")
    return x.reshape(x.shape[0] // m, m * x.shape[1])  # rows i·m … i·m+m−1 form pack i


class MinibatchStd(nn.Module):
    """Appends one feature: the standard deviation over the batch, averaged over features.

    From ProGAN (Karras et al., 2018, §3): D sees how varied the batch is, so a collapsed
    generator (low variety) becomes visible. (B, F) → (B, F + 1).
    """

    def forward(self, h):
        if h.shape[0] < 2:
            raise ValueError("minibatch standard deviation needs a batch of at least 2")
        std = h.std(dim=0, unbiased=False).mean()  # scalar
        return torch.cat([h, std.expand(h.shape[0], 1)], dim=1)  # (B, F + 1)


class MLPGenerator(nn.Module):
    """G: z (B, latent_dim) → x (B, out_dim)."""

    def __init__(self, latent_dim: int = 2, out_dim: int = 2, hidden=(128, 128, 128), activation=nn.ReLU):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        self.net = mlp(latent_dim, out_dim, hidden, activation)

    def forward(self, z):
        return self.net(batch_of(z, self.latent_dim, "z"))  # (B, out_dim)


class MLPDiscriminator(nn.Module):
    """D: x (B, in_dim) → logits (B / pack,); D(x) = sigmoid(logit).

    ``pack = m`` judges m samples at once (PacGAN); ``minibatch_std`` adds the batch's standard
    deviation as a feature before the last layer (ProGAN).
    """

    def __init__(self, in_dim: int = 2, hidden=(128, 128, 128), activation=lambda: nn.LeakyReLU(0.2),
                 pack: int = 1, minibatch_std: bool = False):
        super().__init__()
        self.in_dim = positive_int(in_dim, "in_dim")
        self.pack = positive_int(pack, "pack")
        self.body, width = _hidden_layers(in_dim * pack, hidden, activation)
        self.minibatch_std = MinibatchStd() if minibatch_std else None
        self.head = nn.Linear(width + bool(minibatch_std), 1)

    def forward(self, x):
        x = batch_of(x, self.in_dim, "x")
        h = self.body(pack(x, self.pack) if self.pack > 1 else x)  # (B / pack, width)
        if self.minibatch_std is not None:
            h = self.minibatch_std(h)  # (B / pack, width + 1)
        return self.head(h).squeeze(1)  # (B / pack,)


# ----------------------------------------------------------------------------------------------
# DCGAN (Radford et al., 2016) for 28×28 digits (and 8×8): strided (transposed) convolutions,
# BatchNorm in G, LeakyReLU in D, tanh output in [−1, 1]. Conditional versions: G takes a class
# embedding beside z; D is a projection discriminator (Miyato & Koyama, 2018).

_SIZES = {28: 7, 8: 2}  # image side -> side of G's first feature map (two ×2 upsamplings)


def _check_image_size(image_size: int) -> int:
    if image_size not in _SIZES:
        raise ValueError(f"image_size must be 28 or 8, got {image_size}")
    return _SIZES[image_size]


def _check_labels(y, batch: int, num_classes: int):
    if y is None:
        raise ValueError("this model is conditional: pass the class labels y (B,)")
    if y.dim() != 1 or y.shape[0] != batch or y.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"y must hold one integer label per image, shape ({batch},), got {tuple(y.shape)} {y.dtype}")
    if (y < 0).any() or (y >= num_classes).any():
        raise ValueError(f"labels must be in [0, {num_classes}), got {y.min().item()}..{y.max().item()}")
    return y


class DCGANGenerator(nn.Module):
    """G: z (B, latent_dim) [, y (B,)] → images (B, 1, S, S) in [−1, 1], S = ``image_size`` (28 or 8).

    ``num_classes`` makes it conditional: a learned class embedding of ``embed_dim`` numbers is
    concatenated to z. Keep it small beside z: with a 64-d embedding beside a 64-d z, the
    conditional GAN of chapter 5 ignored z and drew one image per class (FID 16.7× the floor,
    recall 0); with 10 numbers it drew varied digits (2.4×, recall 0.62) — same everything else
    (``benchmarks/image_gans.py``: cgan_embed64 vs cgan).
    ``output="sigmoid"`` gives images in [0, 1] instead (only to measure the [−1, 1] + tanh tip).
    """

    def __init__(self, latent_dim: int = 64, base_channels: int = 32, image_size: int = 28, num_classes: int | None = None,
                 output: str = "tanh", embed_dim: int = 10):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        c = positive_int(base_channels, "base_channels")
        self.side = _check_image_size(image_size)
        self.num_classes = positive_int(num_classes, "num_classes") if num_classes is not None else None
        if output not in ("tanh", "sigmoid"):
            raise ValueError(f"output must be 'tanh' or 'sigmoid', got {output!r}")
        self.embed = nn.Embedding(num_classes, positive_int(embed_dim, "embed_dim")) if num_classes else None
        in_dim = latent_dim + (embed_dim if num_classes else 0)
        self.project = nn.Sequential(  # (B, in_dim) -> (B, 2c·s·s)
            nn.Linear(in_dim, 2 * c * self.side**2, bias=False), nn.BatchNorm1d(2 * c * self.side**2), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False),  # (B, 2c, s, s) -> (B, c, 2s, 2s)
            nn.BatchNorm2d(c), nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),  # -> (B, 1, 4s, 4s)
            nn.Tanh() if output == "tanh" else nn.Sigmoid(),
        )
        self.channels = 2 * c

    def forward(self, z, y=None):
        z = batch_of(z, self.latent_dim, "z")
        if self.embed is not None:
            z = torch.cat([z, self.embed(_check_labels(y, z.shape[0], self.num_classes))], dim=1)  # (B, latent + embed)
        h = self.project(z).view(-1, self.channels, self.side, self.side)  # (B, 2c, s, s)
        return self.net(h)  # (B, 1, 4s, 4s)


class DCGANDiscriminator(nn.Module):
    """D: images (B, 1, S, S) [, y (B,)] → logits (B,).

    Two strided convolutions with LeakyReLU(``slope`` = 0.2; 0 gives a ReLU), then a linear score.
    ``num_classes`` makes it a projection discriminator: the score gains ⟨embed(y), h⟩, so D
    judges "is this a real image *of class y*".

    ``batch_norm`` puts BatchNorm after the second convolution, as in the DCGAN paper. It is off
    by default: D sees the real and the fake batch separately, each normalised by its own
    statistics, and on the bundled MNIST that cost the generator class balance (chapter 4
    measures it).

    ``minibatch_std`` appends the batch's feature spread before the score (``MinibatchStd``).

    ``spectral_norm`` divides every convolution's and linear layer's weight by its largest
    singular value (Miyato et al., 2018; PyTorch's ``spectral_norm`` parametrisation, one power
    iteration per forward pass), so each layer is 1-Lipschitz and D at most 1-Lipschitz overall.
    """

    def __init__(self, base_channels: int = 32, image_size: int = 28, num_classes: int | None = None, dropout: float = 0.0,
                 batch_norm: bool = False, slope: float = 0.2, minibatch_std: bool = False, spectral_norm: bool = False):
        super().__init__()
        c = positive_int(base_channels, "base_channels")
        side = _check_image_size(image_size)
        self.image_size = image_size
        self.num_classes = positive_int(num_classes, "num_classes") if num_classes is not None else None
        self.body = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1), nn.LeakyReLU(slope),  # (B, 1, 4s, 4s) -> (B, c, 2s, 2s)
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1),  # -> (B, 2c, s, s)
            nn.BatchNorm2d(2 * c) if batch_norm else nn.Identity(), nn.LeakyReLU(slope),
            nn.Flatten(), nn.Dropout(dropout),  # (B, 2c·s·s)
        )
        features = 2 * c * side**2
        self.minibatch_std = MinibatchStd() if minibatch_std else None
        self.head = nn.Linear(features + (1 if minibatch_std else 0), 1)
        self.embed = nn.Embedding(num_classes, features) if num_classes else None
        if self.embed is not None:  # the class term starts at 0: D begins unconditional and learns it
            nn.init.zeros_(self.embed.weight)
        if spectral_norm:
            for layer in [*self.body, self.head]:
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    nn.utils.parametrizations.spectral_norm(layer)  # weight / sigma_max(weight)

    def forward(self, x, y=None):
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, self.image_size, self.image_size):
            raise ValueError(f"x must be images of shape (B, 1, {self.image_size}, {self.image_size}), got {tuple(x.shape)}")
        h = self.body(x)  # (B, features)
        score = self.head(self.minibatch_std(h) if self.minibatch_std else h).squeeze(1)  # (B,)
        if self.embed is not None:
            score = score + (self.embed(_check_labels(y, x.shape[0], self.num_classes)) * h).sum(dim=1)  # projection
        return score


class InstanceNoise(nn.Module):
    """Wraps a discriminator so that, in training mode, its inputs (real and fake alike) get
    Gaussian noise of standard deviation ``std`` (Sønderby et al., 2017; Arjovsky & Bottou,
    2017): the two distributions then overlap, and D's gradient stays informative.
    ``anneal(step, num_steps=N)`` lowers ``std`` linearly to 0 — use it as a ``train_gan``
    callback: ``callbacks=[functools.partial(noisy.anneal, num_steps=N)]``.
    """

    def __init__(self, D: nn.Module, std: float = 0.1):
        super().__init__()
        if not std >= 0:
            raise ValueError(f"std must be >= 0, got {std}")
        self.D, self.std, self.start_std = D, std, std
        self.num_classes = getattr(D, "num_classes", None)

    def forward(self, x, y=None):
        if self.training and self.std > 0:
            x = x + self.std * torch.randn_like(x)
        return self.D(x) if y is None else self.D(x, y)

    def anneal(self, step, G=None, D=None, history=None, num_steps: int | None = None) -> None:
        """Set std = start_std · (1 − (step + 1) / num_steps); as a callback, bind num_steps first
        (``functools.partial(noisy.anneal, num_steps=N)``)."""
        if num_steps is None:
            raise ValueError("anneal needs num_steps: functools.partial(noisy.anneal, num_steps=N)")
        self.std = self.start_std * max(0.0, 1 - (step + 1) / num_steps)


@torch.no_grad()
def layer_shapes(module: nn.Module, *inputs) -> list[tuple[str, str, tuple]]:
    """Run ``module(*inputs)`` once and list (name, layer type, output shape) of every leaf layer
    in the order they ran: the shape comments of a model, checked by running it."""
    rows, hooks = [], []
    for name, layer in module.named_modules():
        if not list(layer.children()):
            hooks.append(layer.register_forward_hook(
                lambda mod, _, out, name=name: rows.append((name, type(mod).__name__, tuple(out.shape)))))
    was_training = module.training
    module.eval()
    try:
        module(*inputs)
    finally:
        module.train(was_training)
        for h in hooks:
            h.remove()
    return rows


def dcgan(num_classes: int | None = None, image_size: int = 28) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """The course's DCGAN pair for the digits, as chapter 4 measured it: G with a 64-d latent and
    32 base channels; D without BatchNorm, with a minibatch-std feature (projection D when
    ``num_classes`` is given). Train it with ``train_gan(G, D, ..., **train.DCGAN_RECIPE)``."""
    G = DCGANGenerator(latent_dim=64, base_channels=32, image_size=image_size, num_classes=num_classes)
    D = DCGANDiscriminator(base_channels=32, image_size=image_size, num_classes=num_classes, minibatch_std=True)
    return G, D


# ----------------------------------------------------------------------------------------------
# Image-to-image translation (chapter 6). pix2pix (Isola et al., 2017): a U-Net generator, whose
# skip connections carry the input's structure straight to the output, and a PatchGAN
# discriminator that scores every N×N patch of the (input, output) pair. CycleGAN (Zhu et al.,
# 2017): a ResNet generator (after Johnson et al., 2016) with instance normalisation.

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
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, base_channels: int = 16, depth: int = 4,
                 dropout: float = 0.5, skips: bool = True):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels")
        self.depth = positive_int(depth, "depth")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.skips = bool(skips)
        c = _unet_channels(positive_int(base_channels, "base_channels"), depth)
        self.encoder = nn.ModuleList(
            nn.Sequential(nn.Conv2d(in_channels if i == 0 else c[i - 1], c[i], 4, stride=2, padding=1, bias=i == 0),
                          nn.Identity() if i == 0 else nn.BatchNorm2d(c[i]), nn.LeakyReLU(0.2))
            for i in range(depth))
        widths = c[::-1]  # decoder layer k reads widths[k] (doubled by a skip, except the first) ...
        outs = widths[1:] + [positive_int(out_channels, "out_channels")]  # ... and writes outs[k]
        layers = []
        for k in range(depth):
            width = widths[k] * (2 if skips and k > 0 else 1)
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
