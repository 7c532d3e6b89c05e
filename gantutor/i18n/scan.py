"""The English messages that gantutor's code can show a learner, read from the source: every prose
string of the checks (``gantutor/checks/*.py``, docstrings aside), and every string given to ``t(…)``
elsewhere. An f-string's parts that vary become ``{1}``, ``{2}``, … as in the catalogs of
``gantutor/i18n/zh/``; tests/test_i18n.py requires a Chinese entry for each.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
PROSE_WORD = re.compile(r"[A-Za-z]{3,}")


def _skeleton(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if isinstance(node, ast.JoinedStr):
        parts, k = [], 0
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(v.value.replace("{", "{{").replace("}", "}}"))
            else:
                k += 1
                parts.append(f"{{{k}}}")
        return "".join(parts)
    return None


def _docstrings(tree) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def is_prose(text: str) -> bool:
    return " " in text.strip() and bool(PROSE_WORD.search(text))


def messages_of(path: Path, every_string: bool) -> list[tuple[int, str]]:
    """(line, skeleton) of the messages in module ``path``: with ``every_string``, all prose strings
    but docstrings; otherwise the first argument of each ``t(…)`` call."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    found = []
    if every_string:
        skip = _docstrings(tree)
        inner = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
        for node in ast.walk(tree):
            if id(node) in skip or id(node) in inner:
                continue
            text = _skeleton(node)
            if text is not None and is_prose(text):
                found.append((node.lineno, text))
    else:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t" and node.args:
                text = _skeleton(node.args[0])
                if text is not None:
                    found.append((node.lineno, text))
    return sorted(found)


def all_messages() -> dict[str, list[tuple[int, str]]]:
    """Every module's messages, by path relative to the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("i18n/"):
            continue
        found = messages_of(path, every_string=rel.startswith("checks/") and rel != "checks/registry.py")
        if found:
            out[rel] = found
    return out


def untranslated(modules=()) -> list[tuple[str, int, str]]:
    """(module, line, skeleton) of each message that no entry of ``gantutor/i18n/zh/`` translates, in
    ``modules`` (paths relative to the package, e.g. ``checks/minimax.py``; all when empty). A
    skeleton's ``{1}``, ``{2}``, … are tried as stand-in values, and ``{{``/``}}`` as literal braces."""
    from gantutor.i18n import find
    missing = []
    for module, found in all_messages().items():
        if modules and module not in modules:
            continue
        for line, text in found:
            sample = re.sub(r"(?<!\{)\{(\d+)\}(?!\})", lambda m: f"⟨{m[1]}⟩", text).replace("{{", "{").replace("}}", "}")
            if find(sample) is None:
                missing.append((module, line, text))
    return missing
