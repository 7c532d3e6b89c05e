"""Build ``exercises/`` from ``solutions/`` (the single source), and check that they are in sync.

In a solution notebook, the code a learner writes sits between two marker lines (the nbgrader
convention)::

    def discriminator_loss(logits_real, logits_fake):
        ### BEGIN SOLUTION
        return F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean()
        ### END SOLUTION

The exercise notebook gets, in its place, ``raise NotImplementedError("Exercise 1.2: ...")`` with
the same indentation. The exercise's number comes from the exercise registry
(``gantutor/checks/registry.py``), found by the chapter (the notebook's number prefix: ``01_minimax``
→ 1) and the function whose body the block is; so does the number in the exercise's heading
(``## Exercise 1.2 — …``, ``## Drill 8.1 — … (10 min)``). A block that the registry does not know and
a registered exercise without its block are errors; ``build`` first writes the registry's numbers
into the solutions' headings (and chapter 8's table of drills), so renumbering the course is an
edit of the registry and a build, and ``--check`` reports a heading that disagrees. Outputs are cleared (and with them
the ``# NBVAL_CHECK_OUTPUT`` markers, which would have nothing to compare), and every cell
that calls a ``check_*`` function is tagged ``raises-exception`` so that "Run All" and nbval go on
past the checks of exercises not done yet.

A learner may fill in ``exercises/`` in place. ``build`` never loses that work: an exercise
notebook whose code differs from what was generated is copied to ``exercises/.backup/`` before
it is rewritten.

    python -m gantutor.course build      # write exercises/
    python -m gantutor.course --check    # exit 1 when exercises/ is out of date

Its command also stores the chapters as a reader sees them without a kernel (``gantutor.stored``)::

    python -m gantutor.course store notebooks/04_dcgan.ipynb [--no-execute]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat

from gantutor.checks import registry
from gantutor.i18n import catalog
from gantutor.stored import NEEDS_KERNEL, WIDGET_STATE, WIDGET_VIEW, store, stored_problems, tidy_outputs  # noqa: F401

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\b.*$")
END = re.compile(r"^[ \t]*### END SOLUTION\b.*$")
DEF = re.compile(r"^[ \t]*def (?P<name>\w+)\(")
CHECK_CALL = re.compile(r"\bcheck_\w+\(")
CHAPTER = re.compile(r"^(?P<num>\d+)_")
TABLE_ROW = re.compile(r"^\| (?P<number>\d+\.\d+) \|.*\| (?P<minutes>\d+) min \|", re.MULTILINE)  # chapter 8's list of drills
HEADING = re.compile(r"^#+ (?P<label>(?:Exercise|Drill) \d+\.\d+)\b.*?(?:\((?P<minutes>\d+) min\))?[ \t]*$", re.MULTILINE)
CHECK_OUTPUT = re.compile(r"^[ \t]*# NBVAL_CHECK_OUTPUT[ \t]*\n?", re.MULTILINE)
BANNER = (
    "> **Exercise notebook** (generated from `solutions/{name}`). Fill in every cell that says "
    "`raise NotImplementedError`, run it, then run the check below it: the check says what is right "
    "or what is wrong. Your edits are yours: rebuilding the exercises backs them up to "
    "`exercises/.backup/` first."
)
BANNER_ZH = (
    "> **练习笔记本**（由 `solutions/zh/{name}` 生成）。把每个写着 `raise NotImplementedError` 的单元格"
    "换成你的代码并运行，再运行它下面的检查：检查会告诉你哪里对、哪里错。你的修改归你所有：重新生成练习之前，"
    "它们会先被备份到 `exercises/zh/.backup/`。"
)


class MarkerError(ValueError):
    """A solution notebook has unbalanced BEGIN/END SOLUTION markers."""


def repo_root() -> Path:
    """The course checkout this module lives in (an editable install)."""
    return Path(__file__).resolve().parents[1]


def chapter_of(path: Path) -> int:
    match = CHAPTER.match(path.name)
    if not match:
        raise ValueError(f"notebook name {path.name!r} must start with its chapter number, e.g. 01_minimax.ipynb")
    return int(match["num"])


def strip_solution(source: str, number_of, where: str) -> tuple[str, list[str]]:
    """Replace each solution block in ``source``; return the new source and the blocks' exercise numbers.

    ``number_of(function, where)`` gives the number of the exercise whose body is ``function``.
    """
    out, inside, numbers, func = [], False, [], None
    for lineno, line in enumerate(source.splitlines(), 1):
        if (m := DEF.match(line)) and not inside:
            func = m["name"]
        if m := BEGIN.match(line):
            if inside:
                raise MarkerError(f"{where}, line {lineno}: BEGIN SOLUTION inside another solution block")
            inside = True
            numbers.append(number_of(func, f"{where}, line {lineno}"))
            task = f"write the body of {func}()" if func else "write your code here"
            out.append(f'{m["indent"]}raise NotImplementedError("Exercise {numbers[-1]}: {task}")')
        elif END.match(line):
            if not inside:
                raise MarkerError(f"{where}, line {lineno}: END SOLUTION without a BEGIN SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{where}: BEGIN SOLUTION without an END SOLUTION")
    return "\n".join(out), numbers


def _numbering(chapter: int, name: str, exercises):
    """The registry's numbers for the solution blocks of chapter ``chapter``, by the function each block is the body of."""
    rows = {ex.stub_name: ex.number for ex in registry.of_chapter(chapter, exercises)}

    def number_of(func: str | None, where: str) -> str:
        if func not in rows:
            known = ", ".join(f"{n} {f}()" for f, n in rows.items()) or "none"
            raise MarkerError(f"{where}: the solution block in {func or 'no function'}() is not an exercise of chapter "
                              f"{chapter} in the registry (gantutor/checks/registry.py; its rows for {name}: {known})")
        return rows[func]
    return number_of


