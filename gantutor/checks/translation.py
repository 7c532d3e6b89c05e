"""Checks of chapter 6: the U-Net skip, the receptive field, the cycle-consistency loss, the
image pool, pix2pix's generator loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from gantutor import losses
from gantutor.checks._core import exercise, _NO_GRAD, _call, _check_loss, _diagnose, _fail, _missing_grad, _passed, _seeded
from gantutor.models import PatchDiscriminator, receptive_field


# --- Chapter 6: image-to-image translation ------------------------------------------------------


@exercise
def check_unet_skip(fn) -> None:
    """``fn(decoded, encoded)`` → the U-Net skip, torch.cat([decoded, encoded], dim=1)."""
    gen = torch.Generator().manual_seed(61)
    for b, c_d, c_e, s in ((2, 3, 3, 4), (3, 4, 2, 2)):  # the first case fits every wrong axis, the second does not
        decoded = torch.randn(b, c_d, s, s, generator=gen).requires_grad_(True)
        encoded = torch.randn(b, c_e, s, s, generator=gen).requires_grad_(True)
        inputs = {"decoded": decoded, "encoded": encoded}
        out = _call(fn, decoded, encoded, inputs=inputs)
        if not isinstance(out, torch.Tensor):
            _fail(f"returned a {type(out).__name__}, not a tensor", inputs=inputs, hint="return torch.cat([...], dim=...)")
        d, e = decoded.detach(), encoded.detach()
        expected = torch.cat([d, e], dim=1)  # (B, c_d + c_e, s, s)
        if out.shape != expected.shape or not torch.allclose(out.detach(), expected):
            cat = lambda parts, dim: lambda: torch.cat(parts, dim=dim)  # noqa: E731
            batch = ("you concatenated along the batch axis (dim 0): that gives more images, not more features per "
                     "pixel; the skip joins the channels, dim=1")
            spatial = ("you concatenated along a spatial axis: that glues two feature maps side by side into a wider "
                       "image; the skip joins the channels of each pixel, dim=1")
            mistakes = [(cat(parts, dim), batch if dim == 0 else spatial) for dim in (0, 2, 3) for parts in ([d, e], [e, d])]
            mistakes += [
                (lambda: d + e, "adding the features is a ResNet-style skip; a U-Net *concatenates* them, so the next "
                                "layer sees both sets side by side: torch.cat([decoded, encoded], dim=1)"),
                (lambda: torch.cat([e, d], dim=1), "the decoder's features come first, then the encoder's: the next "
                 "layer's weights expect the channels in the order torch.cat([decoded, encoded], dim=1)"),
            ]
            _fail("wrong skip connection", inputs=inputs, expected=expected, actual=out,
                  hint=_diagnose(out, mistakes) or "concatenate along the channel axis, decoder first: "
                                                "torch.cat([decoded, encoded], dim=1) is (B, c_d + c_e, s, s)")
        missing = _missing_grad(out, inputs)
        if missing:
            _fail(f"no gradient reaches {', '.join(missing)} through your skip", inputs=inputs,
                  hint="don't .detach() (or use .data on) the features: the encoder learns through the skip as well")
    _passed("the decoder's and the encoder's features are joined along the channels, and both get gradients.")


def _rf_variant(module, *, stride=True, jump_first=False, dilation=True, padding=0, pools=True, start=1) -> int:
    """The receptive field computed with one known mistake (the defaults compute it right)."""
    first = lambda v: v if isinstance(v, int) else v[0]  # noqa: E731
    kinds = (torch.nn.Conv2d, torch.nn.MaxPool2d, torch.nn.AvgPool2d) if pools else (torch.nn.Conv2d,)
    r, j = start, 1
    for layer in module.modules():
        if isinstance(layer, kinds):
            k, p = first(layer.kernel_size), first(layer.padding)
            s = first(layer.stride) if stride else 1
            d = first(getattr(layer, "dilation", 1)) if dilation else 1
            if jump_first:
                j *= s
            r += (d * (k - 1) + padding * p) * j  # padding: 0 (right), or 1 or 2 (the mistake of adding it)
            if not jump_first:
                j *= s
    return r


def _rf_cases():

    nn = torch.nn
    yield "nn.Sequential(Conv2d(1, 1, 5, stride=2, padding=1))", nn.Sequential(nn.Conv2d(1, 1, 5, stride=2, padding=1))
    for n in (1, 3, 5):
        yield f"PatchDiscriminator(3, n_layers={n}).net", PatchDiscriminator(3, base_channels=2, n_layers=n).net
    yield ("three 3×3 convolutions with dilation 1, 2, 4 (stride 1)",
           nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 3, padding=2, dilation=2),
                         nn.ReLU(), nn.Conv2d(2, 1, 3, padding=4, dilation=4)))
    yield ("Conv 3×3, MaxPool2d(2), Conv 3×3, AvgPool2d(2), Conv 3×3",
           nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(2, 2, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(2, 1, 3)))


@exercise
def check_receptive_field(fn) -> None:
    """``fn(module)`` → the receptive field of one output of a stack of convolutions and poolings."""
    import numbers

    for name, module in _rf_cases():
        inputs = {"module": name}
        out = _call(fn, module, inputs=inputs)
        expected = receptive_field(module)
        if isinstance(out, bool) or not isinstance(out, numbers.Integral):
            exact = isinstance(out, (float, torch.Tensor)) and out == expected
            _fail(f"returned a {type(out).__name__}", inputs=inputs, expected=expected, actual=out,
                  hint="a receptive field is a whole number of pixels: return an int" + (" (int(...))" if exact else ""))
        if out != expected:
            known = [
                (_rf_variant(module, jump_first=True), "you multiplied the jump by the stride *before* widening the "
                 "field: a layer's kernel steps over its *input*, whose jump is the one before its own stride: "
                 "r ← r + d·(k − 1)·j first, then j ← j·s"),
                (_rf_variant(module, stride=False), "the stride is ignored: after a stride-s layer, neighbouring "
                 "positions are s times further apart in the input, so each later kernel widens the field by "
                 "d·(k − 1)·j with the jump j ← j·s (r += k − 1 holds only for stride-1 stacks)"),
                (_rf_variant(module, dilation=False), "a dilated kernel of size k spans d·(k − 1) + 1 positions: "
                 "multiply k − 1 by the dilation"),
                (_rf_variant(module, padding=2), "padding shifts the field (it adds zeros at the border), it does not "
                 "widen it: leave the padding out"),
                (_rf_variant(module, padding=1), "padding shifts the field (it adds zeros at the border), it does not "
                 "widen it: leave the padding out"),
                (_rf_variant(module, pools=False), "a pooling layer has a kernel and a stride too: MaxPool2d and "
                 "AvgPool2d widen the field and multiply the jump like a convolution"),
                (_rf_variant(module, start=0), "start from r = 1: with no layer, an output sees exactly one input pixel"),
            ]
            hint = next((h for v, h in known if v == out), "r ← r + d·(k − 1)·j, then j ← j·s, layer by layer from r = j = 1")
            _fail("wrong receptive field", inputs=inputs, expected=expected, actual=int(out), hint=hint)
    _passed("16, 70 and 286 pixels for the PatchGANs, and right with dilation and pooling.")


_GENERATORS_LEARN = _NO_GRAD + ": the generators learn through it"


def _images(gen, *shape, dtype=torch.float64):
    return torch.tanh(torch.randn(*shape, generator=gen, dtype=dtype))  # in [−1, 1], like G's outputs


@exercise
def check_cycle_consistency_loss(fn) -> None:
    """``fn(real_a, reconstructed_a, real_b, reconstructed_b, lambda_cyc)`` →
    λ·(E[|F(G(a)) − a|] + E[|G(F(b)) − b|])."""
    gen = torch.Generator().manual_seed(63)
    near = lambda x: x + 0.3 * torch.randn(x.shape, generator=gen, dtype=x.dtype)  # noqa: E731  an imperfect cycle
    cases = []
    for shape_a, shape_b, lam in (((2, 1, 4, 4), (2, 1, 4, 4), 10.0), ((3, 1, 4, 4), (3, 3, 2, 2), 2.5)):
        real_a, real_b = _images(gen, *shape_a), _images(gen, *shape_b)  # the second case: domains of other shapes
        cases.append({"real_a": real_a, "reconstructed_a": near(real_a), "real_b": real_b, "reconstructed_b": near(real_b),
                      "lambda_cyc": lam})
    l1 = lambda x, y: (x - y).abs().mean()  # noqa: E731
    mistakes = [
        (lambda ra, xa, rb, xb, lam: lam * (l1(xa, rb) + l1(xb, ra)), "each reconstruction goes with the image it "
         "started from: F(G(a)) with real_a and G(F(b)) with real_b; you compared each with the other domain's image"),
        (lambda ra, xa, rb, xb, lam: lam * (l1(xa, ra) + l1(xb, ra)), "a cycle loss that compares G(F(y)) with x: "
         "reconstructed_b = G(F(b)) started from real_b, so compare it with real_b"),
        (lambda ra, xa, rb, xb, lam: lam * (l1(xa, rb) + l1(xb, rb)), "a cycle loss that compares F(G(x)) with y: "
         "reconstructed_a = F(G(a)) started from real_a, so compare it with real_a"),
        (lambda ra, xa, rb, xb, lam: lam * (F.mse_loss(xa, ra) + F.mse_loss(xb, rb)), "the cycle loss is L1, the mean "
         "*absolute* difference |F(G(a)) − a|, not the squared one (F.l1_loss, not F.mse_loss)"),
        (lambda ra, xa, rb, xb, lam: l1(xa, ra) + l1(xb, rb), "multiply by lambda_cyc: the cycle terms are weighted "
         "(λ = 10 in the paper) against the adversarial ones"),
        (lambda ra, xa, rb, xb, lam: 10 * (l1(xa, ra) + l1(xb, rb)), "use the lambda_cyc argument, not a fixed 10"),
        (lambda ra, xa, rb, xb, lam: lam * l1(xa, ra), "only one direction: the b → a → b cycle, |G(F(b)) − b|, is missing"),
        (lambda ra, xa, rb, xb, lam: lam * l1(xb, rb), "only one direction: the a → b → a cycle, |F(G(a)) − a|, is missing"),
        (lambda ra, xa, rb, xb, lam: lam * ((xa - ra).abs().sum() + (xb - rb).abs().sum()), "average the absolute "
         "differences (.mean()), don't sum them: a sum grows with the image size and the batch"),
        (lambda ra, xa, rb, xb, lam: lam * (l1(xa, ra) + l1(xb, rb)) / 2, "add the two cycles' means, don't average "
         "them: L_cyc = λ·(E|F(G(a)) − a| + E|G(F(b)) − b|)"),
        (lambda ra, xa, rb, xb, lam: lam * l1(xa, ra) + l1(xb, rb), "λ multiplies both cycles, not only the first"),
        (lambda ra, xa, rb, xb, lam: l1(xa, ra) + lam * l1(xb, rb), "λ multiplies both cycles, not only the second"),
        (lambda ra, xa, rb, xb, lam: lam * ((xa - ra).mean() + (xb - rb).mean()), "take the absolute value before the "
         "mean: otherwise positive and negative errors cancel"),
    ]
    _check_loss(fn, losses.cycle_consistency_loss, mistakes,
                "λ·(mean|reconstructed_a − real_a| + mean|reconstructed_b − real_b|)",
                cases=cases, trained=("reconstructed_a", "reconstructed_b"), no_grad=_GENERATORS_LEARN,
                unstable="the loss is not finite on finite images: look for a division or a log")
    _passed("both cycles, L1, weighted by λ, and it trains both generators.")


_POOL_PATTERN = torch.tensor([[[0.0, 0.25], [0.5, 0.75]]])  # (1, 2, 2): every test image has this shape


def _pool_batch(start: int, n: int) -> torch.Tensor:
    """Images number start … start + n − 1, (n, 1, 2, 2): image k is k + the pattern, so it can be recognised."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1) + _POOL_PATTERN


