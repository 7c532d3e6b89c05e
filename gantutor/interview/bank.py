"""The question bank: one YAML file (``bank.yaml``), checked against a schema when it loads.

Each entry is a mapping with these fields (``?`` marks the optional ones)::

    id:          lower-case words joined by "-", unique ("optimal-discriminator")
    topic:       one of TOPICS
    difficulty:  easy | medium | hard
    notebook:    the chapter that demonstrates it, from the repository root ("notebooks/01_minimax.ipynb")
    section:     that chapter's section: its number ("3", "4.1") or the title of an unnumbered one
    origin?:     the source document it comes from (one of ORIGINS)
    origin_text?: the question as that document words it (verbatim)
    question:    {en: ..., zh: ...}
    answer:      {en: ..., zh: ...}   the short answer, what you would say first in an interview
    explanation: {en: ..., zh: ...}   the deeper explanation, with the numbers the notebook measured
                 (a figure from a benchmark carries its source tag, ``365.9<!--=pruning_gan.ticket.fid-->``:
                 see ``gantutor.quoted``; the loader strips the tags, the tests recompute them)
    wrong?:      a wrong answer that circulates: {en, zh, why: {en, zh}, notebook, section}
                 (the notebook section whose cell shows it is wrong)
    follow_up?:  the question an interviewer asks next, and its answer:
                 {question: {en, zh}, answer: {en, zh}} (the mock interview asks it)

``load_bank()`` returns the entries as ``Question`` objects (attributes, or keys: ``q["id"]``).
A malformed entry raises ``BankError`` naming the entry and the field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import yaml

from ..quoted import strip_tags

BANK = Path(__file__).with_name("bank.yaml")
LANGS = ("en", "zh")
DIFFICULTIES = ("easy", "medium", "hard")
TOPICS = (
    "basics",          # what a GAN is, how it is trained, what it is for
    "theory",          # the minimax game, optimal D, divergences, convergence
    "training",        # instability, optimisers, tricks
    "mode-collapse",
    "evaluation",      # IS, FID, KID, precision/recall
    "architecture",    # DCGAN and design choices
    "losses",          # non-saturating, WGAN(-GP), LSGAN, hinge
    "conditional",     # cGAN, projection, pix2pix's conditioning
    "translation",     # pix2pix, CycleGAN
    "models",          # GANs vs VAEs vs diffusion, text, applications
    "pruning",
    "compression",     # quantisation, distillation, low rank, Deep Compression, ONNX deployment
    "teaching",        # what teachers ask: grading GAN code, checks that cannot be fooled, a class's lab
)
ORIGINS = (  # the course's source documents (../shared/seeds/ in the authors' workspace)
    "000_210d99f548ec2e09.txt",
    "001_9dafaa4bf4d11823.txt",
    "002_1a74b8a0fde3d049.txt",
    "003_4919ffb1877dc778.txt",
    "004_6288778008a1c293.txt",
)
ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class BankError(ValueError):
    """The bank file breaks the schema; the message names the entry and the field."""


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    difficulty: str
    notebook: str
    section: str
    question: dict
    answer: dict
    explanation: dict
    origin: str | None = None
    origin_text: str | None = None
    wrong: dict | None = None
    follow_up: dict | None = None

    def __getitem__(self, key):
        if key not in {f.name for f in fields(self)}:
            raise KeyError(key)
        return getattr(self, key)

    def text(self, field: str, lang: str = "en") -> str:
        """``question``, ``answer`` or ``explanation`` in ``lang`` ("en" or "zh")."""
        if lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
        return getattr(self, field)[lang]


REQUIRED = ("id", "topic", "difficulty", "notebook", "section", "question", "answer", "explanation")
OPTIONAL = ("origin", "origin_text", "wrong", "follow_up")


def _bilingual(value, where: str, field: str) -> dict:
    if not isinstance(value, dict):
        raise BankError(f"{where}: field {field!r} must be a mapping with keys {LANGS}, got {type(value).__name__}")
    for lang in LANGS:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            raise BankError(f"{where}: field '{field}.{lang}' is missing or empty (every text needs both languages)")
    return {lang: strip_tags(value[lang]).strip() for lang in LANGS}  # the figures' source tags are for the tests


def _text(value, where: str, field: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and field == "section":
        value = str(value)  # section: 3 written without quotes
    if not isinstance(value, str) or not value.strip():
        raise BankError(f"{where}: field {field!r} must be a non-empty string, got {value!r}")
    return value.strip()


def _notebook(value, where: str, field: str) -> str:
    path = _text(value, where, field)
    if not re.fullmatch(r"(notebooks|solutions)/\d\d_\w+\.ipynb", path):
        raise BankError(f"{where}: field {field!r} must look like 'notebooks/NN_name.ipynb', got {path!r}")
    return path


def validate_entry(raw, index: int) -> Question:
    """One entry of the YAML list as a ``Question``, or a ``BankError`` naming it and the field."""
    where = f"bank entry #{index + 1}"
    if not isinstance(raw, dict):
        raise BankError(f"{where}: must be a mapping of fields, got {type(raw).__name__}")
    if isinstance(raw.get("id"), str):
        where = f"bank entry {raw['id']!r} (#{index + 1})"
    missing = [f for f in REQUIRED if f not in raw]
    if missing:
        raise BankError(f"{where}: field {missing[0]!r} is missing (required: {', '.join(REQUIRED)})")
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise BankError(f"{where}: field {unknown[0]!r} is not in the schema (allowed: {', '.join(REQUIRED + OPTIONAL)})")
    ident = _text(raw["id"], where, "id")
    if not ID.match(ident):
        raise BankError(f"{where}: field 'id' must be lower-case words joined by '-', got {ident!r}")
    if raw["topic"] not in TOPICS:
        raise BankError(f"{where}: field 'topic' must be one of {', '.join(TOPICS)}; got {raw['topic']!r}")
    if raw["difficulty"] not in DIFFICULTIES:
        raise BankError(f"{where}: field 'difficulty' must be one of {DIFFICULTIES}, got {raw['difficulty']!r}")
    entry = {
        "id": ident, "topic": raw["topic"], "difficulty": raw["difficulty"],
        "notebook": _notebook(raw["notebook"], where, "notebook"), "section": _text(raw["section"], where, "section"),
        **{f: _bilingual(raw[f], where, f) for f in ("question", "answer", "explanation")},
    }
    if raw.get("origin") is not None:
        if raw["origin"] not in ORIGINS:
            raise BankError(f"{where}: field 'origin' must be one of the source documents {ORIGINS}, got {raw['origin']!r}")
        entry["origin"] = raw["origin"]
    if raw.get("origin_text") is not None:
        if "origin" not in entry:
            raise BankError(f"{where}: field 'origin_text' needs an 'origin' (which document it quotes)")
        entry["origin_text"] = _text(raw["origin_text"], where, "origin_text")
    if raw.get("wrong") is not None:
        wrong = raw["wrong"]
        if not isinstance(wrong, dict):
            raise BankError(f"{where}: field 'wrong' must be a mapping (en, zh, why, notebook, section)")
        extra = sorted(set(wrong) - {"en", "zh", "why", "notebook", "section"})
        if extra:
            raise BankError(f"{where}: field 'wrong.{extra[0]}' is not in the schema (allowed: en, zh, why, notebook, section)")
        for f in ("why", "notebook", "section"):
            if f not in wrong:
                raise BankError(f"{where}: field 'wrong.{f}' is missing (a wrong answer says why, and where a cell shows it)")
        entry["wrong"] = {**_bilingual(wrong, where, "wrong"), "why": _bilingual(wrong["why"], where, "wrong.why"),
                          "notebook": _notebook(wrong["notebook"], where, "wrong.notebook"),
                          "section": _text(wrong["section"], where, "wrong.section")}
    if raw.get("follow_up") is not None:
        follow = raw["follow_up"]
        if not isinstance(follow, dict) or set(follow) != {"question", "answer"}:
            got = sorted(follow) if isinstance(follow, dict) else type(follow).__name__
            raise BankError(f"{where}: field 'follow_up' must be a mapping with exactly question and answer, got {got}")
        entry["follow_up"] = {f: _bilingual(follow[f], where, f"follow_up.{f}") for f in ("question", "answer")}
    return Question(**entry)


def parse_bank(text: str, source: str = "bank") -> list[Question]:
    """Parse and validate a bank's YAML text (a list of entries)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise BankError(f"{source} is not valid YAML: {err}") from None
    if not isinstance(raw, list) or not raw:
        raise BankError(f"{source} must be a non-empty YAML list of entries, got {type(raw).__name__}")
    bank = [validate_entry(item, i) for i, item in enumerate(raw)]
    seen = {}
    for i, q in enumerate(bank):
        if q.id in seen:
            raise BankError(f"bank entry {q.id!r} (#{i + 1}): field 'id' repeats entry #{seen[q.id] + 1}")
        seen[q.id] = i
    return bank


