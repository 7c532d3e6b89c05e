"""Every checker accepts the reference and rejects typical wrong answers, each with its own hint."""
import pytest
import torch
import torch.nn.functional as F

from gantutor import checks, losses, theory
from gantutor.checks import CheckFailure


def hint_of(check, answer) -> str:
    with pytest.raises(CheckFailure) as err:
        check(answer)
    message = str(err.value)
    assert "hint:" in message
    return message


def stub(*args):
    raise NotImplementedError("Exercise 1.k: write the body")


ALL_CHECKS = [checks.check_sample_noise, checks.check_discriminator_loss, checks.check_generator_loss_nonsaturating,
              checks.check_gda_step, checks.check_extragradient_step,
              checks.check_optimal_discriminator, checks.check_training_step]


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
    (lambda r, f: torch.tensor(losses.discriminator_loss(r, f).item()), "does not depend on the logits"),
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
