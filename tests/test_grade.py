"""gantutor grade on a class made from solutions/ and exercises/: every status, points from the
registry, a feedback file per student, and what a notebook that cheats or breaks gets."""
import csv
import time
from pathlib import Path

import nbformat
import pytest

from gantutor import cli, grade
from gantutor.checks.registry import of_chapter

ROOT = Path(__file__).resolve().parents[1]
CH2 = "02_training_dynamics.ipynb"
TIMEOUT = 45  # seconds a notebook may run; chapter 2's take about 4 s, chapter 1's 13 s (more beside another)


def _notebook(kind: str, name: str = CH2):
    return nbformat.read(ROOT / kind / name, 4)


def _insert(nb, source: str, at: int = 2):
    nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    return nb


def _half_done():
    """The exercise notebook with 2.1 solved (its stub cell replaced by the solution's) and 2.2 left."""
    ex, sol = _notebook("exercises"), _notebook("solutions")
    solved = next(c.source for c in sol.cells if c.cell_type == "code" and "def gda_step" in c.source)
    for cell in ex.cells:
        if cell.cell_type == "code" and "def gda_step" in cell.source:
            cell.source = solved
    return ex


def _cheater():
    """The untouched exercise notebook that then makes every check pass, twice over."""
    return _insert(_notebook("exercises"), "from gantutor import checks\nimport gantutor.checks._core as core\n"
                   "checks.check_gda_step = checks.check_extragradient_step = lambda fn: print('✔ passed')\n"
                   "core._fail = lambda *args, **kwargs: None\ncore.CheckFailure = type('Never', (Exception,), {})",
                   at=len(_notebook("exercises").cells))


def _without_checks():
    nb = _notebook("solutions")
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and "checks.check_" in c.source)]
    return nb


def _broken_import():
    """The solved notebook whose cell defining gda_step raises at an import before the definition."""
    nb = _notebook("solutions")
    cell = next(c for c in nb.cells if c.cell_type == "code" and "def gda_step" in c.source)
    cell.source = "import numpy_typo_that_does_not_exist\n" + cell.source
    return nb


