"""Translators' tools.

    python -m gantutor.i18n todo notebooks/03_mode_collapse.ipynb [--write]
        the notebook's markdown cells that have no current Chinese translation, as catalog entries
        (with the English in place of the Chinese); --write adds them to the catalog, to translate there
    python -m gantutor.i18n messages [checks/minimax.py ...] [--write FILE]
        the English messages of the package that no pattern of gantutor/i18n/zh/ translates, as
        entries to translate; --write adds them to FILE (e.g. gantutor/i18n/zh/checks_minimax.yaml)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

from gantutor.i18n import catalog, patterns
from gantutor.i18n.catalog import _Literal
from gantutor.i18n.scan import untranslated


def _root() -> Path:
    return Path(__file__).resolve().parents[2]


def todo(path: Path, write: bool) -> int:
    path = Path(path).resolve()
    folder = path.parent.name
    nb = nbformat.read(path, as_version=4)
    where = catalog.catalog_path(_root(), folder, path.name)
    cat = catalog.load(where)
    moved = catalog.rekey(nb, cat)
    text = catalog.todo_yaml(nb, cat)
    if write:
        cat.update(yaml.safe_load(text) or {})
        catalog.save(where, cat, nb)
        added = len(yaml.safe_load(text) or {})
        print(f"{where}: {added} cells added with their English, to translate there (entries moved to their cells: {moved})")
    else:
        print(text or f"# {path.name}: every markdown cell is translated", end="" if text else "\n")
    return 0


def review(paths: list[Path]) -> int:
    """Each translated cell's problems (see catalog.review); exit 1 when any."""
    bad = 0
    for path in paths:
        path = Path(path).resolve()
        nb = nbformat.read(path, as_version=4)
        cat = catalog.load(catalog.catalog_path(_root(), path.parent.name, path.name))
        for line in catalog.problems(nb, cat, path.name):
            print(line)
            bad += 1
        for i, cell in catalog.prose_cells(nb):
            entry = cat.get(cell.get("id"))
            if entry is None or entry["en"] != catalog.source_hash(cell.source):
                continue
            for problem in catalog.review(cell.source, entry["zh"]):
                print(f"{path.name}: cell {i} ({cell.get('id')}): {problem}")
                bad += 1
    print(f"{bad} problems" if bad else "no problems")
    return 1 if bad else 0


def messages(modules: list[str], write: Path | None) -> int:
    patterns.cache_clear()
    missing = {text: text for _module, _line, text in untranslated(modules)}
    text = yaml.dump(missing, Dumper=_Literal, allow_unicode=True, sort_keys=False, width=1000) if missing else ""
    if write:
        write = Path(write)
        old = yaml.safe_load(write.read_text(encoding="utf-8")) if write.exists() else {}
        old = old or {}
        old.update({k: v for k, v in missing.items() if k not in old})
        write.write_text(yaml.dump(old, Dumper=_Literal, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
        print(f"{write}: {len(missing)} messages added, to translate")
    else:
        print(text or "# every message has a Chinese entry", end="" if text else "\n")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gantutor.i18n", description="Translators' tools")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("todo", help="a notebook's cells still to translate")
    p.add_argument("path", type=Path)
    p.add_argument("--write", action="store_true")
    p = sub.add_parser("review", help="check notebooks' translations (numbers, code, links, terms)")
    p.add_argument("paths", nargs="+", type=Path)
    p = sub.add_parser("messages", help="the package's messages still to translate")
    p.add_argument("modules", nargs="*", help="e.g. checks/minimax.py (default: all)")
    p.add_argument("--write", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "todo":
        return todo(args.path, args.write)
    if args.command == "review":
        return review(args.paths)
    return messages(args.modules, args.write)


if __name__ == "__main__":
    sys.exit(main())
