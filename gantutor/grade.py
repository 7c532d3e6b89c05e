"""Grade a class's exercise notebooks with the course's own checks.

``gantutor grade SUBMISSIONS --out OUT`` reads ``SUBMISSIONS/<student>/<NN_name>.ipynb`` (named like
the files of ``exercises/``), runs each notebook top to bottom in a fresh kernel of its own, in a
scratch folder, under a time limit, and then, in that kernel, runs a fresh import of the course's
checks on the learner's functions (found by the names the exercise registry gives them). So:

* stored outputs are never trusted, and the notebook's own check cells are not needed;
* a notebook that replaces ``checks.check_…`` or patches ``gantutor.checks`` gains nothing: the
  grader imports its own copy of the package after the notebook has run;
* what in-kernel grading cannot stop: a notebook that patches what the checks themselves call
  (``torch.allclose``, ``print``, the import system). TEACHING.md says so.

It writes ``OUT/grades.csv`` (one row per student, notebook and exercise; points from the
registry), ``OUT/feedback/<student>.md`` (each check's own message and the total) and prints a
table of students × exercises. A submission is only read, never changed; an earlier grades.csv or
feedback file in OUT is kept as a dated copy before it is replaced.
"""
from __future__ import annotations

import csv
import inspect
import json
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from tqdm.auto import tqdm

from gantutor.checks import registry
from gantutor.course import CHECK_CALL, chapter_of, repo_root

STATUSES = ("passed", "failed", "not done", "error", "timed out", "missing")
SYMBOL = {"passed": "✔", "failed": "✘", "not done": "·", "error": "E", "timed out": "T", "missing": "–"}
RESULT_TYPE = "application/vnd.gantutor.grades+json"


def fresh_checks():
    """``gantutor.checks`` imported afresh, beside (not instead of) the copy the notebook imported:
    whatever the notebook patched in its gantutor modules does not reach the checks returned."""
    import importlib
    import sys

    theirs = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] == "gantutor"}
    try:
        return importlib.import_module("gantutor.checks")
    finally:
        for k in [k for k in sys.modules if k.split(".")[0] == "gantutor"]:
            del sys.modules[k]
        sys.modules.update(theirs)


# Run in the learner's kernel after the notebook: fresh_checks (its own source, so that nothing the
# notebook patched is used to find it), each registered check on the learner's object, the results
# as one display of RESULT_TYPE. {exercises} is a JSON list of [number, check, answer].
GRADER_CELL = inspect.getsource(fresh_checks).replace("{", "{{").replace("}", "}}") + '''

def __gantutor_grade(exercises, namespace):
    import contextlib, io
    from IPython.display import display
    checks = fresh_checks()
    results = []
    for number, check, answer in exercises:
        if answer not in namespace:
            results.append([number, "missing", f"{{answer}} is not defined in the notebook (its cell was deleted or renamed)"])
            continue
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                getattr(checks, check)(namespace[answer])
            results.append([number, "passed", out.getvalue().strip()])
        except NotImplementedError as err:
            results.append([number, "not done", str(err)])
        except checks.CheckFailure as err:
            results.append([number, "failed", str(err)])
        except Exception as err:
            results.append([number, "error", f"{{type(err).__name__}}: {{err}}"])
    display({{"{result_type}": results}}, raw=True)

__gantutor_grade({exercises}, globals())
'''


@dataclass
class Row:
    student: str
    notebook: str
    exercise: str
    status: str
    points: int
    max_points: int
    message: str = ""


def _rows(student: str, notebook: str, status: str, message: str) -> list[Row]:
    """One row per exercise of ``notebook``, all with ``status`` (a notebook-wide outcome)."""
    return [Row(student, notebook, ex.number, status, 0, ex.points, message)
            for ex in registry.of_chapter(chapter_of(Path(notebook)))]


def _first_error(nb) -> str:
    """Where the notebook first raised outside a check cell (one that calls a check, or is tagged
    raises-exception), or ''."""
    for i, cell in enumerate(nb.cells):
        if "raises-exception" in cell.get("metadata", {}).get("tags", []) or CHECK_CALL.search(cell.source):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"cell {i} raised {out.get('ename')}: {out.get('evalue')}"
    return ""