@lru_cache(maxsize=None)
def _load(path: str, mtime: float) -> tuple[Question, ...]:
    return tuple(parse_bank(Path(path).read_text(encoding="utf-8"), source=path))


def load_bank(path: str | Path | None = None) -> list[Question]:
    """Every question of the bank (``gantutor/interview/bank.yaml`` unless ``path`` is given), validated."""
    path = Path(path) if path is not None else BANK
    if not path.is_file():
        raise FileNotFoundError(f"no question bank at {path}")
    return list(_load(str(path), path.stat().st_mtime))


def by_id(bank: list[Question] | None = None) -> dict[str, Question]:
    """The bank as {id: Question}."""
    return {q.id: q for q in (bank if bank is not None else load_bank())}


def section_headings(notebook: Path) -> list[str]:
    """The markdown headings of a notebook, without their '#'s ("3. The optimal discriminator")."""
    import json
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [line.lstrip("#").strip() for c in cells if c["cell_type"] == "markdown"
            for line in "".join(c["source"]).splitlines() if line.startswith("#")]


def has_section(headings: list[str], section: str) -> bool:
    """Whether a section ("3", "4.1" or an unnumbered title) is among the headings."""
    if re.fullmatch(r"\d+(\.\d+)*", section):
        return any(re.match(re.escape(section) + r"\.?\s", h + " ") for h in headings)  # "4" is "4. …", not "4.1 …"
    return any(h.lower().startswith(section.lower()) for h in headings)


