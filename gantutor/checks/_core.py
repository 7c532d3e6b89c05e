"""What every check shares: the failure message (input, expected, actual, hint), calling the
learner's function safely, recognising known mistakes, and the loss-checking loop.
"""
from __future__ import annotations

from contextvars import ContextVar
from functools import wraps

import torch

_RELABEL: ContextVar[str | None] = ContextVar("relabel", default=None)  # set while a check runs as a drill


class CheckFailure(AssertionError):
    """A learner's answer is wrong; the message says how."""


def exercise(ident: str):
    """Mark a check with the exercise it checks ("1.2"); a test matches it to the notebooks."""
    def mark(check):
        check.exercise = ident
        return check
    return mark


def as_drill(check, ident: str, minutes: int):
    """The same check, reporting as exercise ``ident`` (the interview drills of chapter 8 reuse the chapters' checks).

    ``minutes`` is the time an interviewer would give; the drill's docstring states it.
    """
    @wraps(check)
    def drill(fn):
        token = _RELABEL.set(ident)
        try:
            return check(fn)
        finally:
            _RELABEL.reset(token)
    drill.exercise, drill.minutes, drill.same_as = ident, minutes, check.exercise
    drill.__doc__ = f"Drill {ident} (about {minutes} min), checked as exercise {check.exercise}: {check.__doc__}"
    return drill


def show_failure(check, answer) -> CheckFailure:
    """Run ``check`` on an answer known to be wrong and print what it says (a notebook shows a bug
    being caught this way). Returns the failure; raises if the check let the answer pass."""
    try:
        check(answer)
    except CheckFailure as failure:
        print(failure)
        return failure
    raise AssertionError(f"{check.__name__} accepted an answer that was shown as wrong")


def _label(exercise: str) -> str:
    return _RELABEL.get() or exercise


def _fmt(x) -> str:
    if isinstance(x, torch.Tensor):
        flat = x.detach().flatten().tolist()
        values = ", ".join(f"{v:.4g}" for v in flat[:6]) + (", ..." if len(flat) > 6 else "")
        return f"tensor of shape {tuple(x.shape)}: [{values}]"
    if isinstance(x, float):
        return f"{x:.6g}"
    return repr(x)


def _fail(exercise: str, problem: str, *, inputs=None, expected=None, actual=None, hint=None):
    lines = [f"Exercise {_label(exercise)}: {problem}"]
    for label, value in (("input", inputs), ("expected", expected), ("actual", actual)):
        if value is not None:
            text = "; ".join(f"{k} = {_fmt(v)}" for k, v in value.items()) if isinstance(value, dict) else _fmt(value)
            lines.append(f"  {label + ':':10s}{text}")
    if hint:
        lines.append(f"  hint:     {hint}")
    raise CheckFailure("\n".join(lines))


def _passed(exercise: str, message: str) -> None:
    print(f"✔ Exercise {_label(exercise)} passed: {message}")


def _call(fn, exercise: str, *args, inputs: dict | None = None):
    """Call the learner's function; turn 'not done yet' and crashes into clear messages."""
    if not callable(fn):
        raise TypeError(
            f"Exercise {_label(exercise)}: pass your function itself, e.g. check(my_fn), not its result "
            f"(got a {type(fn).__name__})"
        )
    try:
        return fn(*args)
    except NotImplementedError:
        raise NotImplementedError(
            f"Exercise {_label(exercise)} is not done yet: replace the `raise NotImplementedError(...)` line "
            "with your code, run that cell, then run this check again."
        ) from None
    except Exception as err:
        _fail(exercise, f"your function raised {type(err).__name__}: {err}",
              inputs=inputs or {f"argument {i + 1}": a for i, a in enumerate(args) if isinstance(a, (torch.Tensor, int, float))},
              hint="the traceback above shows the line in your code that failed")


def _diagnose(actual, mistakes, atol=1e-5):
    """The hint of the first known mistake whose value matches ``actual``, else None."""
    for value, hint in mistakes:
        if torch.allclose(actual.double(), torch.as_tensor(value).double(), atol=atol, equal_nan=True):
            return hint
    return None


def _scalar_loss(out, exercise: str, inputs: dict):
    if not isinstance(out, torch.Tensor):
        _fail(exercise, f"returned a {type(out).__name__}, not a tensor", inputs=inputs,
              hint="keep the loss a torch tensor (no .item(), float() or numpy) so that .backward() works")
    if out.numel() != 1:
        _fail(exercise, f"returned shape {tuple(out.shape)}, not a scalar", inputs=inputs,
              hint="a loss is one number: average over the batch with .mean()")
    return out.reshape(())


def _loss_cases(generator: torch.Generator):
    """Hidden logits: ordinary, zero, and extreme (a confident D) ones."""
    yield torch.randn(8, generator=generator, dtype=torch.float64) * 2, torch.randn(8, generator=generator, dtype=torch.float64) * 2
    yield torch.zeros(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    yield torch.tensor([80.0, -80.0, 5.0], dtype=torch.float64), torch.tensor([-120.0, 90.0, 0.5], dtype=torch.float64)


_UNSTABLE = ("the loss is not finite for confident logits (|l| ≈ 100): log(sigmoid(l)) underflows to log(0). "
             "Use the stable forms -log σ(l) = F.softplus(-l) and -log(1 - σ(l)) = F.softplus(l), "
             "or F.binary_cross_entropy_with_logits")


def _check_loss(fn, exercise: str, reference, mistakes, formula: str, n_args: int) -> None:
    """Shared driver of the loss checks: reference values, stability, gradient, known mistakes."""
    gen = torch.Generator().manual_seed(1234)
    for case in _loss_cases(gen):
        args = [a.clone().requires_grad_(True) for a in case[-n_args:]]
        inputs = dict(zip(("logits_real", "logits_fake")[-n_args:], args))
        out = _scalar_loss(_call(fn, exercise, *args, inputs=inputs), exercise, inputs)
        expected = reference(*[a.detach() for a in args])
        if not torch.isfinite(out):
            _fail(exercise, "the loss is inf or NaN", inputs=inputs, expected=float(expected), actual=out.item(), hint=_UNSTABLE)
        if not torch.allclose(out.double(), expected.double(), atol=1e-5, rtol=1e-5):
            hint = _diagnose(out.detach(), [(m(*[a.detach() for a in args]), h) for m, h in mistakes])
            _fail(exercise, "wrong value", inputs=inputs, expected=float(expected), actual=out.item(),
                  hint=hint or f"the formula is {formula}")
        if not out.requires_grad:
            _fail(exercise, "the loss does not depend on the logits through autograd", inputs=inputs,
                  hint="build the loss from the input tensors with torch operations (no .item(), numpy or .detach())")