class _Pool:
    """Runs the learner's pool and checks each answer's form: a tensor of the input's shape, made of given images."""

    def __init__(self, pool, size: int):
        self.pool, self.size, self.given = pool, size, 0  # given: how many images it has been sent

    def __len__(self) -> int:
        if not hasattr(type(self.pool), "__len__"):
            _fail("len(pool) does not work", hint="define __len__(self) returning how many images the pool holds")
        return _call(len, self.pool)

    def query(self, images: torch.Tensor) -> list[int]:
        """Query with ``images`` (numbered self.given, …); the numbers of the returned images."""
        inputs = {"images": images, "images already given": self.given, "pool size": self.size}
        if not callable(getattr(self.pool, "query", None)):
            _fail("the pool has no query method", hint="define query(self, images) returning a batch of images")
        out = _call(self.pool.query, images, inputs=inputs)
        if not isinstance(out, torch.Tensor) or out.shape != images.shape:
            actual = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else f"a {type(out).__name__}"
            _fail("query returned a batch of the wrong form", inputs=inputs, expected=f"shape {tuple(images.shape)}",
                  actual=actual, hint="return one image for each input image, stacked: torch.stack(out) has the input's shape")
        self.given += len(images)
        ids = []
        for image in out.detach().float():
            k = round(float(image.flatten()[0])) if torch.isfinite(image).all() else -1
            if not (0 <= k < self.given and torch.equal(image, _pool_batch(k, 1)[0])):
                _fail("query returned an image it was never given", inputs=inputs, actual=out,
                      hint="return each new image itself or an earlier image taken from the pool, unchanged")
            ids.append(k)
        self.kept_graph = out.requires_grad  # some returned image still carries a graph
        return ids


