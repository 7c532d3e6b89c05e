"""Image-to-image translation: pix2pix and CycleGAN training (chapter 6).

pix2pix (Isola et al., 2017) learns a mapping G: A → B from aligned pairs (a, b). D judges
pairs, real (a, b) against fake (a, G(a)), patch by patch (``models.PatchDiscriminator``), and G
minimises

    L_G = −E[log D(a, G(a))] + λ·E[|b − G(a)|],     λ = 100.

CycleGAN (Zhu et al., 2017) learns from two unpaired sets: G_ab: A → B and G_ba: B → A, each
with its own least-squares discriminator (D_b judges domain B, D_a domain A), tied together by
cycle consistency, G_ba(G_ab(a)) ≈ a and G_ab(G_ba(b)) ≈ b:

    L_G = E[(D_b(G_ab(a)) − 1)²] + E[(D_a(G_ba(b)) − 1)²] + λ_cyc·L_cyc + λ_id·L_id.

Its discriminators learn from a history of past fakes (``ImagePool``; Shrivastava et al., 2017),
so they do not chase only the generators' latest output.

``pix2pix_step`` and ``cyclegan_step`` read like the papers' algorithms and return floats;
``train_pix2pix`` / ``train_cyclegan`` loop over them like ``train.train_gan``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gantutor._validate import non_negative, positive_int, train_args
from gantutor.data import Translation, center_crop
from gantutor.losses import (cycle_consistency_loss, discriminator_loss, identity_loss, ls_discriminator_loss,
                             ls_generator_loss, pix2pix_generator_loss)
from gantutor.metrics import classify, fid, ssim
from gantutor.runs import adam
from gantutor.train import History, frozen, prepare, run_loop


class ImagePool:
    """A history of up to ``size`` past fakes, for the discriminator (Shrivastava et al., 2017).

    ``query(images)`` returns a batch of the same shape. Each image, while the pool holds fewer
    than ``size``, is stored and returned as is; once the pool is full, with probability ½ a
    random stored image is returned in its place (and the new one stored there), otherwise the
    new image is returned. ``size = 0`` passes every batch through. Images are stored as
    detached clones; pass a seeded ``generator`` for reproducible draws.
    """

    def __init__(self, size: int = 50, generator: torch.Generator | None = None):
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"size must be an integer >= 0, got {size!r} ({type(size).__name__})")
        if size < 0:
            raise ValueError(f"size must be an integer >= 0, got {size}")
        self.size, self.generator = size, generator
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, ...) → a batch (B, ...) of new and stored images, detached."""
        images = images.detach()
        if self.size == 0:
            return images
        out = []
        for image in images:  # (...) one image
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(1, generator=self.generator).item() < 0.5:
                i = int(torch.randint(self.size, (1,), generator=self.generator))
                out.append(self.images[i])  # an old fake leaves the pool ...
                self.images[i] = image.clone()  # ... and the new one takes its place
            else:
                out.append(image)
        return torch.stack(out)  # (B, ...)


TranslationHistory = History.with_keys(
    "TranslationHistory", "l1", "g_gan", "cycle", "identity", "d_a", "d_b", module=__name__,
    doc="``History`` with the translation terms: pix2pix's ``l1``; CycleGAN's adversarial ``g_gan``, ``cycle`` and "
        "``identity`` terms of G's loss, and the loss of each discriminator.")


def _pair(a, b):
    return torch.cat([a, b], dim=1)  # (B, C_a + C_b, H, W): D judges b given a


def pix2pix_step(G, D, a, b, opt_G, opt_D, lambda_l1: float = 100.0, gan: bool = True) -> dict:
    """One pix2pix update: D on real vs fake pairs, then G through the updated D.

    D minimises ½·[−log D(a, b) − log(1 − D(a, G(a)))] (the paper halves D's loss to slow it
    down); G minimises ``pix2pix_generator_loss``. ``gan=False`` trains G on plain L1 alone (λ
    plays no part) and leaves D untouched: the "L1 only" ablation; ``lambda_l1=0`` is "cGAN only".
    Inputs: a (B, C_a, H, W), b (B, C_b, H, W). Returns floats: d_loss (absent when gan=False),
    g_loss and l1 = E[|b − G(a)|].
    """
    lambda_l1 = non_negative(lambda_l1, "lambda_l1")
    fake = G(a)  # (B, C_b, H, W)
    record = {}
    if gan:
        record["d_loss"] = _pix2pix_d_update(D, a, b, fake, opt_D)
        with frozen(D):  # G's loss flows through D to G(a), but D's weights get no gradient
            g_loss = pix2pix_generator_loss(D(_pair(a, fake)), fake, b, lambda_l1)
    else:
        g_loss = F.l1_loss(fake, b)  # E[|b − G(a)|]: no D at all
    opt_G.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_G.step()
    return record | {"g_loss": g_loss.item(), "l1": F.l1_loss(fake.detach(), b).item()}


