"""Numbers quoted in prose, tied to the committed results so that they cannot drift.

A figure in the question bank or in a notebook's markdown that comes from a benchmark carries,
right after it, a tag naming where it comes from: an HTML comment that Markdown does not show
and that the bank's loader strips::

    the ticket scored 365.9<!--=pruning_gan.ticket.fid--> at 90.6 %<!--=pruning_gan.ticket.sparsity-->
    (+10.3 %<!--=pruning_gan.ticket.fid / pruning_gan.dense.fid - 1-->)

The expression reads ``benchmarks/results/<name>.json`` as ``<name>`` (keys as attributes, or
``name["key with spaces"]``, lists by index) and may use + − × ÷, ``mean``, ``pstdev`` (the spread over seeds), ``min``, ``max``,
``abs``. ``check_tags`` recomputes each one and compares it with the number before the tag at
the number's own precision (a number followed by ``%`` is compared with 100 × the value). A
rerun benchmark that moves a quoted figure thus fails the tests until the prose is updated.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from statistics import mean, pstdev

TAG = re.compile(r"(?P<number>[+−-]?\d[\d,]*(?:\.\d+)?)(?P<percent>\s?%)?(?P<unit>×)?<!--=(?P<expr>.+?)-->")
ANY_TAG = re.compile(r"<!--=.*?-->")


def strip_tags(text: str) -> str:
    """``text`` as a reader sees it: without the tags."""
    return ANY_TAG.sub("", text)


class _Node:
    """A JSON object seen with attribute access (``pruning.dense.fid``) as well as keys."""

    def __init__(self, value, path: str):
        self._value, self._path = value, path

    def __getattr__(self, key):
        return self[key]

    def __getitem__(self, key):
        try:
            value = self._value[key]
        except (KeyError, IndexError, TypeError):
            raise KeyError(f"{self._path} has no {key!r}") from None
        return _Node(value, f"{self._path}.{key}") if isinstance(value, (dict, list)) else value

    def __iter__(self):
        return iter(self._value.values() if isinstance(self._value, dict) else self._value)


def load_results(root: Path) -> dict:
    """Every ``benchmarks/results/*.json`` under ``root``, by file name."""
    folder = Path(root) / "benchmarks" / "results"
    return {p.stem: _Node(json.loads(p.read_text()), p.stem) for p in sorted(folder.glob("*.json"))}


def evaluate(expr: str, results: dict) -> float:
    return float(eval(expr, {"__builtins__": {}, "mean": mean, "pstdev": pstdev, "min": min, "max": max, "abs": abs},
                      dict(results)))


def _as_quoted(value: float, number: str, percent: bool) -> str:
    digits = number.replace(",", "").lstrip("+−-")
    places = len(digits.split(".")[1]) if "." in digits else 0
    value = 100 * value if percent else value
    text = f"{abs(value):,.{places}f}" if "," in number else f"{abs(value):.{places}f}"
    minus = "-" if number[0] == "-" else "−"
    signed = number[0] in "+−-"
    return (minus if value < 0 else "+" if signed else "") + text


def check_tags(text: str, results: dict) -> list[str]:
    """Each tagged number in ``text`` that differs from its recomputed value, as a message."""
    problems = []
    for m in TAG.finditer(text):
        try:
            value = evaluate(m["expr"], results)
        except Exception as err:  # a typo in a tag must say where it is
            problems.append(f"{m['number']}<!--={m['expr']}-->: cannot compute it ({err})")
            continue
        expected = _as_quoted(value, m["number"], bool(m["percent"]))
        if expected != m["number"]:
            problems.append(f"quotes {m['number']}{m['percent'] or ''} but {m['expr']} is now {expected}{m['percent'] or ''}")
    problems += [f"{tag} follows no number" for tag in ANY_TAG.findall(TAG.sub("", text))]
    return problems