def _check_pool_fills(pool: _Pool, size: int) -> None:
    """Two batches of 4 fakes that carry G's graph: the first fits, the second fills the pool (size 6)."""
    w = torch.ones((), requires_grad=True)  # the fakes carry G's graph, as G(z) would
    for n_room, batch in ((4, _pool_batch(0, 4) * w), (2, _pool_batch(4, 4) * w)):
        start = pool.given
        ids = pool.query(batch)
        if pool.kept_graph and start == 0:  # nothing stored yet: the new images kept their graph
            _fail("query returned images that still carry G's graph", inputs={"images": batch},
                  hint="detach: begin query with images = images.detach(); the D step must not backpropagate into "
                       "G, and a stored fake must not keep an old G's graph alive")
        if pool.kept_graph:
            _fail("the stored images still carry G's graph", inputs={"images": batch},
                  hint="store image.detach().clone(), not the image itself")
        if ids[:n_room] != list(range(start, start + n_room)):
            _fail(f"with room for {n_room} more image(s), the pool did not return the new ones as they are",
                  inputs={"images": batch, "images already stored": start}, expected=list(range(start, start + n_room)),
                  actual=ids[:n_room], hint="while the pool is not full, store each new image and return it "
                                            "unchanged; only a full pool swaps in stored images")
        stored, expected_len = len(pool), min(start + len(batch), size)
        if stored != expected_len:
            _fail(f"after {start + len(batch)} images, len(pool) = {stored}", expected=expected_len, actual=stored,
                  hint=(f"the pool holds at most size = {size} images: once it is full, put a new image in the place "
                        "of the stored one you return, instead of appending it") if stored > size
                  else "store each new image (a detached clone) while the pool has fewer than size images")