CLASS = {  # student -> what they hand in (chapter 2, and chapter 1 for one)
    "alice": lambda: _notebook("solutions"),
    "bob": lambda: _notebook("exercises"),
    "carol": _half_done,
    "eve": _cheater,
    "frank": None,  # not a notebook
    "grace": _without_checks,
    "heidi": _broken_import,
    "li": lambda: nbformat.read(ROOT / "solutions" / "zh" / CH2, 4),  # the Chinese edition
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    for student, make in CLASS.items():
        (folder / student).mkdir()
        if make is None:
            (folder / student / CH2).write_text("these are my answers, I could not open Jupyter")
        else:
            nbformat.write(make(), folder / student / CH2)
    nbformat.write(_notebook("solutions", "01_minimax.ipynb"), folder / "alice" / "01_minimax.ipynb")
    (folder / "bob" / "notes.txt").write_text("not a notebook of the course")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    out = folder.parent / "out"
    start = time.perf_counter()
    code = cli.main(["grade", str(folder), "--out", str(out), "--timeout", str(TIMEOUT), "--jobs", "2"])
    seconds = time.perf_counter() - start
    assert code == 0
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before, "a submission was changed"
    with open(out / "grades.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {(r["student"], r["notebook"], r["exercise"]): r for r in rows}, out, seconds


def statuses(rows, student, notebook=CH2):
    return [rows[(student, notebook, ex.number)]["status"] for ex in of_chapter(int(notebook[:2]))]


def test_the_csv_has_the_agreed_columns_and_registry_points(graded):
    rows, out, _ = graded
    first = next(iter(rows.values()))
    assert list(first)[:6] == ["student", "notebook", "exercise", "status", "points", "max_points"]
    for (student, notebook, number), row in rows.items():
        ex = next(e for e in of_chapter(int(notebook[:2])) if e.number == number)
        assert int(row["max_points"]) == ex.points and row["status"] in grade.STATUSES
        assert int(row["points"]) == (ex.points if row["status"] == "passed" else 0)


@pytest.mark.parametrize("student,expected", [
    ("alice", ["passed", "passed"]), ("bob", ["not done", "not done"]), ("carol", ["passed", "not done"]),
("eve", ["not done", "not done"]), ("frank", ["error", "error"]),
    ("grace", ["passed", "passed"]), ("heidi", ["error", "passed"]), ("li", ["passed", "passed"]),
])
def test_each_kind_of_submission_gets_its_status(graded, student, expected):
    assert statuses(graded[0], student) == expected


def test_a_notebook_not_handed_in_is_missing_and_the_solved_chapter_1_passes(graded):
    rows = graded[0]
    assert statuses(rows, "alice", "01_minimax.ipynb") == ["passed"] * 5
    assert statuses(rows, "bob", "01_minimax.ipynb") == ["missing"] * 5


def test_the_reasons_are_told(graded):
    rows = graded[0]
    assert "not a readable notebook" in rows[("frank", CH2, "2.1")]["message"]
    assert "ModuleNotFoundError" in rows[("heidi", CH2, "2.1")]["message"]
    assert "gda_step is not defined" in rows[("heidi", CH2, "2.1")]["message"]
    assert "Exercise 2.2 is not done yet" in rows[("carol", CH2, "2.2")]["message"]


def test_every_student_gets_feedback_with_the_checks_own_words_and_the_total(graded):
    rows, out, _ = graded
    assert sorted(p.stem for p in (out / "feedback").glob("*.md")) == sorted(CLASS)
    alice = (out / "feedback" / "alice.md").read_text()
    total = sum(e.points for e in of_chapter(1)) + sum(e.points for e in of_chapter(2))
    assert f"**Total: {total} / {total} points.**" in alice
    assert "✔ Exercise 1.2 passed" in alice
    carol = (out / "feedback" / "carol.md").read_text()
    assert "Exercise 2.2: · not done" in carol and "replace the `raise NotImplementedError(...)` line" in carol


def test_a_notebook_of_the_chinese_edition_gets_its_feedback_in_chinese(graded):
    assert graded[0][("li", CH2, "2.1")]["message"].startswith("✔ 练习 2.1 通过：")


def test_grading_the_class_ends_within_the_limit_plus_a_margin(graded):
    assert graded[2] < TIMEOUT + 60, f"grading took {graded[2]:.0f} s"


def test_a_notebook_that_never_ends_is_timed_out_at_the_limit(tmp_path):
    path = tmp_path / CH2
    nbformat.write(_insert(_notebook("solutions"), "while True:\n    pass"), path)
    start = time.perf_counter()
    rows = grade.grade_notebook(path, "dave", timeout=6)
    assert time.perf_counter() - start < 6 + 30
    assert [r.status for r in rows] == ["timed out", "timed out"] and "limit of 6 s" in rows[0].message


def test_a_wrong_answer_is_failed_with_the_checks_message(tmp_path):
    nb = _notebook("solutions")
    for cell in nb.cells:
        if cell.cell_type == "code" and "def gda_step" in cell.source:
            cell.source = cell.source.replace("return x - lr * y, y + lr * x", "return x + lr * y, y + lr * x")
    path = tmp_path / CH2
    nbformat.write(nb, path)
    rows = grade.grade_notebook(path, "ivan", timeout=TIMEOUT)
    assert [r.status for r in rows] == ["failed", "passed"], [r.message for r in rows]
    assert rows[0].message.startswith("Exercise 2.1:") and "hint:" in rows[0].message


def test_earlier_reports_are_kept_not_overwritten(tmp_path):
    rows = [grade.Row("a", CH2, "2.1", "passed", 2, 2, "ok")]
    grade.write_report(rows, tmp_path)
    (tmp_path / "grades.csv").write_text("the teacher's own notes")
    grade.write_report(rows, tmp_path)
    kept = [p for p in tmp_path.glob("grades-*.csv")]
    assert len(kept) == 1 and kept[0].read_text() == "the teacher's own notes"


def test_a_missing_submissions_folder_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["grade", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "one sub-folder per student" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_files_that_are_not_exercise_notebooks_are_reported_not_graded(tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / CH2).write_text("{}")
    (tmp_path / "ann" / "notes.txt").write_text("hello")
    (tmp_path / "ann" / "02_training_dynamics (1).ipynb").write_text("{}")
    found, unknown = grade.submissions(tmp_path, {CH2})
    assert [(s, p.name) for s, p in found] == [("ann", CH2)]
    assert unknown == ["ann/02_training_dynamics (1).ipynb", "ann/notes.txt"]
