"""The Chinese edition of the notebooks, made from the English ones and a catalog per notebook.

``i18n/zh/notebooks/01_minimax.yaml`` (and ``i18n/zh/solutions/…``) holds, for each markdown cell of
the English notebook, keyed by the cell's id, the Chinese text and a hash of the English it
translates::

    cell-3:
      en: 5d0c3a1e9b2f      # sha256 of the English cell, first 12 hex digits
      zh: |
        ## 1.1 价值函数
        …

``twin(nb, catalog, …)`` is the zh notebook: the same cells with the same ids; each markdown cell
from the catalog (relative links rewritten for the zh/ folder); the code the same, except one line
in the first code cell that switches the checks and widgets to Chinese; the stored outputs the
English ones, with what gantutor prints (a check's message, the Interview corner, a widget's stored
text) in Chinese. A cell whose translation is missing or stale (its English changed since) is
reported by ``problems`` and kept in English in the twin until it is translated.

    python -m gantutor.i18n todo notebooks/03_mode_collapse.ipynb [--write]   # what is left to translate
"""
from __future__ import annotations

import copy
import hashlib
import html
import re
from pathlib import Path

import yaml

from gantutor.i18n import CJK, translate_text
from gantutor.stored import widget_state

SWITCH = 'import os; os.environ["GANTUTOR_LANG"] = "zh"  # 中文版：检查、提示与控件用中文\n'
FOLDERS = ("notebooks", "solutions", "exercises")
LINK = re.compile(r"(?P<head>\]\(|src=\")(?P<target>[^)\"\s]+)")
CORNER_NOTE = re.compile(r"\*From the question bank \(ids: (?P<ids>[^)]*)\)\.")


def source_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def catalog_path(root: Path, folder: str, name: str) -> Path:
    return Path(root) / "i18n" / "zh" / folder / f"{Path(name).stem}.yaml"


def load(path: Path) -> dict:
    """A catalog: {cell id: {"en": hash, "zh": text}} (empty when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of cell id to {{en: hash, zh: text}}")
    for key, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("zh"), str) or not isinstance(entry.get("en"), str):
            raise ValueError(f"{path}: entry {key!r} must have `en` (the English cell's hash) and `zh` (its translation)")
    return data


class _Literal(yaml.SafeDumper):
    pass


def _str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Literal.add_representer(str, _str)


def save(path: Path, catalog: dict, nb) -> None:
    """Write ``catalog`` in the notebook's cell order (entries of cells that are gone go last)."""
    order = {c.get("id"): i for i, c in enumerate(nb.cells)}
    entries = dict(sorted(catalog.items(), key=lambda kv: order.get(kv[0], len(order))))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(entries, Dumper=_Literal, allow_unicode=True, sort_keys=False, width=1000)
    path.write_text(text, encoding="utf-8")


def prose_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


def status(nb, catalog: dict) -> list[tuple[int, str, str]]:
    """(cell index, cell id, "missing" | "stale") for each markdown cell without a current translation."""
    out = []
    for i, cell in prose_cells(nb):
        entry = catalog.get(cell.get("id"))
        if entry is None:
            out.append((i, cell.get("id"), "missing"))
        elif entry["en"] != source_hash(cell.source):
            out.append((i, cell.get("id"), "stale"))
    return out


def rekey(nb, catalog: dict) -> int:
    """Move entries to the cell whose English they translate when cells were inserted or moved
    (ids follow positions); returns how many moved."""
    by_hash = {entry["en"]: key for key, entry in catalog.items()}
    moved = 0
    new = dict(catalog)
    for _i, cell in prose_cells(nb):
        cid, h = cell.get("id"), source_hash(cell.source)
        if cid in catalog and catalog[cid]["en"] == h:
            continue
        if h in by_hash and by_hash[h] != cid:
            new[cid] = dict(catalog[by_hash[h]])
            moved += 1
    catalog.clear()
    catalog.update(new)
    return moved


def _relink(text: str, folder: str) -> str:
    """Relative links of a notebook in ``folder``/, rewritten for its twin in ``folder``/zh/."""
    def fix(m):
        target = m["target"]
        if re.match(r"[a-z]+:|#|/", target):
            return m[0]
        path, _, anchor = target.partition("#")
        if "/" not in path and path.endswith(".ipynb"):
            return m[0]  # a sibling chapter: its twin sits beside this one
        parts = path.split("/")
        if len(parts) == 3 and parts[0] == ".." and parts[1] in FOLDERS and parts[2].endswith(".ipynb"):
            path = f"../../{parts[1]}/zh/{parts[2]}"
        else:
            path = "../" + path
        return m["head"] + path + (f"#{anchor}" if anchor else "")
    return LINK.sub(fix, text)


def _corner_zh(markdown: str) -> str | None:
    m = CORNER_NOTE.search(markdown)
    if not m:
        return None
    from gantutor.interview.quiz import corner_markdown
    ids = [s.strip() for s in m["ids"].split(",")]
    if corner_markdown(ids, "en") != markdown:
        return None
    return corner_markdown(ids, "zh")


def _join(x) -> str:
    return "".join(x) if isinstance(x, list) else x