def _pix2pix_d_update(D, a, b, fake, opt_D) -> float:
    """One step of D on real pairs (a, b) against fake pairs (a, G(a)); G gets no gradient."""
    logits_real, logits_fake = D(_pair(a, b)), D(_pair(a, fake.detach()))  # (B, 1, h, w) each
    d_loss = 0.5 * discriminator_loss(logits_real, logits_fake)  # ½: the paper slows D down
    opt_D.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_D.step()
    return d_loss.item()


def _cyclegan_g_loss(G_ab, G_ba, D_a, D_b, a, b, lambda_cyc, lambda_id):
    """CycleGAN's generator loss and its terms; also the fakes (G_ab(a), G_ba(b)) for the D step."""
    fake_b, fake_a = G_ab(a), G_ba(b)  # (B, C_b, H, W), (B, C_a, H, W)
    with frozen(D_a), frozen(D_b):
        g_gan = 2 * (ls_generator_loss(D_b(fake_b)) + ls_generator_loss(D_a(fake_a)))  # E[(D(G(x)) − 1)²], both ways
    terms = {"g_gan": g_gan}
    if lambda_cyc > 0:  # a → G_ab → G_ba → a and b → G_ba → G_ab → b
        terms["cycle"] = cycle_consistency_loss(a, G_ba(fake_b), b, G_ab(fake_a), lambda_cyc)
    if lambda_id > 0:  # G_ab(b) ≈ b and G_ba(a) ≈ a
        terms["identity"] = identity_loss(b, G_ab(b), lambda_id) + identity_loss(a, G_ba(a), lambda_id)
    return sum(terms.values()), terms, fake_a, fake_b


def cyclegan_step(G_ab, G_ba, D_a, D_b, a, b, opt_G, opt_D, pool_a: ImagePool, pool_b: ImagePool,
                  lambda_cyc: float = 10.0, lambda_id: float = 5.0) -> dict:
    """One CycleGAN update: both generators, then both discriminators on pooled fakes.

    G's loss: the least-squares adversarial term both ways, E[(D(G(x)) − 1)²], + the cycle loss
    (``cycle_consistency_loss``, skipped when ``lambda_cyc = 0``) + the identity loss of both
    generators (``identity_loss``, skipped when ``lambda_id = 0``). Each D then minimises
    ``ls_discriminator_loss`` = ½·(E[(D(real) − 1)²] + E[D(fake)²]): the paper's halved D loss.
    ``opt_G`` holds both generators' parameters, ``opt_D`` both discriminators'.
    Inputs: a (B, C_a, H, W) from A, b (B, C_b, H, W) from B, unpaired. Returns floats: g_loss,
    g_gan, cycle and identity (when used), d_a, d_b and d_loss = d_a + d_b.
    """
    lambda_cyc, lambda_id = non_negative(lambda_cyc, "lambda_cyc"), non_negative(lambda_id, "lambda_id")
    g_loss, terms, fake_a, fake_b = _cyclegan_g_loss(G_ab, G_ba, D_a, D_b, a, b, lambda_cyc, lambda_id)
    opt_G.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_G.step()
    d_a = ls_discriminator_loss(D_a(a), D_a(pool_a.query(fake_a)))  # pooled fakes are detached: no gradient to G
    d_b = ls_discriminator_loss(D_b(b), D_b(pool_b.query(fake_b)))
    opt_D.zero_grad(set_to_none=True)
    (d_a + d_b).backward()
    opt_D.step()
    return {"g_loss": g_loss.item(), **{k: v.item() for k, v in terms.items()},
            "d_a": d_a.item(), "d_b": d_b.item(), "d_loss": d_a.item() + d_b.item()}


def _check_data(data) -> Translation:
    if not isinstance(data, Translation):
        raise TypeError(f"data must be a gantutor.data.Translation (e.g. data.translation('train')), got {type(data).__name__}")
    return data


def train_pix2pix(G, D, data: Translation, *, num_steps: int, batch_size: int = 16, lr: float = 2e-4,
                  betas=(0.5, 0.999), lambda_l1: float = 100.0, gan: bool = True, lr_decay: bool = False,
                  device=None, callbacks=(), progress: bool = True) -> TranslationHistory:
    """Train pix2pix's G: A → B against D on aligned pairs ``data.sample_pairs(batch_size)``.

    Adam(lr, betas) for both, the paper's 2e-4 and β1 = 0.5; ``lr_decay`` takes both learning
    rates linearly to 0. ``gan=False`` / ``lambda_l1=0``: the paper's "L1 only" / "cGAN only"
    ablations (see ``pix2pix_step``). Each callback is called as ``fn(step, G, D, history)``.
    Returns the per-step records (d_loss, g_loss, l1); raises FloatingPointError on NaN.
    """
    train_args(num_steps, batch_size, lr, 1)
    lambda_l1 = non_negative(lambda_l1, "lambda_l1")
    data, device = _check_data(data), prepare(device, (G, D))
    opt_G, opt_D = adam(G, lr, betas), adam(D, lr, betas)

    def step():
        a, b = data.sample_pairs(batch_size, device=device)  # (B, 1, 32, 32) each, aligned
        return pix2pix_step(G, D, a, b, opt_G, opt_D, lambda_l1, gan)

    optimisers = (opt_G, opt_D) if gan else (opt_G,)  # without the GAN term D never steps
    return run_loop(step, num_steps=num_steps, optimisers=optimisers, history=TranslationHistory(), lr_decay=lr_decay,
                    callbacks=callbacks, models=(G, D), progress=progress, desc="pix2pix")


