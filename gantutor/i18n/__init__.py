"""The course in two languages: English (the source) and Chinese.

``GANTUTOR_LANG=zh`` (the zh notebooks set it in their first cell) makes the checks, the widgets and
the command line answer in Chinese. The English messages stay the ones the code writes; ``t(text)``
turns a finished English message into Chinese through the patterns of ``gantutor/i18n/zh/*.yaml``,
where ``{1}``, ``{2}``, … stand for the parts that vary (a number, a shape, a nested message)::

    "✔ Exercise {1} passed: {2}": "✔ 练习 {1} 通过：{2}"

A matched part is translated in turn (a check's "passed" line holds the check's own message), and a
line that no pattern matches stays as it is. The same function turns the stored outputs of the English
notebooks into those of their zh twins (``gantutor.i18n.catalog``), so a zh twin shows what a zh kernel
prints. ``glossary.yaml`` fixes one Chinese term per concept.
"""
from __future__ import annotations

import os
import re
import string
from functools import lru_cache
from pathlib import Path

import yaml

LANGS = ("en", "zh")
ENV = "GANTUTOR_LANG"
HERE = Path(__file__).resolve().parent
CJK = re.compile(r"[\u4e00-\u9fff]")


def lang() -> str:
    """The language the learner reads: ``GANTUTOR_LANG`` (en or zh; en when unset)."""
    value = os.environ.get(ENV, "en").strip().lower() or "en"
    if value not in LANGS:
        raise ValueError(f"{ENV} must be one of {', '.join(LANGS)}, got {value!r}")
    return value


def pick(lang_or_none: str | None) -> str:
    """``lang_or_none`` checked, or the learner's language (``lang()``) when it is None."""
    if lang_or_none is None:
        return lang()
    if lang_or_none not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang_or_none!r}")
    return lang_or_none


def t(text: str, lang_: str | None = None) -> str:
    """``text`` (an English message) in the learner's language, or in ``lang_``."""
    return text if pick(lang_) == "en" else translate_text(text)


class Pattern:
    """One English message with its parts that vary (``{1}``, ``{2}``, …) and its Chinese form."""

    def __init__(self, en: str, zh: str, where: str = ""):
        self.en, self.zh, self.where = en, zh, where
        parts, fields, literal, self.pairs = [], [], 0, set()
        for text, field, spec, _conv in string.Formatter().parse(en):
            parts.append(re.escape(text))
            literal += len(text.strip())
            if field is not None:
                if not re.fullmatch(r"\d+", field):
                    raise ValueError(f"{where}: placeholder {{{field}}} in {en!r} must be a number, e.g. {{1}}")
                if spec == "pairs":
                    self.pairs.add(field)
                elif spec:
                    raise ValueError(f"{where}: {{{field}:{spec}}} in {en!r}: the only format is {{N:pairs}}")
                if field in fields:
                    parts.append(f"(?P=p{field})")
                else:
                    parts.append(f"(?P<p{field}>.*?)")
                    fields.append(field)
        if not literal:
            raise ValueError(f"{where}: the pattern {en!r} has no fixed words, it would match any text")
        zh_fields = {f for _, f, _, _ in string.Formatter().parse(zh) if f is not None}
        if zh_fields != set(fields):
            raise ValueError(f"{where}: {en!r} has placeholders {sorted(fields)} but its Chinese has {sorted(zh_fields)}")
        self.fields, self.literal = fields, literal
        self.regex = re.compile("".join(parts), re.DOTALL)

    def apply(self, text: str, depth: int) -> str | None:
        match = self.regex.fullmatch(text)
        if match is None:
            return None
        values = {f: (_translate_pairs if f in self.pairs else _translate_line)(match[f"p{f}"], depth + 1) for f in self.fields}
        return _format(self.zh, values)


def _format(template: str, values: dict) -> str:
    out = []
    for text, field, _spec, _conv in string.Formatter().parse(template):
        out.append(text)
        if field is not None:
            out.append(values[field])
    return "".join(out)


def catalog_files() -> list[Path]:
    return sorted((HERE / "zh").glob("*.yaml"))


@lru_cache(maxsize=1)
def patterns() -> tuple[dict, list[Pattern]]:
    """The Chinese messages: exact ones by English text, and the patterns with parts that vary (most
    fixed words first, so that the most specific pattern wins)."""
    exact, varying = {}, []
    for path in catalog_files():
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(entries, dict):
            raise ValueError(f"{path}: expected a mapping of English message to Chinese message")
        for en, zh in entries.items():
            where = f"{path.name}"
            if not isinstance(en, str) or not isinstance(zh, str) or not zh.strip():
                raise ValueError(f"{where}: the entry {en!r} needs a Chinese text")
            has_fields = any(f is not None for _, f, _, _ in string.Formatter().parse(en))
            if has_fields:
                varying.append(Pattern(en, zh, where))
            else:
                exact[en.replace("{{", "{").replace("}}", "}")] = zh.replace("{{", "{").replace("}}", "}")
    varying.sort(key=lambda p: -p.literal)
    return exact, varying


@lru_cache(maxsize=4096)
def _translate_line(line: str, depth: int = 0) -> str:
    exact, varying = patterns()
    if line in exact:
        return exact[line]
    if depth > 3 or not line.strip():
        return line
    for pattern in varying:
        out = pattern.apply(line, depth)
        if out is not None:
            return out
    return line


PAIR = re.compile(r"(?P<key>[^=;]+?) = (?P<value>.*)", re.DOTALL)


def _translate_pairs(text: str, depth: int) -> str:
    """A check's input line, ``name = value; name = value``: the values translated, the names (code) kept."""
    whole = _translate_line(text, depth)
    if whole != text or " = " not in text:
        return whole
    items = []
    for item in text.split("; "):
        m = PAIR.fullmatch(item)
        items.append(f"{m['key']} = {_translate_line(m['value'], depth)}" if m else _translate_line(item, depth))
    return "；".join(items)


def find(text: str) -> str | None:
    """The English pattern (or exact message) that ``text`` is an instance of, or None."""
    exact, varying = patterns()
    if text in exact:
        return text
    return next((p.en for p in varying if p.regex.fullmatch(text)), None)


def translate_text(text: str) -> str:
    """``text`` with every line that is a known English message in Chinese (others unchanged)."""
    return "".join(_translate_line(line[:-1] if line.endswith("\n") else line) + ("\n" if line.endswith("\n") else "")
                   for line in text.splitlines(keepends=True))


@lru_cache(maxsize=1)
def glossary() -> list[dict]:
    """One Chinese term per concept: dicts with ``en``, ``zh`` and the competing terms to ``avoid``."""
    return yaml.safe_load((HERE / "glossary.yaml").read_text(encoding="utf-8"))


QUOTED = re.compile(r"“[^”]*”|「[^」]*」")


def competing_terms(text: str) -> list[tuple[str, str]]:
    """(term found, the glossary's term) for each competing term in Chinese ``text``. A term quoted
    as a term (“反卷积”) is allowed, and so is an avoided term that is part of the chosen one."""
    text = QUOTED.sub("", text)
    found = []
    for entry in glossary():
        rest = text
        for chosen in entry["zh"].split(" / "):
            rest = rest.replace(chosen, "□")
        found += [(term, entry["zh"]) for term in entry.get("avoid", []) if term in rest]
    return found