def _heading(ex) -> str:
    if ex.chapter == 8:
        return f"Drill {ex.number}"
    return f"Exercise {ex.number}"


def _check_headings(nb, numbers: list[str], name: str, exercises) -> None:
    """Each exercise's heading, in order, names the number (and a drill's minutes) the registry gives it."""
    headings = [(i, m) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                for m in HEADING.finditer(c.source)]
    if len(headings) != len(numbers):
        raise MarkerError(f"{name}: {len(headings)} exercise headings (## Exercise N.M — …) for {len(numbers)} solution blocks")
    for (i, m), number in zip(headings, numbers):
        ex = registry.by_number(number, exercises)
        if m["label"] != _heading(ex) or (ex.minutes and m["minutes"] != str(ex.minutes)):
            expected = _heading(ex) + (f" … ({ex.minutes} min)" if ex.minutes else "")
            raise MarkerError(f"{name}, cell {i}: the heading {m[0]!r} should read {expected!r}: the registry numbers "
                              f"{ex.stub_name}() as {number}")


def _check_drill_table(nb, chapter: int, name: str, exercises) -> None:
    """A table of drills (``| 8.1 | task | 10 min | …``), where a notebook has one, lists the registry's
    drills of the chapter with their minutes, in order."""
    rows = [(m["number"], int(m["minutes"])) for c in nb.cells if c.cell_type == "markdown" for m in TABLE_ROW.finditer(c.source)]
    expected = [(ex.number, ex.minutes) for ex in registry.of_chapter(chapter, exercises) if ex.minutes]
    if rows and rows != expected:
        raise MarkerError(f"{name}: its table of drills lists {rows}; the registry (gantutor/checks/registry.py) has {expected}")


def renumber(nb, name: str, exercises=None) -> bool:
    """Write the registry's numbers (and drills' minutes) into solution notebook ``nb``'s exercise
    headings and table of drills, in place; True when anything changed. ``build`` runs it first,
    so renumbering the course is an edit of the registry and a build."""
    exercises = registry.EXERCISES if exercises is None else exercises
    chapter = chapter_of(Path(name))
    number_of = _numbering(chapter, name, exercises)
    numbers = [n for i, c in enumerate(nb.cells) if c.cell_type == "code"
               for n in strip_solution(c.source, number_of, f"{name}, cell {i}")[1]]
    todo = iter(registry.by_number(n, exercises) for n in numbers)
    drills = iter([ex for ex in registry.of_chapter(chapter, exercises) if ex.minutes])

    def heading(m):
        ex = next(todo, None)
        if ex is None:
            return m[0]
        text = m[0].replace(m["label"], _heading(ex), 1)
        return text[:m.start("minutes") - m.start()] + str(ex.minutes) + text[m.end("minutes") - m.start():] \
            if ex.minutes and m["minutes"] else text

    def row(m):
        ex = next(drills, None)
        if ex is None:
            return m[0]
        return m[0].replace(f"| {m['number']} |", f"| {ex.number} |", 1).replace(f"| {m['minutes']} min |", f"| {ex.minutes} min |")

    changed = False
    for c in nb.cells:
        if c.cell_type == "markdown":
            new = TABLE_ROW.sub(row, HEADING.sub(heading, c.source))
            changed, c.source = changed or new != c.source, new
    return changed


