"""Every checker accepts the reference and rejects typical wrong answers, each with its own hint."""
import pytest
import torch
import torch.nn.functional as F

from gantutor import checks, losses, theory
from gantutor.checks import CheckFailure
from gantutor.checks.registry import EXERCISES


def hint_of(check, answer) -> str:
    with pytest.raises(CheckFailure) as err:
        check(answer)
    message = str(err.value)
    assert "hint:" in message
    return message


def stub(*args):
    raise NotImplementedError("Exercise 1.k: write the body")


ALL_CHECKS = [getattr(checks, ex.check) for ex in EXERCISES]


@pytest.mark.parametrize("check", ALL_CHECKS)
def test_a_stub_is_reported_as_not_done(check):
    with pytest.raises(NotImplementedError, match=f"Exercise {check.exercise} is not done yet"):
        check(stub)


@pytest.mark.parametrize("check", ALL_CHECKS)
def test_passing_a_result_instead_of_a_function_is_explained(check):
    with pytest.raises(TypeError, match="pass your function itself"):
        check(torch.zeros(3))


def test_a_crash_in_the_learners_code_is_reported_with_its_input():
    def broken(logits_real, logits_fake):
        return torch.mm(logits_real, logits_fake)  # mm needs 2-D tensors: a RuntimeError
    message = hint_of(checks.check_discriminator_loss, broken)
    assert "your function raised RuntimeError" in message and "logits_real" in message


# --- 1.1 sample noise --------------------------------------------------------------------------

def test_sample_noise(capsys):
    checks.check_sample_noise(lambda b, d: torch.randn(b, d))
    assert "✔ Exercise 1.1 passed" in capsys.readouterr().out
    assert "torch.rand draws from the uniform" in hint_of(checks.check_sample_noise, lambda b, d: torch.rand(b, d))
    assert "one row per sample" in hint_of(checks.check_sample_noise, lambda b, d: torch.randn(d, b))
    assert "don't seed" in hint_of(checks.check_sample_noise, lambda b, d: torch.randn(b, d, generator=torch.Generator().manual_seed(0)))


# --- 1.2 discriminator loss ----------------------------------------------------------------------

