"""What every check shares: the failure message (input, expected, actual, hint), calling the
learner's function safely, recognising known mistakes, and the loss-checking loop.
"""
from __future__ import annotations

import contextlib
import random
from contextvars import ContextVar
from functools import wraps

import numpy as np
import torch

from gantutor.checks import registry
from gantutor.i18n import t

_LABEL: ContextVar[str | None] = ContextVar("exercise", default=None)  # the number of the check that runs now


class CheckFailure(AssertionError):
    """A learner's answer is wrong; the message says how."""


def _running_as(number: str, check, fn, *, override: bool):
    token = _LABEL.set(number if override else (_LABEL.get() or number))
    try:
        return check(fn)
    finally:
        _LABEL.reset(token)


def exercise(check):
    """Make ``check`` the check of its row in the exercise registry (looked up by the check's name):
    while it runs, its messages carry that row's number."""
    entry = registry.by_check(check.__name__)

    @wraps(check)
    def run(fn):
        return _running_as(entry.number, check, fn, override=False)
    run.exercise = entry.number
    run.__doc__ = f"{'Drill' if entry.chapter == 8 else 'Exercise'} {entry.number}: {check.__doc__}"
    return run


def as_drill(check, name: str):
    """The chapter check ``check``, reporting as the drill registered under ``name`` (the interview
    drills of chapter 8 reuse the chapters' checks: same cases and hints, the drill's number)."""
    entry = registry.by_check(name)
    if entry.drill_of != check.exercise:
        raise ValueError(f"the registry says drill {entry.number} reuses exercise {entry.drill_of or '(none)'}, "
                         f"not {check.exercise}")

    @wraps(check)
    def drill(fn):
        return _running_as(entry.number, check, fn, override=True)
    drill.__name__ = drill.__qualname__ = name
    drill.exercise, drill.minutes, drill.same_as = entry.number, entry.minutes, check.exercise
    drill.__doc__ = (f"Drill {entry.number} (about {entry.minutes} min), checked as exercise {check.exercise}: "
                     f"{check.__wrapped__.__doc__}")
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


def _label() -> str:
    number = _LABEL.get()
    if number is None:
        raise RuntimeError("a check's helper ran outside a check: decorate the check with @exercise")
    return number


def _fmt(x) -> str:
    if isinstance(x, torch.Tensor):
        flat = x.detach().flatten().tolist()
        values = ", ".join(f"{v:.4g}" for v in flat[:6]) + (", ..." if len(flat) > 6 else "")
        return f"tensor of shape {tuple(x.shape)}: [{values}]"
    if isinstance(x, float):
        return f"{x:.6g}"
    return repr(x)


def _fail(problem: str, *, inputs=None, expected=None, actual=None, hint=None):
    lines = [f"Exercise {_label()}: {problem}"]
    for label, value in (("input", inputs), ("expected", expected), ("actual", actual)):
        if value is not None:
            text = "; ".join(f"{k} = {_fmt(v)}" for k, v in value.items()) if isinstance(value, dict) else _fmt(value)
            lines.append(f"  {label + ':':10s}{text}")
    if hint:
        lines.append(f"  hint:     {hint}")
    raise CheckFailure(t("\n".join(lines)))


def _passed(message: str) -> None:
    print(t(f"✔ Exercise {_label()} passed: {message}"))


def _call(fn, *args, inputs: dict | None = None):
    """Call the learner's function; turn 'not done yet' and crashes into clear messages."""
    if not callable(fn):
        raise TypeError(t(
            f"Exercise {_label()}: pass your function itself, e.g. check(my_fn), not its result "
            f"(got a {type(fn).__name__})"
        ))
    try:
        return fn(*args)
    except NotImplementedError:
        raise NotImplementedError(t(
            f"Exercise {_label()} is not done yet: replace the `raise NotImplementedError(...)` line "
            "with your code, run that cell, then run this check again."
        )) from None
    except Exception as err:
        _fail(f"your function raised {type(err).__name__}: {err}",
              inputs=inputs or {f"argument {i + 1}": a for i, a in enumerate(args) if isinstance(a, (torch.Tensor, int, float))},
              hint="the traceback above shows the line in your code that failed")