def _code_hash(nb) -> str:
    sources = [c.source for c in nb.cells]
    return hashlib.sha256(json.dumps(sources).encode()).hexdigest()[:16]


def build_notebook(nb, name: str, exercises=None, lang: str = "en"):
    """The exercise version of solution notebook ``nb`` (a new object; ``nb`` is not changed).

    ``exercises``: the exercise registry that numbers the solution blocks (the course's by default).
    ``lang="zh"``: ``nb`` is a zh twin (``gantutor.i18n.catalog``): the banner is Chinese, and its
    headings, which translate the English ones, are checked there rather than here.
    """
    chapter = chapter_of(Path(name))
    exercises = registry.EXERCISES if exercises is None else exercises
    number_of, numbers = _numbering(chapter, name, exercises), []
    ex = nbformat.v4.new_notebook(metadata=dict(nb.metadata))
    ex.cells.append(nbformat.v4.new_markdown_cell((BANNER_ZH if lang == "zh" else BANNER).format(name=name)))
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            ex.cells.append(nbformat.v4.new_markdown_cell(cell.source, metadata=dict(cell.metadata)) if cell.cell_type == "markdown"
                            else nbformat.from_dict(dict(cell)))
            continue
        source, found = strip_solution(cell.source, number_of, f"{name}, cell {i}")
        source = CHECK_OUTPUT.sub("", source)  # outputs are cleared: nothing left for nbval to compare
        numbers += found
        metadata = {k: v for k, v in cell.metadata.items() if k not in ("execution",)}
        tags = [t for t in metadata.get("tags", []) if t != "raises-exception"]
        if CHECK_CALL.search(source):
            tags.append("raises-exception")
        if tags:
            metadata["tags"] = tags
        else:
            metadata.pop("tags", None)
        ex.cells.append(nbformat.v4.new_code_cell(source, metadata=metadata))
    expected = [e.number for e in registry.of_chapter(chapter, exercises)]
    if numbers != expected:
        raise MarkerError(f"{name}: its solution blocks are exercises {', '.join(numbers) or 'none'}, but the registry "
                          f"(gantutor/checks/registry.py) lists {', '.join(expected) or 'none'} for chapter {chapter}, in this order")
    if lang == "en":
        _check_headings(nb, numbers, name, exercises)
        _check_drill_table(nb, chapter, name, exercises)
    for k, cell in enumerate(ex.cells):
        cell["id"] = f"cell-{k}"  # stable ids: the build is byte-for-byte reproducible
    source = f"solutions/{name}" if lang == "en" else f"solutions/zh/{name}"
    ex.metadata["gantutor"] = {"generated_from": source, "code_hash": _code_hash(ex)}
    return ex


def _render(nb) -> str:
    return nbformat.writes(nb) + "\n"


def plan(root: Path, untranslated: list | None = None) -> dict[Path, str]:
    """Every generated file's expected text, keyed by its path: exercises/ from solutions/, and the
    zh twins of the three folders (``zh_plan``, whose list of what i18n/zh/ lacks goes to ``untranslated``)."""
    solutions = sorted((root / "solutions").glob("*.ipynb"))
    out = {root / "exercises" / p.name: _render(build_notebook(nbformat.read(p, as_version=4), p.name)) for p in solutions}
    twins, missing = zh_plan(root)
    if untranslated is not None:
        untranslated += missing
    return out | twins