def test_discriminator_loss_accepts_reference_and_equivalent_forms(capsys):
    checks.check_discriminator_loss(losses.discriminator_loss)
    checks.check_discriminator_loss(lambda r, f: F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                                    + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
    assert capsys.readouterr().out.count("passed") == 2


@pytest.mark.parametrize("answer,hint", [
    (lambda r, f: -losses.discriminator_loss(r, f), "the sign is flipped"),
    (lambda r, f: F.binary_cross_entropy_with_logits(torch.sigmoid(r), torch.ones_like(r))
     + F.binary_cross_entropy_with_logits(torch.sigmoid(f), torch.zeros_like(f)), "a sigmoid was applied twice"),
    (lambda r, f: F.softplus(r).mean() + F.softplus(-f).mean(), "labels are swapped"),
    (lambda r, f: F.softplus(-r).mean(), "the term for the fakes"),
    (lambda r, f: -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean(), "underflows"),
    (lambda r, f: torch.tensor(losses.discriminator_loss(r, f).item()), "sends no gradient to logits_real, logits_fake"),
    (lambda r, f: F.softplus(-r) + F.softplus(f), "average over the batch"),
])
def test_discriminator_loss_rejects_typical_mistakes(answer, hint):
    assert hint in hint_of(checks.check_discriminator_loss, answer)


# --- 1.3 non-saturating generator loss ----------------------------------------------------------

def test_generator_loss_accepts_reference():
    checks.check_generator_loss_nonsaturating(losses.generator_loss_nonsaturating)


@pytest.mark.parametrize("answer,hint", [
    (losses.generator_loss_minimax, "saturating (minimax) loss"),
    (lambda f: F.softplus(f).mean(), "labelled G's samples as fake"),
    (lambda f: -F.softplus(-f).mean(), "the sign is flipped"),
    (lambda f: F.binary_cross_entropy_with_logits(torch.sigmoid(f), torch.ones_like(f)), "sigmoid was applied twice"),
])
def test_generator_loss_rejects_typical_mistakes(answer, hint):
    assert hint in hint_of(checks.check_generator_loss_nonsaturating, answer)


# --- 1.4 optimal discriminator -------------------------------------------------------------------

def test_optimal_discriminator_accepts_reference_and_a_where_version():
    checks.check_optimal_discriminator(theory.optimal_discriminator)
    checks.check_optimal_discriminator(lambda p, q: torch.where(p + q > 0, p / (p + q), torch.full_like(p, 0.5)))


@pytest.mark.parametrize("answer,hint", [
    (lambda p, q: q / (p + q + 1e-300), "1 - D*"),
    (lambda p, q: p / (q + 1e-300), "density ratio"),
    (lambda p, q: p / (p + q), "0/0 is NaN"),
])
def test_optimal_discriminator_rejects_typical_mistakes(answer, hint):
    assert hint in hint_of(checks.check_optimal_discriminator, answer)


# --- 1.5 one training step -----------------------------------------------------------------------

def reference_step(G, D, opt_G, opt_D, x_real, z):
    fake = G(z)
    d_loss = losses.discriminator_loss(D(x_real), D(fake.detach()))
    opt_D.zero_grad()
    d_loss.backward()
    opt_D.step()
    g_loss = losses.generator_loss_nonsaturating(D(fake))
    opt_G.zero_grad()
    g_loss.backward()
    opt_G.step()
    return d_loss.item(), g_loss.item()


# Written here independently of the checker's own list of known mistakes: a test that reused that
# list would only show the checker agrees with itself.
def step_with(detach=True, zero_grad=True, g_loss=losses.generator_loss_nonsaturating, g_first=False, swap_returns=False):
    def step(G, D, opt_G, opt_D, x_real, z):
        def update_d():
            fake = G(z) if not detach else G(z).detach()
            loss = losses.discriminator_loss(D(x_real), D(fake))
            if zero_grad:
                opt_D.zero_grad()
            loss.backward()
            opt_D.step()
            return loss.item()

        def update_g():
            loss = g_loss(D(G(z)))
            if zero_grad:
                opt_G.zero_grad()
            loss.backward()
            opt_G.step()
            return loss.item()

        if g_first:
            g = update_g()
            d = update_d()
        else:
            d = update_d()
            g = update_g()
        return (g, d) if swap_returns else (d, g)
    return step


def test_training_step_accepts_reference(capsys):
    checks.check_training_step(reference_step)
    assert "✔ Exercise 1.5 passed" in capsys.readouterr().out


@pytest.mark.parametrize("answer,hint", [
    (step_with(detach=False), "D's loss flowed back into G"),
    (step_with(zero_grad=False), "call opt.zero_grad()"),
    (step_with(g_loss=losses.generator_loss_minimax), "saturating loss"),
    (step_with(g_loss=lambda lf: F.softplus(lf).mean()), "label 0 (fake)"),
    (step_with(g_first=True), "update D first"),
    (step_with(swap_returns=True), "in that order"),
])
def test_training_step_rejects_typical_mistakes(answer, hint):
    assert hint in hint_of(checks.check_training_step, answer)


# --- 2.1 / 2.2 game dynamics ---------------------------------------------------------------------

def test_gda_step():
    checks.check_gda_step(lambda x, y, lr: (x - lr * y, y + lr * x))
    assert "*ascends*" in hint_of(checks.check_gda_step, lambda x, y, lr: (x - lr * y, y - lr * x))
    assert "*descends*" in hint_of(checks.check_gda_step, lambda x, y, lr: (x + lr * y, y + lr * x))

    def alternating(x, y, lr):
        x = x - lr * y
        return x, y + lr * x
    assert "alternating GDA" in hint_of(checks.check_gda_step, alternating)


def test_extragradient_step():
    def right(x, y, lr):
        xh, yh = x - lr * y, y + lr * x
        return x - lr * yh, y + lr * xh

    def from_lookahead(x, y, lr):
        xh, yh = x - lr * y, y + lr * x
        return xh - lr * yh, yh + lr * xh
    checks.check_extragradient_step(right)
    assert "this is plain GDA" in hint_of(checks.check_extragradient_step, lambda x, y, lr: (x - lr * y, y + lr * x))
    assert "two GDA steps" in hint_of(checks.check_extragradient_step, from_lookahead)


# --- 3.1-3.4 mode collapse -----------------------------------------------------------------------
from gantutor import metrics, models, train
from gantutor.data import custom_mixture


def count_modes_reference(samples, means, std):
    cov = metrics.mode_coverage(samples, custom_mixture(means, std))
    return cov.modes, cov.high_quality


def test_count_modes():
    checks.check_count_modes(count_modes_reference)

    def any_nearest(samples, means, std):
        d, nearest = torch.cdist(samples, means).min(1)
        return len(set(nearest.tolist())), (d / std < 3).float().mean().item()

    def unscaled(samples, means, std):
        d, nearest = torch.cdist(samples, means).min(1)
        return len(set(nearest[d < 3].tolist())), (d < 3).float().mean().item()

    def count_not_fraction(samples, means, std):
        modes, hq = count_modes_reference(samples, means, std)
        return modes, hq * len(samples)
    assert "*high-quality* sample" in hint_of(checks.check_count_modes, any_nearest)
    assert "standardise the distance" in hint_of(checks.check_count_modes, unscaled)
    assert "fraction" in hint_of(checks.check_count_modes, count_not_fraction)


def test_pack():
    checks.check_pack(models.pack)

    def strided(x, m):  # another valid grouping: pack i holds samples i, i + B/m, ...
        if x.shape[0] % m:
            raise ValueError("B must be divisible by m")
        return x.reshape(m, x.shape[0] // m, x.shape[1]).transpose(0, 1).reshape(x.shape[0] // m, -1)
    checks.check_pack(strided)
    assert "exactly one pack" in hint_of(checks.check_pack, lambda x, m: x[: x.shape[0] // m].repeat(1, m))
    assert "coordinates together" in hint_of(checks.check_pack, lambda x, m: x.T.reshape(x.shape[0] // m, -1))
    assert "wrong shape" in hint_of(checks.check_pack, lambda x, m: x.reshape(m, -1))
    assert "raise ValueError" in hint_of(checks.check_pack, lambda x, m: x[: x.shape[0] // m * m].reshape(x.shape[0] // m, -1))


def gp_variant(norm_of=lambda g: g.flatten(1).norm(2, dim=1), penalty=lambda n: (n - 1) ** 2, create_graph=True):
    """The gradient penalty, on points (N, d) or images (N, C, H, W), with one part changed."""
    def gp(D, real, fake):
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)))
        x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
        (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=create_graph)
        return penalty(norm_of(g)).mean()
    return gp


def test_gradient_penalty():
    checks.check_gradient_penalty(losses.gradient_penalty)
    checks.check_gradient_penalty(gp_variant())
    assert "not ‖∇D‖²" in hint_of(checks.check_gradient_penalty, gp_variant(penalty=lambda n: n**2))
    assert "two-sided" in hint_of(checks.check_gradient_penalty, gp_variant(penalty=lambda n: torch.clamp(n - 1, min=0) ** 2))
    assert "per sample" in hint_of(checks.check_gradient_penalty, gp_variant(norm_of=lambda g: g.norm().expand(g.shape[0])))
    assert "create_graph=True" in hint_of(checks.check_gradient_penalty, gp_variant(create_graph=False))


def unroll_variant(lr_sign=1.0, create_graph=True, detach_fake=False):
    def unroll(D, fake, real_batches, inner_lr):
        params = dict(D.named_parameters())
        f = fake.detach() if detach_fake else fake
        for real in real_batches:
            call = lambda x: torch.func.functional_call(D, params, (x,))
            loss = losses.discriminator_loss(call(real), call(f))
            grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
            params = {k: v - lr_sign * inner_lr * g for (k, v), g in zip(params.items(), grads)}
        return params
    return unroll


def test_unrolled_parameters():
    checks.check_unrolled_parameters(train.unrolled_parameters)
    checks.check_unrolled_parameters(unroll_variant())
    assert "*descends*" in hint_of(checks.check_unrolled_parameters, unroll_variant(lr_sign=-1.0))
    assert "create_graph=True" in hint_of(checks.check_unrolled_parameters, unroll_variant(create_graph=False))
    assert "don't detach the fakes" in hint_of(checks.check_unrolled_parameters, unroll_variant(detach_fake=True))

    def steps_d_itself(D, fake, real_batches, inner_lr):
        opt = torch.optim.SGD(D.parameters(), lr=inner_lr)
        for real in real_batches:
            loss = losses.discriminator_loss(D(real), D(fake.detach()))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return dict(D.named_parameters())
    assert "D's own weights changed" in hint_of(checks.check_unrolled_parameters, steps_d_itself)


# --- Chapters 4 and 5 -----------------------------------------------------------------------------


def test_convtranspose_size():
    checks.check_convtranspose_size(lambda n, k, s, p: (n - 1) * s - 2 * p + k)
    assert "Conv2d's formula" in hint_of(checks.check_convtranspose_size, lambda n, k, s, p: (n + 2 * p - k) // s + 1)
    assert "removes" in hint_of(checks.check_convtranspose_size, lambda n, k, s, p: (n - 1) * s + 2 * p + k)
    assert "use //" in hint_of(checks.check_convtranspose_size, lambda n, k, s, p: float((n - 1) * s - 2 * p + k))


def dcgan_variant(padding=1, tanh=True, flat=False):
    def make(latent_dim):
        layers = [torch.nn.Linear(latent_dim, 32 * 49), torch.nn.Unflatten(1, (32, 7, 7)), torch.nn.ReLU(),
                  torch.nn.ConvTranspose2d(32, 16, 4, 2, padding), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
                  torch.nn.ConvTranspose2d(16, 1, 4, 2, padding)]
        layers += [torch.nn.Tanh()] if tanh else []
        layers += [torch.nn.Flatten()] if flat else []
        return torch.nn.Sequential(*layers)
    return make


def test_dcgan_generator():
    from gantutor.models import DCGANGenerator

    checks.check_dcgan_generator(dcgan_variant())
    checks.check_dcgan_generator(lambda d: DCGANGenerator(latent_dim=d, base_channels=8))
    assert "two ConvTranspose2d" in hint_of(checks.check_dcgan_generator, dcgan_variant(padding=0))
    assert "nn.Tanh()" in hint_of(checks.check_dcgan_generator, dcgan_variant(tanh=False))
    assert "view(-1, 1, 28, 28)" in hint_of(checks.check_dcgan_generator, dcgan_variant(flat=True))

    class Unused(torch.nn.Module):
        def __init__(self, d):
            super().__init__()
            self.g, self.extra = dcgan_variant()(d), torch.nn.Linear(3, 3)

        def forward(self, z):
            return self.g(z)
    assert "receive no gradient" in hint_of(checks.check_dcgan_generator, Unused)


def test_frechet_distance():
    from gantutor.metrics import frechet_distance, psd_sqrt

    checks.check_frechet_distance(frechet_distance)
    checks.check_frechet_distance(lambda a, b: torch.tensor(frechet_distance(a, b)))

    def variant(mean=True, two=2.0, product_of_roots=False):
        def fd(a, b):
            ca, cb = torch.cov(a.T), torch.cov(b.T)
            ra = psd_sqrt(ca)
            cross = (ra @ psd_sqrt(cb)).trace() if product_of_roots else torch.linalg.eigvalsh(ra @ cb @ ra).clamp(min=0).sqrt().sum()
            m = (a.mean(0) - b.mean(0)).square().sum() if mean else 0.0
            return float(m + ca.trace() + cb.trace() - two * cross)
        return fd
    assert "between the means" in hint_of(checks.check_frechet_distance, variant(mean=False))
    assert "dropped the 2" in hint_of(checks.check_frechet_distance, variant(two=1.0))
    assert "commute" in hint_of(checks.check_frechet_distance, variant(product_of_roots=True))


def test_hinge_discriminator_loss():
    checks.check_hinge_discriminator_loss(losses.hinge_discriminator_loss)
    assert "swapped" in hint_of(checks.check_hinge_discriminator_loss, lambda r, f: torch.relu(1 + r).mean() + torch.relu(1 - f).mean())
    assert "Wasserstein" in hint_of(checks.check_hinge_discriminator_loss, lambda r, f: (1 - r).mean() + (1 + f).mean())
    assert "margin is 1" in hint_of(checks.check_hinge_discriminator_loss, lambda r, f: torch.relu(-r).mean() + torch.relu(f).mean())


def test_image_gradient_penalty():
    checks.check_image_gradient_penalty(losses.gradient_penalty)
    checks.check_image_gradient_penalty(gp_variant())
    assert "one norm per pixel" in hint_of(checks.check_image_gradient_penalty, gp_variant(norm_of=lambda g: g.norm(2, dim=1)))
    assert "not ‖∇D‖²" in hint_of(checks.check_image_gradient_penalty, gp_variant(penalty=lambda n: n**2))


def conditional_variant(forward):
    return type("Answer", (checks.ConditionalGeneratorSkeleton,), {"forward": forward})


def test_conditional_forward():
    checks.check_conditional_forward(conditional_variant(
        lambda self, z, y: self.net(torch.cat([z, self.embed(y)], dim=1)).view(-1, 1, 28, 28)))
    assert "no effect" in hint_of(checks.check_conditional_forward, conditional_variant(
        lambda self, z, y: self.net(torch.cat([z, self.embed(torch.zeros_like(y))], dim=1)).view(-1, 1, 28, 28)))
    assert "z first" in hint_of(checks.check_conditional_forward, conditional_variant(
        lambda self, z, y: self.net(torch.cat([self.embed(y), z], dim=1)).view(-1, 1, 28, 28)))
    assert "reshape" in hint_of(checks.check_conditional_forward, conditional_variant(
        lambda self, z, y: self.net(torch.cat([z, self.embed(y)], dim=1))))


# --- Chapter 6: image-to-image translation -------------------------------------------------------
# The wrong answers are written here, independently of the checkers' own lists of known mistakes.
import random

from gantutor import translation


def test_unet_skip(capsys):
    checks.check_unet_skip(models.UNetGenerator.skip)
    checks.check_unet_skip(lambda d, e: torch.cat((d, e), dim=-3))
    assert capsys.readouterr().out.count("✔ Exercise 6.1 passed") == 2
    assert "batch axis" in hint_of(checks.check_unet_skip, lambda d, e: torch.cat([d, e], dim=0))
    assert "spatial axis" in hint_of(checks.check_unet_skip, lambda d, e: torch.cat([d, e], dim=-1))
    assert "spatial axis" in hint_of(checks.check_unet_skip, lambda d, e: torch.cat([e, d], dim=2))
    assert "ResNet-style" in hint_of(checks.check_unet_skip, lambda d, e: d + e)
    assert "decoder's features come first" in hint_of(checks.check_unet_skip, lambda d, e: torch.cat([e, d], dim=1))
    assert "no gradient reaches encoded" in hint_of(checks.check_unet_skip, lambda d, e: torch.cat([d, e.detach()], dim=1))
    assert "no gradient reaches decoded, encoded" in hint_of(checks.check_unet_skip,
                                                                lambda d, e: torch.cat([d, e], dim=1).detach())


def receptive_field_with(stride=True, jump_first=False, dilation=True, add_padding=False):
    """The receptive field, forwards through the layers, with one part changed."""
    def rf(module):
        r, j = 1, 1
        for layer in module.modules():
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
                as_int = lambda v: v if isinstance(v, int) else v[0]  # noqa: E731
                k, s, p = as_int(layer.kernel_size), as_int(layer.stride) if stride else 1, as_int(layer.padding)
                d = as_int(getattr(layer, "dilation", 1)) if dilation else 1
                if jump_first:
                    j *= s
                r += (d * (k - 1) + (2 * p if add_padding else 0)) * j
                if not jump_first:
                    j *= s
        return r
    return rf


def receptive_field_backwards(module):
    """Another right answer: from one output back to the input, r ← s·r + (d·(k − 1) + 1 − s)."""
    layers = [m for m in module.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.MaxPool2d, torch.nn.AvgPool2d))]
    r = 1
    for layer in reversed(layers):
        k, s = torch.nn.modules.utils._pair(layer.kernel_size)[0], torch.nn.modules.utils._pair(layer.stride)[0]
        d = torch.nn.modules.utils._pair(getattr(layer, "dilation", 1))[0]
        r = s * r + d * (k - 1) + 1 - s
    return r


def test_receptive_field(capsys):
    checks.check_receptive_field(models.receptive_field)
    checks.check_receptive_field(receptive_field_with())
    checks.check_receptive_field(receptive_field_backwards)
    assert capsys.readouterr().out.count("✔ Exercise 6.2 passed") == 3
    assert "the stride is ignored" in hint_of(checks.check_receptive_field, receptive_field_with(stride=False))
    assert "*before* widening" in hint_of(checks.check_receptive_field, receptive_field_with(jump_first=True))
    assert "multiply k − 1 by the dilation" in hint_of(checks.check_receptive_field, receptive_field_with(dilation=False))
    assert "padding shifts the field" in hint_of(checks.check_receptive_field, receptive_field_with(add_padding=True))
    assert "return an int" in hint_of(checks.check_receptive_field, lambda m: float(models.receptive_field(m)))

    def convs_only(module):
        return receptive_field_with()(torch.nn.Sequential(*[m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]))
    assert "a pooling layer has a kernel and a stride too" in hint_of(checks.check_receptive_field, convs_only)


def l1(x, y):
    return (x - y).abs().mean()


def test_cycle_consistency_loss(capsys):
    checks.check_cycle_consistency_loss(losses.cycle_consistency_loss)
    checks.check_cycle_consistency_loss(lambda ra, xa, rb, xb, lam: lam * F.l1_loss(xa, ra) + lam * F.l1_loss(xb, rb))
    assert capsys.readouterr().out.count("✔ Exercise 6.3 passed") == 2
    check = checks.check_cycle_consistency_loss
    assert "compares G(F(y)) with x" in hint_of(check, lambda ra, xa, rb, xb, lam: lam * (l1(xa, ra) + l1(xb, ra)))
    assert "the other domain's image" in hint_of(check, lambda ra, xa, rb, xb, lam: lam * (l1(xa, rb) + l1(xb, ra)))
    assert "not the squared one" in hint_of(check, lambda ra, xa, rb, xb, lam: lam * (F.mse_loss(xa, ra) + F.mse_loss(xb, rb)))
    assert "multiply by lambda_cyc" in hint_of(check, lambda ra, xa, rb, xb, lam: l1(xa, ra) + l1(xb, rb))
    assert "not a fixed 10" in hint_of(check, lambda ra, xa, rb, xb, lam: 10.0 * (l1(xa, ra) + l1(xb, rb)))
    assert "|G(F(b)) − b|, is missing" in hint_of(check, lambda ra, xa, rb, xb, lam: lam * l1(xa, ra))
    assert "don't sum them" in hint_of(check, lambda ra, xa, rb, xb, lam: lam * ((xa - ra).abs().sum() + (xb - rb).abs().sum()))
    assert "sends no gradient to reconstructed_b" in hint_of(
        check, lambda ra, xa, rb, xb, lam: lam * (l1(xa, ra) + l1(xb.detach(), rb)))
    assert "not a tensor" in hint_of(check, lambda ra, xa, rb, xb, lam: (lam * (l1(xa, ra) + l1(xb, rb))).item())


class PoolForTests:
    """An image pool written here, independently of the package's; each mistake overrides a part."""

    def __init__(self, size, generator=None):
        self.size, self.generator, self.images = size, generator, []

    def __len__(self):
        return len(self.images)

    def coin(self):
        return torch.rand(1, generator=self.generator).item() < 0.5

    def pick(self):
        return int(torch.randint(len(self.images), (1,), generator=self.generator))

    def one(self, image):
        """The image to return in place of ``image`` (already detached); updates the pool."""
        if len(self.images) < self.size:
            self.images.append(image.clone())
            return image
        if self.coin():
            i = self.pick()
            old, self.images[i] = self.images[i], image.clone()
            return old
        return image

    def query(self, images):
        if self.size == 0:
            return images.detach()
        return torch.stack([self.one(image) for image in images.detach()])


class NoEffectPool(PoolForTests):
    def one(self, image):
        if len(self.images) < self.size:
            self.images.append(image.clone())
        return image


class OverflowingPool(PoolForTests):
    def one(self, image):
        if len(self.images) < self.size:
            self.images.append(image.clone())
            return image
        old = self.images[self.pick()] if self.coin() else image
        self.images.append(image.clone())  # appended forever
        return old


class EarlySwapPool(PoolForTests):
    def one(self, image):
        old = self.images[self.pick()] if self.images and self.coin() else image
        if len(self.images) < self.size:
            self.images.append(image.clone())
        return old


class FrozenPool(PoolForTests):
    def one(self, image):
        if len(self.images) < self.size:
            self.images.append(image.clone())
            return image
        return self.images[self.pick()] if self.coin() else image


class NoDetachPool(PoolForTests):
    def query(self, images):
        return torch.stack([self.one(image) for image in images])  # keeps G's graph, in and out


class StoresGraphPool(PoolForTests):
    def query(self, images):
        out = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image)  # not detached
                out.append(image.detach())
            elif self.coin():
                i = self.pick()
                out.append(self.images[i])
                self.images[i] = image
            else:
                out.append(image.detach())
        return torch.stack(out)


class OffByOnePool(PoolForTests):
    def pick(self):
        return random.randint(0, self.size)  # includes size: IndexError now and then


def test_image_pool(capsys):
    checks.check_image_pool(translation.ImagePool)
    checks.check_image_pool(PoolForTests)
    assert capsys.readouterr().out.count("✔ Exercise 6.4 passed") == 2
    assert "the pool has no effect" in hint_of(checks.check_image_pool, NoEffectPool)
    assert "instead of appending" in hint_of(checks.check_image_pool, OverflowingPool)
    assert "while the pool is not full" in hint_of(checks.check_image_pool, EarlySwapPool)
    assert "follow G's recent fakes" in hint_of(checks.check_image_pool, FrozenPool)
    assert "images = images.detach()" in hint_of(checks.check_image_pool, NoDetachPool)
    assert "store image.detach().clone()" in hint_of(checks.check_image_pool, StoresGraphPool)

    class Unchecked(PoolForTests):  # forgets size = 0
        def query(self, images):
            return torch.stack([self.one(image) for image in images.detach()])
    assert "your function raised" in hint_of(checks.check_image_pool, Unchecked)

    class NotDone(PoolForTests):
        def query(self, images):
            raise NotImplementedError("Exercise 6.4: write query")
    with pytest.raises(NotImplementedError, match="Exercise 6.4 is not done yet"):
        checks.check_image_pool(NotDone)


def pix2pix_gan(lf):
    return F.binary_cross_entropy_with_logits(lf, torch.ones_like(lf))


def test_pix2pix_generator_loss(capsys):
    checks.check_pix2pix_generator_loss(losses.pix2pix_generator_loss)
    checks.check_pix2pix_generator_loss(lambda lf, f, t, lam: pix2pix_gan(lf) + lam * F.l1_loss(f, t))
    assert capsys.readouterr().out.count("✔ Exercise 6.5 passed") == 2
    check = checks.check_pix2pix_generator_loss
    assert "not the squared one" in hint_of(check, lambda lf, f, t, lam: pix2pix_gan(lf) + lam * F.mse_loss(f, t))
    assert "saturating (minimax)" in hint_of(
        check, lambda lf, f, t, lam: -F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf)) + lam * F.l1_loss(f, t))
    assert "λ weights the L1 term" in hint_of(check, lambda lf, f, t, lam: lam * pix2pix_gan(lf) + F.l1_loss(f, t))
    assert "sigmoid was applied twice" in hint_of(
        check, lambda lf, f, t, lam: pix2pix_gan(torch.sigmoid(lf)) + lam * F.l1_loss(f, t))
    assert "not a fixed 100" in hint_of(check, lambda lf, f, t, lam: pix2pix_gan(lf) + 100 * F.l1_loss(f, t))
    assert "underflows" in hint_of(check, lambda lf, f, t, lam: -torch.log(torch.sigmoid(lf)).mean() + lam * F.l1_loss(f, t))
    assert "binary_cross_entropy loses" in hint_of(
        check, lambda lf, f, t, lam: F.binary_cross_entropy(torch.sigmoid(lf), torch.ones_like(lf)) + lam * F.l1_loss(f, t))
    assert "sends no gradient to fake" in hint_of(check, lambda lf, f, t, lam: pix2pix_gan(lf) + lam * F.l1_loss(f.detach(), t))


@pytest.mark.parametrize("check,broken", [
    (checks.check_unet_skip, lambda d, e: torch.cat(d, e, dim=1)),
    (checks.check_receptive_field, lambda m: m.kernel_size[0]),
    (checks.check_cycle_consistency_loss, lambda ra, xa, rb, xb, lam: torch.mm(ra, xa)),
    (checks.check_image_pool, OffByOnePool),
    (checks.check_pix2pix_generator_loss, lambda lf, f, t, lam: torch.mm(lf, f)),
])
def test_a_crash_in_a_chapter_6_answer_is_reported(check, broken):
    message = hint_of(check, broken)
    assert "your function raised" in message and "traceback" in message


# --- Chapter 7: pruning --------------------------------------------------------------------------
# The wrong answers are written here, independently of the checkers' own lists of known mistakes.
from torch import nn

from gantutor import prune


def global_mask(weights, amount, largest=True, per_layer=False, signed=False):
    if per_layer:
        return [global_mask([w], amount)[0] for w in weights]
    scores = torch.cat([(w if signed else w.abs()).flatten() for w in weights])
    threshold_index = round(amount * scores.numel())
    order = scores.argsort(descending=largest)
    flat = torch.zeros_like(scores)
    flat[order[: scores.numel() - threshold_index]] = 1
    return list(m.view_as(w) for m, w in zip(flat.split([w.numel() for w in weights]), weights))


def test_global_magnitude_mask(capsys):
    checks.check_global_magnitude_mask(global_mask)
    assert "✔ Exercise 7.1 passed" in capsys.readouterr().out
    assert "keeps the *smallest*" in hint_of(checks.check_global_magnitude_mask, lambda w, a: global_mask(w, a, largest=False))
    assert "each tensor on its own" in hint_of(checks.check_global_magnitude_mask, lambda w, a: global_mask(w, a, per_layer=True))
    assert "signed weights" in hint_of(checks.check_global_magnitude_mask, lambda w, a: global_mask(w, a, signed=True))
    assert "fraction to *remove*" in hint_of(checks.check_global_magnitude_mask, lambda w, a: global_mask(w, 1 - a))
    assert "one mask per weight" in hint_of(checks.check_global_magnitude_mask,
                                            lambda w, a: torch.cat([m.flatten() for m in global_mask(w, a)]))


def test_cubic_schedule(capsys):
    checks.check_cubic_schedule(prune.cubic_schedule)
    assert "✔ Exercise 7.2 passed" in capsys.readouterr().out

    def unclamped(t, t0, t1, s_i, s_f):
        return s_f + (s_i - s_f) * (1 - (t - t0) / (t1 - t0)) ** 3

    def linear(t, t0, t1, s_i, s_f):
        return s_i + (s_f - s_i) * min(max((t - t0) / (t1 - t0), 0), 1)

    def slow_first(t, t0, t1, s_i, s_f):
        return s_i + (s_f - s_i) * min(max((t - t0) / (t1 - t0), 0), 1) ** 3

    assert "clamp" in hint_of(checks.check_cubic_schedule, unclamped)
    assert "linear ramp" in hint_of(checks.check_cubic_schedule, linear)
    assert "opposite of the schedule" in hint_of(checks.check_cubic_schedule, slow_first)
    assert "not a number" in hint_of(checks.check_cubic_schedule, lambda *a: "0.5")


def remove_channels(conv1, conv2, keep, cut_out_of_second=False, drop_bias=False, invert=False):
    if invert:
        keep = torch.tensor([c for c in range(conv1.out_channels) if c not in keep.tolist()])
    new1 = nn.Conv2d(conv1.in_channels, len(keep), conv1.kernel_size, conv1.stride, conv1.padding)
    new2 = nn.Conv2d(len(keep), conv2.out_channels, conv2.kernel_size, conv2.stride, conv2.padding)
    with torch.no_grad():
        new1.weight.copy_(conv1.weight[keep])
        new1.bias.copy_(torch.zeros(len(keep)) if drop_bias else conv1.bias[keep])
        new2.weight.copy_(conv2.weight[:, keep])
        new2.bias.copy_(conv2.bias)
    if cut_out_of_second:
        new2 = nn.Conv2d(conv2.in_channels, len(keep), conv2.kernel_size, padding=conv2.padding)
    return new1, new2


def test_remove_channels(capsys):
    checks.check_remove_channels(remove_channels)
    checks.check_remove_channels(lambda c1, c2, keep: (prune.keep_out_channels(c1, keep), prune.keep_in_channels(c2, keep)))
    assert capsys.readouterr().out.count("✔ Exercise 7.3 passed") == 2
    assert "*output* channels (dim 0)" in hint_of(checks.check_remove_channels,
                                                 lambda a, b, k: remove_channels(a, b, k, cut_out_of_second=True))
    assert "bias[keep]" in hint_of(checks.check_remove_channels, lambda a, b, k: remove_channels(a, b, k, drop_bias=True))
    assert "*not* in keep" in hint_of(checks.check_remove_channels, lambda a, b, k: remove_channels(a, b, k, invert=True))
    assert "input* axis" in hint_of(checks.check_remove_channels, lambda a, b, k: (remove_channels(a, b, k)[0], b))


def test_low_rank(capsys):
    def svd(W, r):
        U, S, Vh = torch.linalg.svd(W, full_matrices=False)
        return U[:, :r] * S[:r].sqrt(), S[:r].sqrt()[:, None] * Vh[:r]

    checks.check_low_rank(svd)
    assert "✔ Exercise 7.4 passed" in capsys.readouterr().out

    def no_sigma(W, r):
        U, S, Vh = torch.linalg.svd(W, full_matrices=False)
        return U[:, :r], Vh[:r]

    def smallest(W, r):
        U, S, Vh = torch.linalg.svd(W, full_matrices=False)
        return U[:, -r:] * S[-r:], Vh[-r:]

    assert "Σ is missing" in hint_of(checks.check_low_rank, no_sigma)
    assert "*smallest* singular values" in hint_of(checks.check_low_rank, smallest)
    assert "wrong factor shapes" in hint_of(checks.check_low_rank, lambda W, r: (W, torch.eye(W.shape[1])))


def macs_by_hand(model, shape, per_sample=False, params=False, transposed_on_output=False):
    total, x = 0, torch.zeros(shape)
    for layer in (model if isinstance(model, nn.Sequential) else [model]):
        y = layer(x)
        if isinstance(layer, nn.Linear):
            total += y.numel() // layer.out_features * layer.weight.numel()
        elif isinstance(layer, nn.ConvTranspose2d):
            positions = y.numel() // layer.out_channels if transposed_on_output else x.numel() // layer.in_channels
            total += positions * layer.weight.numel()
        elif isinstance(layer, nn.Conv2d):
            total += y.numel() // layer.out_channels * layer.weight.numel()
        x = y
    if params:
        return sum(m.weight.numel() for m in (model if isinstance(model, nn.Sequential) else [model]) if hasattr(m, "weight"))
    return total // shape[0] if per_sample else total


def test_count_macs(capsys):
    checks.check_count_macs(macs_by_hand)
    checks.check_count_macs(prune.count_macs)
    assert capsys.readouterr().out.count("✔ Exercise 7.5 passed") == 2
    assert "number of weights" in hint_of(checks.check_count_macs, lambda m, s: macs_by_hand(m, s, params=True))
    assert "for one image" in hint_of(checks.check_count_macs, lambda m, s: macs_by_hand(m, s, per_sample=True))
    assert "scatters" in hint_of(checks.check_count_macs, lambda m, s: macs_by_hand(m, s, transposed_on_output=True))


# --- 8.x interview drills ----------------------------------------------------------------------

DRILLS = [  # (drill, the reference answer, two typical wrong answers with words of their hints)
    (checks.check_drill_training_step, lambda: reference_step,
     [(lambda: step_with(detach=False), "D's loss flowed back into G"),
      (lambda: step_with(g_loss=lambda lf: F.softplus(lf).mean()), "label 0 (fake)")]),
    (checks.check_drill_global_pruning, lambda: global_mask,
     [(lambda: lambda w, a: global_mask(w, a, largest=False), "keeps the *smallest*"),
      (lambda: lambda w, a: global_mask(w, a, per_layer=True), "each tensor on its own")]),
    (checks.check_drill_gradient_penalty, lambda: losses.gradient_penalty,
     [(lambda: gp_variant(norm_of=lambda g: g.norm(2, dim=1)), "one norm per pixel"),
      (lambda: gp_variant(penalty=lambda n: n**2), "not ‖∇D‖²")]),
    (checks.check_drill_cycle_loss, lambda: losses.cycle_consistency_loss,
     [(lambda: lambda ra, xa, rb, xb, lam: lam * (l1(xa, ra) + l1(xb, ra)), "compares G(F(y)) with x"),
      (lambda: lambda ra, xa, rb, xb, lam: l1(xa, ra) + l1(xb, rb), "multiply by lambda_cyc")]),
    (checks.check_drill_frechet_distance, lambda: __import__("gantutor.metrics", fromlist=["x"]).frechet_distance,
     [(lambda: lambda a, b: (a.mean(0) - b.mean(0)).square().sum(), "wrong"),
      (lambda: lambda a, b: torch.tensor(0.0), "wrong")]),
    (checks.check_drill_fixed_training_step, lambda: reference_step,
     [(lambda: step_with(g_loss=losses.generator_loss_minimax), "saturating loss"),
      (lambda: step_with(zero_grad=False), "call opt.zero_grad()")]),
]


@pytest.mark.parametrize("drill, reference, wrong", DRILLS, ids=lambda d: getattr(d, "exercise", ""))
def test_each_drill_accepts_the_reference_and_rejects_two_wrong_answers_under_its_own_number(drill, reference, wrong, capsys):
    drill(reference())
    assert f"✔ Exercise {drill.exercise} passed" in capsys.readouterr().out
    assert drill.minutes > 0 and drill.same_as != drill.exercise
    for answer, words in wrong:
        message = hint_of(drill, answer())
        assert message.startswith(f"Exercise {drill.exercise}:") and words in message
    checks.check_training_step(reference_step)  # the chapter's own check still reports its own number
    assert "✔ Exercise 1.5 passed" in capsys.readouterr().out


def prune_rows(model, amount):
    for layer in model.modules():
        if isinstance(layer, torch.nn.Linear):
            torch.nn.utils.prune.ln_structured(layer, "weight", amount=amount, n=2, dim=0)
    return model


def prune_rows_like_the_article(model, amount, inverted=True, keep_mask=False, threshold=None):
    """The source article's row pruning with its bugs switched on or off one by one."""
    for layer in model.modules():
        if isinstance(layer, torch.nn.Linear):
            norms = layer.weight.detach().norm(dim=1)
            if threshold is not None:  # an absolute threshold: the share removed depends on the layer's scale
                rows = norms > threshold if inverted else norms <= threshold
            else:
                rows = torch.argsort(norms, descending=inverted)[: round(amount * len(norms))]
            if keep_mask:
                mask = torch.ones_like(layer.weight)
                mask[rows] = 0
                torch.nn.utils.prune.custom_from_mask(layer, "weight", mask)
            else:
                with torch.no_grad():
                    layer.weight[rows] = 0
    return model


def test_prune_rows(capsys):
    import torch.nn.utils.prune  # noqa: F401

    checks.check_prune_rows(prune_rows)
    checks.check_prune_rows(lambda m, a: prune_rows_like_the_article(m, a, inverted=False, keep_mask=True))
    assert capsys.readouterr().out.count("✔ Exercise 8.6 passed") == 2
    assert "the mask is inverted" in hint_of(checks.check_prune_rows, lambda m, a: prune_rows_like_the_article(m, a, keep_mask=True))
    assert "do not last" in hint_of(checks.check_prune_rows, lambda m, a: prune_rows_like_the_article(m, a, inverted=False))
    assert "absolute threshold" in hint_of(
        checks.check_prune_rows, lambda m, a: prune_rows_like_the_article(m, a, inverted=False, keep_mask=True, threshold=1.0))


def test_show_failure_prints_what_a_check_says_of_a_wrong_answer_and_refuses_a_right_one(capsys):
    failure = checks.show_failure(checks.check_prune_rows, lambda m, a: prune_rows_like_the_article(m, a, keep_mask=True))
    assert isinstance(failure, CheckFailure) and "inverted" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="accepted an answer"):
        checks.show_failure(checks.check_prune_rows, prune_rows)