def _execute(nb, timeout: float, folder: Path) -> None:
    """Run ``nb`` in a fresh kernel in ``folder``; the whole notebook gets ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    NotebookClient(nb, kernel_name="python3", allow_errors=True, interrupt_on_timeout=False,
                   timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
                   resources={"metadata": {"path": str(folder)}}).execute()


def grade_notebook(path: Path, student: str, timeout: float = 300) -> list[Row]:
    """The rows of one submitted notebook (it is read, never written)."""
    name = path.name
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # not JSON, not a notebook, not text: the rest of the class goes on
        return _rows(student, name, "error", f"not a readable notebook ({type(err).__name__}: {str(err)[:200]})")
    exercises = [[ex.number, ex.check, ex.answer] for ex in registry.of_chapter(chapter_of(path))]
    nb.cells.append(nbformat.v4.new_code_cell(GRADER_CELL.format(exercises=json.dumps(exercises), result_type=RESULT_TYPE)))
    with tempfile.TemporaryDirectory(prefix="gantutor-grade-") as folder:
        try:
            _execute(nb, timeout, Path(folder))
        except CellTimeoutError:
            return _rows(student, name, "timed out", f"the notebook ran past the limit of {timeout:g} s")
        except DeadKernelError as err:
            return _rows(student, name, "error", f"the kernel died ({err})")
    results = [o["data"][RESULT_TYPE] for o in nb.cells[-1].get("outputs", []) if RESULT_TYPE in o.get("data", {})]
    if not results:
        return _rows(student, name, "error", _first_error(nb) or "the grader's cell gave no result")
    points = {ex.number: ex.points for ex in registry.EXERCISES}
    where = _first_error(nb)  # the notebook raised outside its check cells: what did not pass is an error of the notebook
    return [Row(student, name, number, "error" if where and status != "passed" else status,
                points[number] if status == "passed" else 0, points[number],
                f"the notebook stopped working: {where}\n{message}" if where and status != "passed" else message)
            for number, status, message in results[0]]


def submissions(folder: Path, known: set[str]) -> tuple[list[tuple[str, Path]], list[str]]:
    """(student, notebook path) for every known notebook under ``folder/<student>/``, and the
    names that are not exercise notebooks (reported, not graded)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS must be a folder with one sub-folder per student, got {str(folder)!r}")
    found, unknown = [], []
    for student in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(student.iterdir()):
            if path.name in known:
                found.append((student.name, path))
            elif not path.name.startswith("."):
                unknown.append(f"{student.name}/{path.name}")
    return found, unknown


def _work(item) -> list[Row]:
    student, path, timeout = item
    return grade_notebook(path, student, timeout)


def grade(folder: Path, known: set[str], timeout: float = 300, jobs: int = 1, progress: bool = True) -> tuple[list[Row], list[str]]:
    """Grade every submission (``jobs`` notebooks at a time); rows of missing notebooks are added
    for every notebook that any student handed in. Returns (rows, unknown file names)."""
    found, unknown = submissions(folder, known)
    students = sorted({p.name for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith(".")})
    items = [(student, path, timeout) for student, path in found]
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        graded = list(tqdm(pool.map(_work, items), total=len(items), desc="grading", disable=not progress))
    rows = [row for rows in graded for row in rows]
    handed_in = sorted({path.name for _, path in found})
    for student in students:
        for name in handed_in:
            if not any(r.student == student and r.notebook == name for r in rows):
                rows += _rows(student, name, "missing", "not handed in")
    order = {name: i for i, name in enumerate(handed_in)}
    rows.sort(key=lambda r: (r.student, order[r.notebook], [int(x) for x in r.exercise.split(".")]))
    return rows, unknown


def keep_aside(path: Path) -> None:
    """Move an existing file aside (a dated copy) so that nothing a teacher saved is overwritten."""
    if path.exists():
        shutil.move(path, path.with_name(f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}"))


def write_csv(rows: list[Row], path: Path) -> None:
    keep_aside(path)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(asdict(rows[0]) if rows else Row.__annotations__))
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)


def feedback(rows: list[Row], student: str) -> str:
    """A student's feedback in Markdown: per exercise, the status, points and the check's own message."""
    mine = [r for r in rows if r.student == student]
    got, total = sum(r.points for r in mine), sum(r.max_points for r in mine)
    lines = [f"# Feedback for {student}", "", f"**Total: {got} / {total} points.**", ""]
    for notebook in dict.fromkeys(r.notebook for r in mine):
        lines += [f"## {notebook}", ""]
        for r in (r for r in mine if r.notebook == notebook):
            lines += [f"### Exercise {r.exercise}: {SYMBOL[r.status]} {r.status} ({r.points}/{r.max_points})", ""]
            if r.message:
                lines += ["```", r.message, "```", ""]
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    """Students × exercises: a symbol per status, and each student's points."""
    exercises = list(dict.fromkeys(r.exercise for r in rows))
    students = list(dict.fromkeys(r.student for r in rows))
    width = max([len("student")] + [len(s) for s in students])
    lines = [f"{'student':{width}s} " + " ".join(f"{e:>4s}" for e in exercises) + "  points"]
    for s in students:
        cells = {r.exercise: r for r in rows if r.student == s}
        marks = " ".join(f"{SYMBOL[cells[e].status] if e in cells else ' ':>4s}" for e in exercises)
        got = sum(r.points for r in cells.values())
        lines.append(f"{s:{width}s} {marks}  {got}/{sum(r.max_points for r in cells.values())}")
    lines += ["", "   ".join(f"{SYMBOL[s]} {s}" for s in STATUSES)]
    return "\n".join(lines)


def write_report(rows: list[Row], out: Path) -> list[Path]:
    """grades.csv and one feedback file per student in ``out``; returns the files written."""
    out = Path(out)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / "grades.csv")
    written = [out / "grades.csv"]
    for student in dict.fromkeys(r.student for r in rows):
        path = out / "feedback" / f"{student}.md"
        keep_aside(path)
        path.write_text(feedback(rows, student), encoding="utf-8")
        written.append(path)
    return written