def _check_pool_swaps(pool: _Pool, size: int, queries: int = 100) -> float:
    """Batches of 4 plain fakes into a full pool; the fraction of stored images returned in their place."""
    swapped, newer = 0, False
    for _ in range(queries):
        start = pool.given
        ids = pool.query(_pool_batch(start, 4))
        if pool.kept_graph:
            _fail("the stored images still carry G's graph", hint="store image.detach().clone(), not the image itself")
        old = [k for i, k in enumerate(ids) if k != start + i]  # a stored image in place of new image i
        swapped, newer = swapped + len(old), newer or any(k >= size for k in old)
        if len(pool) > size:
            _fail(f"the pool grew past its size: len(pool) = {len(pool)} > size = {size}",
                  hint="once full, replace a stored image by the new one instead of appending it")
    fraction = swapped / (4 * queries)
    if not 0.35 <= fraction <= 0.65:  # 400 fair coins: 0.5 ± 0.025
        hint = ("the pool has no effect: it always returns the new images. Once it is full, with probability ½ "
                "return a random stored image (and store the new one in its place)" if fraction == 0 else
                "once full, return a stored image with probability ½ only, the new image otherwise")
        _fail("a full pool should return a stored image about half of the time", inputs={"pool size": size,
              "queries": f"{queries} batches of 4 new images"}, expected="a fraction ≈ 0.5", actual=fraction, hint=hint)
    if not newer:
        _fail("the full pool only ever returned the first images it stored",
              hint="when you return a stored image, store the new one in its place: the pool must follow G's recent fakes")
    return fraction