def zh_plan(root: Path) -> tuple[dict[Path, str], list[str]]:
    """The zh twins' expected texts by path (notebooks/zh/, solutions/zh/, exercises/zh/), and what
    their catalogs (i18n/zh/) lack: a cell without a translation, or whose English changed since.
    A course without an ``i18n/zh/`` folder has no zh edition."""
    out, missing = {}, []
    if not (root / "i18n" / "zh").is_dir():
        return out, missing
    for folder in ("notebooks", "solutions"):
        for path in sorted((root / folder).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            entries = catalog.load(catalog.catalog_path(root, folder, path.name))
            missing += catalog.problems(nb, entries, f"{folder}/{path.name}")
            zh = catalog.twin(nb, entries, folder)
            zh.metadata["gantutor"] = {"generated_from": f"{folder}/{path.name}", "code_hash": _code_hash(zh)}
            out[root / folder / "zh" / path.name] = _render(zh)
            if folder == "solutions":
                out[root / "exercises" / "zh" / path.name] = _render(build_notebook(zh, path.name, lang="zh"))
    return out, missing


def _edited_by_learner(path: Path) -> bool:
    """True when a generated notebook's cells (an exercise notebook, a zh twin) differ from what was generated."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return True  # unreadable: keep a copy, never destroy it
    recorded = nb.metadata.get("gantutor", {}).get("code_hash")
    return recorded is None or recorded != _code_hash(nb)


def _backup(path: Path) -> Path:
    folder = path.parent / ".backup"
    folder.mkdir(exist_ok=True)
    target = folder / f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}"
    shutil.copy2(path, target)
    return target


def build(root: Path | None = None, log=print) -> list[Path]:
    """Write ``exercises/`` from ``solutions/`` (after writing the registry's numbers into the
    solutions' headings); return the exercise files written."""
    root = Path(root or repo_root())
    for folder in ("exercises", "notebooks/zh", "solutions/zh", "exercises/zh"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for path in sorted((root / "solutions").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if renumber(nb, path.name):
            nbformat.write(nb, path)
            log(f"renumbered {path.relative_to(root)} from the exercise registry")
    written, untranslated = [], []
    for path, text in plan(root, untranslated).items():
        if path.exists() and path.read_text() == text:
            continue
        if path.exists() and _edited_by_learner(path):
            log(f"kept your edits of {path.name}: copied to {_backup(path).relative_to(root)}")
        path.write_text(text)
        written.append(path)
        log(f"wrote {path.relative_to(root)}")
    if untranslated:
        log(f"{len(untranslated)} cells of the zh twins are kept in English until translated "
            "(python -m gantutor.course --check lists them)")
    return written


def check(root: Path | None = None) -> list[str]:
    """Problems that make ``exercises/`` differ from a fresh build (an empty list when in sync)."""
    root = Path(root or repo_root())
    untranslated = []
    try:
        expected = plan(root, untranslated)
    except MarkerError as err:
        return [f"{err} (`python -m gantutor.course build` writes the registry's numbers into the headings)"]
    problems = [f"{p.relative_to(root)} is missing" for p in expected if not p.exists()]
    problems += [f"{p.relative_to(root)} is out of date" for p, text in expected.items() if p.exists() and p.read_text() != text]
    problems += [f"{p.relative_to(root)} has no source in solutions/" for p in sorted((root / "exercises").glob("*.ipynb"))
                 if p not in expected]
    problems += [f"{p.relative_to(root)} has no English source" for folder in ("notebooks", "solutions", "exercises")
                 for p in sorted((root / folder / "zh").glob("*.ipynb")) if p not in expected]
    return problems + untranslated


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gantutor.course",
                                     description="Build or check exercises/ from solutions/; store executed notebooks.")
    parser.add_argument("command", nargs="?", choices=["build", "check", "store"], default="build")
    parser.add_argument("paths", nargs="*", type=Path, help="with store: the notebooks to run and write back")
    parser.add_argument("--no-execute", action="store_true", help="with store: only tidy the stored outputs")
    parser.add_argument("--check", action="store_true", help="only check that exercises/ is in sync (exit 1 if not)")
    parser.add_argument("--root", type=Path, default=None, help="the course checkout (default: the one gantutor lives in)")
    args = parser.parse_intermixed_args(argv)
    try:
        if args.check or args.command == "check":
            problems = check(args.root)
            for line in problems:
                print(line, file=sys.stderr)
            if problems:
                print("exercises/ or the zh twins are out of sync: run `python -m gantutor.course build` "
                      "(and translate what i18n/zh/ lacks: `python -m gantutor.i18n todo NOTEBOOK`)", file=sys.stderr)
                return 1
            print("exercises/ is in sync with solutions/, and the zh twins with their English and i18n/zh/")
            return 0
        if args.command == "store":
            if not args.paths:
                parser.error("store needs the notebooks to store, e.g. notebooks/04_dcgan.ipynb")
            failed = False
            for path in args.paths:
                for problem in store(path, execute=not args.no_execute):
                    print(f"{path}: {problem}", file=sys.stderr)
                    failed = True
                print(f"stored {path}")
            return 1 if failed else 0
        build(args.root)
        return 0
    except (MarkerError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