def check_links(bank: list[Question], root: Path) -> list[str]:
    """Each entry whose notebook or section does not exist under ``root``, as a message."""
    problems, cache = [], {}
    for q in bank:
        links = [("notebook", q.notebook, q.section)]
        if q.wrong:
            links.append(("wrong.notebook", q.wrong["notebook"], q.wrong["section"]))
        for field, nb, section in links:
            path = root / nb
            if not path.is_file():
                problems.append(f"bank entry {q.id!r}: field {field!r} names {nb}, which does not exist")
                continue
            headings = cache.setdefault(nb, section_headings(path))
            if not has_section(headings, section):
                problems.append(f"bank entry {q.id!r}: {nb} has no section {section!r}")
    return problems


@lru_cache(maxsize=None)
def _headings(path: Path) -> tuple[str, ...]:
    return tuple(section_headings(path)) if path.is_file() else ()


def section_label(notebook: str, section: str, lang: str = "en", root: Path | None = None) -> str:
    """Where to read: "notebooks/07_pruning.ipynb § 3. Global vs layer-wise …", the heading in
    ``lang`` (zh: the Chinese twin's heading at the same place, and its path)."""
    root = Path(root or Path(__file__).resolve().parents[2])
    english = _headings(root / notebook)
    found = [h for h in english if has_section([h], section)]
    heading, path = (found[0] if found else section), notebook
    if lang == "zh":
        path = notebook.replace("/", "/zh/", 1)
        chinese = _headings(root / path)
        if found and len(chinese) == len(english):  # the twin has the same cells
            heading = chinese[english.index(found[0])]
    return f"{path} § {heading}"