@exercise
def check_image_pool(cls) -> None:
    """``cls(size, generator=None)`` → a history of past fakes with ``query(images)`` and ``len()``.

    While it has room the pool stores each new image and returns it; once full, with probability ½
    it returns a random stored image and stores the new one in its place, else it returns the new
    image. It never holds more than ``size``; ``size = 0`` passes batches through; images come back
    (and are kept) detached.
    """
    size = 6
    with _seeded(64):
        pool = _Pool(_call(cls, size, torch.Generator().manual_seed(64), inputs={"size": size}), size)
        _check_pool_fills(pool, size)
        fraction = _check_pool_swaps(pool, size)
        empty = _Pool(_call(cls, 0, torch.Generator().manual_seed(0), inputs={"size": 0}), 0)
        batch = _pool_batch(0, 3)
        if empty.query(batch) != [0, 1, 2] or len(empty) != 0:
            _fail("a pool of size 0 should pass every batch through and store nothing", inputs={"images": batch},
                  hint="if size == 0, return the images as they are")
    _passed(f"the pool fills, then returns stored fakes {fraction:.0%} of the time, never holds more than its size, "
                "and keeps no graph.")


@exercise
def check_pix2pix_generator_loss(fn) -> None:
    """``fn(logits_fake, fake, target, lambda_l1)`` → −E[log D(x, G(x))] + λ·E[|y − G(x)|]."""
    gen = torch.Generator().manual_seed(65)
    cases = [{"logits_fake": 2 * torch.randn(2, 1, 3, 3, generator=gen, dtype=torch.float64),
              "fake": _images(gen, 2, 1, 4, 4), "target": _images(gen, 2, 1, 4, 4), "lambda_l1": 100.0},
             {"logits_fake": 2 * torch.randn(3, 1, 2, 2, generator=gen, dtype=torch.float64),
              "fake": _images(gen, 3, 3, 4, 4), "target": _images(gen, 3, 3, 4, 4), "lambda_l1": 7.5},
             # a confident D in float32, as in training: σ(−120) is 0 there
             {"logits_fake": torch.tensor([[[[-120.0, 90.0], [3.0, -0.5]]]]),
              "fake": _images(gen, 1, 1, 2, 2, dtype=torch.float32), "target": _images(gen, 1, 1, 2, 2, dtype=torch.float32),
              "lambda_l1": 100.0}]
    gan = lambda lf: F.softplus(-lf).mean()  # noqa: E731  −log σ(l), over every patch
    l1 = lambda f, t: (t - f).abs().mean()  # noqa: E731
    mistakes = [
        (lambda lf, f, t, lam: gan(lf) + lam * F.mse_loss(f, t), "pix2pix uses L1, the mean *absolute* difference "
         "|y − G(x)|, not the squared one: L2 blurs more (F.l1_loss, not F.mse_loss)"),
        (lambda lf, f, t, lam: -F.softplus(lf).mean() + lam * l1(f, t), "this adversarial term is the saturating "
         "(minimax) log(1 − D(x, G(x))); pix2pix's G minimises the non-saturating −log D(x, G(x))"),
        (lambda lf, f, t, lam: lam * gan(lf) + l1(f, t), "λ weights the L1 term, not the GAN term: "
         "−log D(x, G(x)) + λ·|y − G(x)|"),
        (lambda lf, f, t, lam: gan(torch.sigmoid(lf)) + lam * l1(f, t), "a sigmoid was applied twice: logits_fake are "
         "logits, and binary_cross_entropy_with_logits (or softplus) applies the sigmoid itself"),
        (lambda lf, f, t, lam: F.softplus(lf).mean() + lam * l1(f, t), "you labelled G's output as fake (0): G wants D "
         "to call its pairs real, so its loss uses label 1: −log D(x, G(x))"),
        (lambda lf, f, t, lam: -gan(lf) + lam * l1(f, t), "the sign of the adversarial term is flipped: G minimises "
         "−log D(x, G(x))"),
        (lambda lf, f, t, lam: gan(lf) + l1(f, t), "multiply the L1 term by lambda_l1 (λ = 100 in the paper)"),
        (lambda lf, f, t, lam: gan(lf) + 100 * l1(f, t), "use the lambda_l1 argument, not a fixed 100"),
        (lambda lf, f, t, lam: lam * l1(f, t), "the adversarial term −log D(x, G(x)) is missing: without it this is the "
         "paper's blurry \"L1 only\" ablation"),
        (lambda lf, f, t, lam: gan(lf), "the L1 term λ·|y − G(x)| is missing: without it this is \"cGAN only\""),
        (lambda lf, f, t, lam: gan(lf) + lam * (t - f).abs().sum(), "average the absolute differences (.mean()), "
         "don't sum them"),
        (lambda lf, f, t, lam: F.softplus(-lf).flatten(1).sum(1).mean() + lam * l1(f, t), "average the adversarial "
         "term over every patch logit (.mean() over the whole (B, 1, h, w) map), don't sum over the patches"),
        (lambda lf, f, t, lam: gan(lf) + lam * (t - f).mean(), "take the absolute value before the mean: otherwise "
         "positive and negative errors cancel"),
        (lambda lf, f, t, lam: F.binary_cross_entropy(torch.sigmoid(lf), torch.ones_like(lf)) + lam * l1(f, t),
         "torch.sigmoid followed by binary_cross_entropy loses the loss of confident logits (σ(−120) = 0 in float32, "
         "and BCE clips log 0 to −100): use F.binary_cross_entropy_with_logits(logits_fake, ones) or F.softplus(−l)"),
    ]
    _check_loss(fn, losses.pix2pix_generator_loss, mistakes,
                "mean(softplus(−logits_fake)) + lambda_l1·mean(|target − fake|)",
                cases=cases, trained=("logits_fake", "fake"), no_grad=_GENERATORS_LEARN)
    _passed("the non-saturating patch loss plus λ·L1 to the target, stable and trainable.")
