"""Compressing chapter 6's pix2pix generator the way GAN Compression does (Li et al., CVPR 2020):
a slimmer U-Net, initialised from the teacher's most important channels, distilled from the teacher
(its output, and its intermediate features through learned 1×1 projections) with the cGAN loss and
the real target's L1; then exported to ONNX and timed in ONNX Runtime.

    student = slim_unet(teacher, width=0.3)                       # every layer at 30 % of its channels
    distill_translator(student, teacher, data, D=PatchDiscriminator(2), num_steps=1500)
    export_onnx(student, "student.onnx")                           # batch dimension dynamic

In a U-Net the widths are not free: a decoder layer after a skip reads its predecessor's output and
the encoder's features of the same scale, concatenated, so cutting an encoder layer's channels cuts
the input channels of two layers (the next encoder layer and the decoder layer of its scale).
``slim_unet`` keeps the same channel indices everywhere they are read.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gantutor._validate import non_negative, positive_int, train_args
from gantutor.losses import pix2pix_generator_loss
from gantutor.models.translation import UNetGenerator
from gantutor.prune.channels import keep_in_channels, keep_norm_channels, keep_out_channels
from gantutor.runs import adam
from gantutor.train import History, frozen, prepare, run_loop
from gantutor.translation import _pair, _pix2pix_d_update


def _conv(block: nn.Module) -> nn.Module:
    return block[0]


def _norm(block: nn.Module) -> nn.Module | None:
    return next((m for m in block if isinstance(m, nn.BatchNorm2d)), None)


def _importance(weight: torch.Tensor, axis: int) -> torch.Tensor:
    """L1 norm of each output filter (``axis`` = the weight's output-channel axis)."""
    dims = [d for d in range(weight.dim()) if d != axis]
    return weight.detach().abs().sum(dim=dims)


def _widths(teacher: UNetGenerator, width, channels, decoder_channels) -> tuple[list[int], list[int]]:
    if (width is None) == (channels is None):
        raise ValueError("give either width (a multiplier of every layer's channels) or channels (the encoder's widths)")
    if width is not None:
        if not isinstance(width, (int, float)) or not 0 < width <= 1:
            raise ValueError(f"width must be a multiplier in (0, 1], got {width!r}")

        def scaled(widths, kind):
            out = []
            for i, c in enumerate(widths):
                if round(c * width) < 1:
                    raise ValueError(f"width {width} leaves {kind} layer {i} ({c} channels) without channels: "
                                     f"it needs width >= {0.5 / c:.3f}")
                out.append(round(c * width))
            return out
        return scaled(teacher.channels, "encoder"), scaled(teacher.decoder_channels, "decoder")
    enc = list(channels)
    dec = list(decoder_channels) if decoder_channels is not None else enc[::-1][1:]
    for name, new, old in (("channels", enc, teacher.channels), ("decoder_channels", dec, teacher.decoder_channels)):
        if len(new) != len(old):
            raise ValueError(f"{name} must hold {len(old)} widths (the teacher's), got {len(new)}")
        for i, (n, o) in enumerate(zip(new, old)):
            if not isinstance(n, int) or not 1 <= n <= o:
                raise ValueError(f"{name}[{i}] must be an integer from 1 to the teacher's {o}, got {n!r}")
    return enc, dec


def _slim_block(new: nn.Sequential, old: nn.Sequential, out_idx: torch.Tensor, in_idx: torch.Tensor) -> None:
    """Put into ``new`` the convolution (and BatchNorm) of ``old`` cut to channels ``out_idx`` out and ``in_idx`` in."""
    new[0] = keep_in_channels(keep_out_channels(old[0], out_idx), in_idx)
    norm = _norm(old)
    if norm is not None:
        new[1] = keep_norm_channels(norm, out_idx)


def skip_input_channels(keep_decoded: torch.Tensor, keep_encoded: torch.Tensor, decoded_width: int) -> torch.Tensor:
    """The input channels a U-Net decoder layer after a skip keeps, as indices into its input.

    Its input is ``torch.cat([decoded, encoded], dim=1)``: the previous decoder layer's
    ``decoded_width`` channels first, then the encoder's features of the same scale. Keeping
    channels ``keep_decoded`` of the first and ``keep_encoded`` of the second keeps inputs
    ``keep_decoded`` and ``decoded_width + keep_encoded``, in that order.
    """
    return torch.cat([torch.as_tensor(keep_decoded), decoded_width + torch.as_tensor(keep_encoded)])


def slim_unet(teacher: UNetGenerator, width: float | None = None, *, channels=None, decoder_channels=None,
              dropout: float | None = None) -> UNetGenerator:
    """A U-Net with fewer channels in every layer, initialised from ``teacher``'s most important ones.

    ``width``: one multiplier for every layer (rounded; an error names a layer it would leave
    without channels); or ``channels`` / ``decoder_channels``, the widths layer by layer (see
    ``UNetGenerator``). In each layer the filters with the largest L1 norm are kept, and the same
    channels are kept wherever that layer's output is read: by the next layer and, across a skip,
    by the decoder layer of its scale. ``dropout``: the student's (by default the teacher's; a
    student distilled from a teacher in eval mode learns a deterministic map, and trains better
    without it). ``teacher`` is not changed.
    """
    if not isinstance(teacher, UNetGenerator):
        raise TypeError(f"teacher must be a UNetGenerator, got {type(teacher).__name__}")
    enc, dec = _widths(teacher, width, channels, decoder_channels)
    if dropout is None:
        dropout = next((m.p for m in teacher.modules() if isinstance(m, nn.Dropout)), 0.0)
    out_channels = _conv(teacher.decoder[-1]).out_channels
    student = UNetGenerator(teacher.in_channels, out_channels, dropout=dropout, skips=teacher.skips,
                            channels=enc, decoder_channels=dec)
    keep_enc = [torch.sort(_importance(_conv(b).weight, 0).topk(n).indices).values
                for b, n in zip(teacher.encoder, enc)]
    keep_dec = [torch.sort(_importance(_conv(b).weight, 1).topk(n).indices).values
                for b, n in zip(teacher.decoder[:-1], dec)] + [torch.arange(out_channels)]
    inputs = torch.arange(teacher.in_channels)
    for i, (new, old) in enumerate(zip(student.encoder, teacher.encoder)):
        _slim_block(new, old, keep_enc[i], inputs if i == 0 else keep_enc[i - 1])
    depth = teacher.depth
    for k, (new, old) in enumerate(zip(student.decoder, teacher.decoder)):
        if k == 0:
            read = keep_enc[-1]
        elif teacher.skips:  # torch.cat([decoded, encoded]): the decoder's channels first, then the encoder's
            read = skip_input_channels(keep_dec[k - 1], keep_enc[depth - 1 - k], teacher.decoder_channels[k - 1])
        else:
            read = keep_dec[k - 1]
        _slim_block(new, old, keep_dec[k], read)
    return student.train(teacher.training)


class FeatureRecorder:
    """The outputs of a U-Net's decoder blocks (all but the last), recorded on every forward pass."""

    def __init__(self, G: UNetGenerator):
        self.features: list[torch.Tensor] = []
        self._hooks = [block.register_forward_hook(lambda _m, _i, out: self.features.append(out))
                       for block in G.decoder[:-1]]

    def take(self) -> list[torch.Tensor]:
        out, self.features = self.features, []
        return out

    def remove(self) -> None:
        for h in self._hooks:
            h.remove()


def feature_projections(student: UNetGenerator, teacher: UNetGenerator) -> nn.ModuleList:
    """One learned 1×1 convolution per decoder block, from the student's width to the teacher's."""
    return nn.ModuleList(nn.Conv2d(s, t, 1) for s, t in zip(student.decoder_channels, teacher.decoder_channels))


def feature_distillation_loss(student_features, teacher_features, projections: nn.ModuleList) -> torch.Tensor:
    """GAN Compression's intermediate term: Σ_k mean((proj_k(f_student_k) − f_teacher_k)²).

    Inputs: lists of (B, c_k, s_k, s_k) tensors, the student's and the teacher's features at the
    same places (the teacher's are targets: no gradient flows into them).
    """
    if not (len(student_features) == len(teacher_features) == len(projections)):
        raise ValueError(f"need one projection per feature pair, got {len(student_features)} student features, "
                         f"{len(teacher_features)} teacher features and {len(projections)} projections")
    return sum(F.mse_loss(p(s), t.detach()) for s, t, p in zip(student_features, teacher_features, projections))


TranslatorDistillHistory = History.with_keys(
    "TranslatorDistillHistory", "loss", "out_l1", "feature", "target_l1", "g_gan", "d_loss", module=__name__,
    doc="``History`` of ``distill_translator``: the total and each term (g_gan and d_loss with a D).")


def distill_translator(student: UNetGenerator, teacher: UNetGenerator, data, *, num_steps: int, D=None,
                       batch_size: int = 16, lr: float = 1e-3, lambda_out: float = 100.0, lambda_feature: float = 10.0,
                       lambda_target: float = 100.0, lr_decay: bool = True, device=None, callbacks=(),
                       progress: bool = True) -> TranslatorDistillHistory:
    """Distil ``teacher`` (frozen, in eval mode) into ``student`` on the outlines of ``data``:

        L = λ_out·E|S(a) − T(a)| + λ_feature·Σ_k mean((P_k f_S,k − f_T,k)²) + λ_target·E|S(a) − b|
            + (with a D) −E[log D(a, S(a))],

    with D (a ``PatchDiscriminator`` of (a, b) pairs) trained alongside as in pix2pix. The
    projections P_k are trained with the student. Returns the per-step terms.
    """
    train_args(num_steps, batch_size, lr, 1)
    for name, value in (("lambda_out", lambda_out), ("lambda_feature", lambda_feature), ("lambda_target", lambda_target)):
        non_negative(value, name)
    if not isinstance(student, UNetGenerator) or not isinstance(teacher, UNetGenerator):
        raise TypeError("student and teacher must be UNetGenerators (slim_unet(teacher, ...) makes a student)")
    device = prepare(device, (student,) + ((D,) if D is not None else ()), (teacher,))
    projections = feature_projections(student, teacher).to(device)
    opt_G = adam(nn.ModuleList([student, projections]), lr)
    opt_D = adam(D, lr) if D is not None else None
    rec_s, rec_t = FeatureRecorder(student), FeatureRecorder(teacher)

    def step():
        a, b = data.sample_pairs(batch_size, device=device)  # (B, 1, 32, 32) each
        with torch.no_grad():
            target = teacher(a)
        f_t = rec_t.take()
        fake = student(a)
        f_s = rec_s.take()
        terms = {"out_l1": (fake - target).abs().mean(), "feature": feature_distillation_loss(f_s, f_t, projections),
                 "target_l1": (fake - b).abs().mean()}
        loss = lambda_out * terms["out_l1"] + lambda_feature * terms["feature"] + lambda_target * terms["target_l1"]
        record = {}
        if D is not None:  # pix2pix's D step on (a, b) vs (a, S(a)), then the cGAN term through it
            record["d_loss"] = _pix2pix_d_update(D, a, b, fake, opt_D)
            with frozen(D):
                terms["g_gan"] = pix2pix_generator_loss(D(_pair(a, fake)), fake, b, 0.0)
            loss = loss + terms["g_gan"]
        opt_G.zero_grad(set_to_none=True)
        loss.backward()
        opt_G.step()
        return record | {"loss": loss.item()} | {k: v.item() for k, v in terms.items()}

    optimisers = (opt_G, opt_D) if D is not None else (opt_G,)
    try:
        history = run_loop(step, num_steps=num_steps, optimisers=optimisers, history=TranslatorDistillHistory(),
                           lr_decay=lr_decay, callbacks=callbacks, models=(student, D), progress=progress,
                           desc="distilling the translator")
    finally:
        rec_s.remove()
        rec_t.remove()
    student.eval()
    return history