def _diagnose(actual: torch.Tensor, mistakes, atol: float = 1e-5):
    """The hint of the first known mistake whose value has ``actual``'s shape and values, else None.

    ``mistakes`` holds (value, hint) pairs; a value may be a function that computes the wrong answer
    lazily, and one that cannot be computed on this case (e.g. shapes that do not fit) is skipped.
    """
    for value, hint in mistakes:
        if callable(value):
            try:
                value = value()
            except (RuntimeError, ValueError, IndexError):
                continue
        value = torch.as_tensor(value)
        if value.shape == actual.shape and torch.allclose(actual.detach().double(), value.detach().double(),
                                                          atol=atol, rtol=1e-5, equal_nan=True):
            return hint
    return None


def _missing_grad(out: torch.Tensor, tensors: dict) -> list[str]:
    """The names of the inputs that ``out`` sends no gradient to."""
    if not out.requires_grad:
        return list(tensors)
    grads = torch.autograd.grad(out.sum(), list(tensors.values()), allow_unused=True)
    return [name for name, g in zip(tensors, grads) if g is None or not g.abs().sum()]


@contextlib.contextmanager
def _seeded(seed: int):
    """Seed torch's, Python's and NumPy's global generators, and give them back their state afterwards."""
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def _scalar_loss(out, inputs: dict):
    if not isinstance(out, torch.Tensor):
        _fail(f"returned a {type(out).__name__}, not a tensor", inputs=inputs,
              hint="keep the loss a torch tensor (no .item(), float() or numpy) so that .backward() works")
    if out.numel() != 1:
        _fail(f"returned shape {tuple(out.shape)}, not a scalar", inputs=inputs,
              hint="a loss is one number: average over the batch with .mean()")
    return out.reshape(())


def _logit_cases(n_args: int):
    """Hidden logits: ordinary, zero, and extreme (a confident D) ones, by argument name."""
    gen = torch.Generator().manual_seed(1234)
    pairs = [(torch.randn(8, generator=gen, dtype=torch.float64) * 2, torch.randn(8, generator=gen, dtype=torch.float64) * 2),
             (torch.zeros(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)),
             (torch.tensor([80.0, -80.0, 5.0], dtype=torch.float64), torch.tensor([-120.0, 90.0, 0.5], dtype=torch.float64))]
    names = ("logits_real", "logits_fake")[-n_args:]
    return [dict(zip(names, pair[-n_args:])) for pair in pairs]


_UNSTABLE = ("the loss is not finite for confident logits (|l| ≈ 100): log(sigmoid(l)) underflows to log(0). "
             "Use the stable forms -log σ(l) = F.softplus(-l) and -log(1 - σ(l)) = F.softplus(l), "
             "or F.binary_cross_entropy_with_logits")
_NO_GRAD = "build the loss from the input tensors with torch operations (no .item(), float(), numpy or .detach())"


def _check_loss(fn, reference, mistakes, formula: str, *, n_args: int | None = None, cases=None, trained=None,
                unstable: str = _UNSTABLE, no_grad: str = _NO_GRAD) -> None:
    """The shared driver of the loss checks: reference values, stability, gradient, known mistakes.

    ``cases`` are dicts of fn's arguments by name, in order (by default the hidden logits, for a loss of
    ``n_args`` logits); ``mistakes`` are (fn of the same arguments, hint); ``trained`` names the inputs
    the loss must send gradient to (by default all of them).
    """
    for case in cases if cases is not None else _logit_cases(n_args):
        names = trained if trained is not None else tuple(case)
        args = {k: v.clone().requires_grad_(k in names) if isinstance(v, torch.Tensor) else v for k, v in case.items()}
        out = _scalar_loss(_call(fn, *args.values(), inputs=args), args)
        plain = [v.detach() if isinstance(v, torch.Tensor) else v for v in args.values()]
        expected = reference(*plain)
        if not torch.isfinite(out):
            _fail("the loss is inf or NaN", inputs=args, expected=float(expected), actual=out.item(), hint=unstable)
        if not torch.allclose(out.detach().double(), expected.double(), atol=1e-5, rtol=1e-5):
            hint = _diagnose(out.reshape(()), [(lambda m=m: m(*plain).reshape(()), h) for m, h in mistakes])
            _fail("wrong value", inputs=args, expected=float(expected), actual=out.item(),
                  hint=hint or f"the formula is {formula}")
        missing = _missing_grad(out, {k: args[k] for k in names})
        if missing:
            _fail(f"the loss sends no gradient to {', '.join(missing)}", inputs=args, hint=no_grad)
