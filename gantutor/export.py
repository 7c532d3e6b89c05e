"""The course as an nbgrader course: ``gantutor export nbgrader COURSE_DIR``.

Writes ``COURSE_DIR/source/<NN_name>/<NN_name>.ipynb`` for every exercise chapter, made from the
solution notebook with nbgrader's cell metadata (schema 3):

* the cells holding ``### BEGIN SOLUTION`` / ``### END SOLUTION`` become solution cells (nbgrader
  replaces the regions with a stub when it releases the assignment);
* each check cell becomes a locked, autograded test cell worth the registry's points, calling the
  course's check on the learner's function through ``gantutor.grade.fresh_checks`` (a notebook that
  patches ``gantutor.checks`` gains nothing);
* every other cell is locked (read-only).

and ``COURSE_DIR/nbgrader_config.py``. Then, in COURSE_DIR: ``nbgrader generate_assignment 01_minimax``
releases it without solutions and ``nbgrader autograde 01_minimax`` grades what students submit.
An existing file is kept as a dated copy before it is replaced.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from gantutor.checks import registry
from gantutor.course import BEGIN, CHECK_CALL, chapter_of, repo_root
from gantutor.grade import keep_aside

CONFIG = '''# nbgrader's configuration for the gantutor course (written by `gantutor export nbgrader`).
c = get_config()  # noqa: F821 - nbgrader provides it
c.CourseDirectory.course_id = "gantutor"
c.CourseDirectory.root = {root!r}
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.ExecutePreprocessor.timeout = 300
'''


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False, points: int | None = None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def _test_cell(ex: registry.Exercise) -> str:
    return (f"# Autograded ({ex.points} point{'s' if ex.points > 1 else ''}): the course's check of exercise {ex.number}, "
            "imported afresh.\n"
            "from gantutor.grade import fresh_checks\n\n"
            f"fresh_checks().{ex.check}({ex.answer})")


def nbgrader_notebook(nb, name: str):
    """The nbgrader source version of solution notebook ``nb`` (a new notebook; ``nb`` is unchanged)."""
    exercises = iter(registry.of_chapter(chapter_of(Path(name))))
    out = nbformat.v4.new_notebook(metadata=dict(nb.metadata))
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(BEGIN.match(line) for line in cell.source.splitlines()):
            new = nbformat.v4.new_code_cell(cell.source)
            new.metadata["nbgrader"] = _meta(f"answer-{k}", solution=True)
        elif cell.cell_type == "code" and CHECK_CALL.search(cell.source):
            ex = next(exercises, None)
            if ex is None or ex.check not in cell.source:
                raise ValueError(f"{name}, cell {k}: a check cell that is not the registry's next check "
                                 f"({ex.check if ex else 'none left'})")
            new = nbformat.v4.new_code_cell(_test_cell(ex))
            new.metadata["nbgrader"] = _meta(f"check-{ex.number.replace('.', '-')}", grade=True, locked=True, points=ex.points)
        else:
            new = (nbformat.v4.new_markdown_cell(cell.source) if cell.cell_type == "markdown"
                   else nbformat.v4.new_code_cell(re.sub(r"^# NBVAL_CHECK_OUTPUT\n", "", cell.source)))
            new.metadata["nbgrader"] = _meta(f"cell-{k}", locked=True)
        new["id"] = f"cell-{k}"
        out.cells.append(new)
    left = list(exercises)
    if left:
        raise ValueError(f"{name}: no check cell for exercise(s) {', '.join(e.number for e in left)}")
    return out


def to_nbgrader(course_dir: Path, root: Path | None = None, log=print) -> list[Path]:
    """Write the nbgrader course into ``course_dir``; returns the files written."""
    course_dir, root = Path(course_dir).resolve(), Path(root or repo_root())
    written = []
    for path in sorted((root / "solutions").glob("*.ipynb")):
        target = course_dir / "source" / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        keep_aside(target)
        nbformat.write(nbgrader_notebook(nbformat.read(path, as_version=4), path.name), target)
        written.append(target)
    config = course_dir / "nbgrader_config.py"
    keep_aside(config)
    config.write_text(CONFIG.format(root=str(course_dir)))
    written.append(config)
    for path in written:
        log(f"wrote {path}")
    return written