# --- chapter 10: distilling features, cutting channels across a skip ---------------------------

def test_feature_distillation_check_accepts_the_reference_and_names_the_usual_mistakes(capsys):
    from gantutor import prune
    checks.check_feature_distillation_loss(prune.feature_distillation_loss)
    assert "✔ Exercise 10.1 passed" in capsys.readouterr().out
    summed = lambda fs, ft, ps: sum(((p(s) - t.detach()) ** 2).sum() for s, t, p in zip(fs, ft, ps))
    l1 = lambda fs, ft, ps: sum((p(s) - t.detach()).abs().mean() for s, t, p in zip(fs, ft, ps))
    first_only = lambda fs, ft, ps: F.mse_loss(ps[0](fs[0]), ft[0].detach())
    into_teacher = lambda fs, ft, ps: sum(F.mse_loss(p(s), t) for s, t, p in zip(fs, ft, ps))
    assert "you summed the squared errors" in hint_of(checks.check_feature_distillation_loss, summed)
    assert "L1 distance" in hint_of(checks.check_feature_distillation_loss, l1)
    assert "only the first layer" in hint_of(checks.check_feature_distillation_loss, first_only)
    assert "teacher_feature.detach()" in hint_of(checks.check_feature_distillation_loss, into_teacher)


def test_skip_input_channels_check_accepts_the_reference_and_names_the_usual_mistakes(capsys):
    from gantutor import prune
    checks.check_skip_input_channels(prune.skip_input_channels)
    assert "✔ Exercise 10.2 passed" in capsys.readouterr().out
    assert "add decoded_width to keep_encoded" in hint_of(checks.check_skip_input_channels,
                                                          lambda d, e, w: torch.cat([d, e]))
    assert "the decoder's channels first" in hint_of(checks.check_skip_input_channels,
                                                     lambda d, e, w: torch.cat([w + e, d]))