def translate_outputs(cell) -> None:
    """What gantutor printed in ``cell``'s stored outputs, in Chinese (in place)."""
    for out in cell.get("outputs", []):
        if "text" in out:
            out["text"] = translate_text(_join(out["text"]))
        data = out.get("data", {})
        if "text/markdown" in data:
            zh = _corner_zh(_join(data["text/markdown"]))
            if zh is not None:
                data["text/markdown"] = zh
        if "text/plain" in data:
            data["text/plain"] = translate_text(_join(data["text/plain"]))
        if out.get("output_type") == "error":
            out["evalue"] = translate_text(out.get("evalue", ""))
            out["traceback"] = [translate_text(line) for line in out.get("traceback", [])]


def _translate_html(markup: str) -> str:
    """The text between an HTML widget's tags translated (a table of labels and values)."""
    return re.sub(r">([^<>]+)<", lambda m: ">" + html.escape(translate_text(html.unescape(m[1])), quote=False) + "<", markup)


def _translate_widget_state(nb) -> None:
    for model in widget_state(nb).values():
        s = model.get("state", {})
        for key in ("description", "value", "placeholder", "tooltip"):
            if isinstance(s.get(key), str):
                s[key] = _translate_html(s[key]) if s[key].startswith("<") else translate_text(s[key])
        if isinstance(s.get("_options_labels"), list):
            s["_options_labels"] = [translate_text(x) for x in s["_options_labels"]]


def twin(nb, catalog: dict, folder: str):
    """The zh twin of English notebook ``nb`` (in ``folder``/), from ``catalog``. ``nb`` is not changed."""
    zh = copy.deepcopy(nb)
    switched = False
    for cell in zh.cells:
        if cell.cell_type == "markdown":
            entry = catalog.get(cell.get("id"))
            if entry is not None and entry["en"] == source_hash(cell.source):
                cell.source = _relink(entry["zh"].rstrip("\n"), folder)
            else:
                cell.source = _relink(cell.source, folder)
        elif cell.cell_type == "code":
            if not switched:
                cell.source = SWITCH + cell.source
                switched = True
            translate_outputs(cell)
    _translate_widget_state(zh)
    zh.metadata["gantutor_lang"] = "zh"
    return zh


def english_words(markdown: str) -> list[str]:
    """The English words of a markdown cell outside code, math, links' targets and HTML tags."""
    text = re.sub(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\]\([^)]*\)|<[^>]+>|https?://\S+", " ", markdown, flags=re.DOTALL)
    return re.findall(r"\b[A-Za-z]{3,}\b", text)


def looks_chinese(markdown: str) -> bool:
    """True when a translated cell is Chinese (or has no prose to translate: only code, math, names)."""
    return bool(CJK.search(markdown)) or len(english_words(markdown)) <= 2


NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:[.,]\d+)*", re.ASCII)


def numbers_of(text: str) -> list[str]:
    """The numbers a cell quotes (1,234 and 1234 are the same number)."""
    return sorted({n.replace(",", "") for n in NUMBER.findall(text)})


def problems(nb, catalog: dict, label: str) -> list[str]:
    """What keeps the zh twin of ``nb`` from being complete: cells not translated, or stale."""
    out = []
    for i, cid, what in status(nb, catalog):
        out.append(f"{label}: cell {i} ({cid}) has {'no translation' if what == 'missing' else 'a stale translation: its English changed'}")
    ids = {c.get("id") for c in nb.cells}
    out += [f"{label}: the entry {cid} translates no cell (remove it, or run `python -m gantutor.i18n todo`)"
            for cid in catalog if cid not in ids]
    return out


FENCE = re.compile(r"```.*?```", re.DOTALL)
CODE_SPAN = re.compile(r"`[^`]+`")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$]+\$", re.DOTALL)
TARGET = re.compile(r"\]\(([^)\s]+)\)")


def review(english: str, chinese: str) -> list[str]:
    """What a translation of markdown cell ``english`` gets wrong: still English, a number, code span,
    formula or link target not carried over, or a competing term of the glossary."""
    from gantutor.i18n import competing_terms
    out = []
    if not looks_chinese(chinese):
        out.append("not translated: " + " ".join(english_words(chinese)[:8]) + " …")
    lost = sorted(set(numbers_of(english)) - set(numbers_of(chinese)))
    if lost:
        out.append(f"numbers of the English missing: {', '.join(lost)}")
    for what, rx in (("code blocks", FENCE), ("code spans", CODE_SPAN), ("formulas", MATH), ("link targets", TARGET)):
        def found(text):
            text = text if rx is FENCE else FENCE.sub(" ", text)
            return {" ".join(x.split()) for x in rx.findall(text)}
        missing = sorted(found(english) - found(chinese))
        if missing:
            out.append(f"{what} of the English missing: {' | '.join(missing)[:300]}")
    for term, chosen in competing_terms(chinese):
        out.append(f"{term}: the glossary's term is {chosen}")
    return out


def todo_yaml(nb, catalog: dict) -> str:
    """The catalog entries still to write, as YAML with the English text in place of the Chinese."""
    entries = {}
    for i, cid, _what in status(nb, catalog):
        entries[cid] = {"en": source_hash(nb.cells[i].source), "zh": nb.cells[i].source}
    return yaml.dump(entries, Dumper=_Literal, allow_unicode=True, sort_keys=False, width=1000) if entries else ""