def train_cyclegan(G_ab, G_ba, D_a, D_b, data: Translation, *, num_steps: int, batch_size: int = 16, lr: float = 2e-4,
                   betas=(0.5, 0.999), lambda_cyc: float = 10.0, lambda_id: float = 5.0, pool_size: int = 50,
                   lr_decay: bool = False, device=None, callbacks=(), progress: bool = True) -> TranslationHistory:
    """Train CycleGAN on unpaired batches ``data.sample_unpaired(batch_size)``: G_ab: A → B,
    G_ba: B → A, D_a judging domain A, D_b domain B.

    One Adam over both generators, one over both discriminators (lr 2e-4, β1 = 0.5 as in the
    paper); image pools of ``pool_size`` fakes per domain; ``lr_decay`` takes the learning rates
    linearly to 0. Each callback is called as ``fn(step, (G_ab, G_ba), (D_a, D_b), history)``.
    Returns the per-step records (see ``cyclegan_step``); raises FloatingPointError on NaN.
    """
    train_args(num_steps, batch_size, lr, 1)
    lambda_cyc, lambda_id = non_negative(lambda_cyc, "lambda_cyc"), non_negative(lambda_id, "lambda_id")
    if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 0:
        raise ValueError(f"pool_size must be an integer >= 0 (0: no pool), got {pool_size!r}")
    pool_a, pool_b = ImagePool(pool_size), ImagePool(pool_size)
    Gs, Ds = nn.ModuleList([G_ab, G_ba]), nn.ModuleList([D_a, D_b])
    data, device = _check_data(data), prepare(device, (Gs, Ds))
    opt_G, opt_D = adam(Gs, lr, betas), adam(Ds, lr, betas)  # each over both models' parameters

    def step():
        a, b = data.sample_unpaired(batch_size, device=device)  # (B, 1, 32, 32) each, not pairs
        return cyclegan_step(G_ab, G_ba, D_a, D_b, a, b, opt_G, opt_D, pool_a, pool_b, lambda_cyc, lambda_id)

    return run_loop(step, num_steps=num_steps, optimisers=(opt_G, opt_D), history=TranslationHistory(), lr_decay=lr_decay,
                    callbacks=callbacks, models=((G_ab, G_ba), (D_a, D_b)), progress=progress, desc="CycleGAN")


@torch.no_grad()
def translate(G, a: torch.Tensor, batch_size: int = 250, dropout_at_test: bool = False) -> torch.Tensor:
    """G(a) in eval mode, in batches, on the CPU: (N, C_a, H, W) → (N, C_b, H, W).

    pix2pix keeps dropout on at test time, its only source of noise: ``dropout_at_test=True``
    switches the Dropout layers (only them: BatchNorm keeps its running statistics) back to
    training mode. G's training mode is restored afterwards.
    """
    positive_int(batch_size, "batch_size")
    device = next(G.parameters()).device
    was_training = G.training
    G.eval()
    if dropout_at_test:
        for layer in G.modules():
            if isinstance(layer, nn.modules.dropout._DropoutNd):
                layer.train()
    try:
        return torch.cat([G(x.to(device)).cpu() for x in a.split(batch_size)])
    finally:
        G.train(was_training)


def translation_scores(translated: torch.Tensor, data: Translation, reference: torch.Tensor) -> dict:
    """How good translations (N, 1, 32, 32) of ``data.a`` are, against the true ``data.b``.

    Returns floats: ``l1`` = mean |G(a) − b| per pixel; ``ssim`` (``metrics.ssim``, averaged);
    ``class_kept``: how often the course's MNIST classifier reads ``data.labels`` in the centre
    28×28 crop; ``fid`` against ``reference``, N real 28×28 digits that were not translated
    (training digits), so that a perfect translation scores the real-vs-real floor.
    """
    if translated.shape != data.b.shape:
        raise ValueError(f"translated must have the shape of data.b, {tuple(data.b.shape)}, got {tuple(translated.shape)}")
    digits = center_crop(translated)  # (N, 1, 28, 28): what the classifier was trained on
    return {"l1": float((translated - data.b).abs().mean()), "ssim": float(ssim(translated, data.b).mean()),
            "class_kept": float((classify(digits) == data.labels).double().mean()), "fid": fid(digits, reference)}
