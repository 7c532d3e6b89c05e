"""The exercise pipeline: solutions/ → exercises/, the sync check, and learners' edits kept."""
import re
from pathlib import Path

import nbformat
import pytest

from gantutor import checks, course
from gantutor.checks import registry
from gantutor.checks.registry import EXERCISES, Exercise

ROOT = Path(__file__).resolve().parents[1]


def solution_notebook(*sources, headings=()):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nb.cells += [nbformat.v4.new_markdown_cell(h) for h in headings]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="old output")]
    nb.cells[1].execution_count = 3
    return nb


def test_solution_blocks_become_stubs_with_the_same_indentation():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    out, numbers = course.strip_solution(src, lambda func, where: {"f": "2.4"}[func], "here")
    assert numbers == ["2.4"]
    assert out == 'def f(x):\n    y = 1\n    raise NotImplementedError("Exercise 2.4: write the body of f()")'


DEMO = (Exercise("3.1", "check_a", "a", 1), Exercise("3.2", "check_b", "b", 2))


def demo_notebook():
    return solution_notebook(
        "def a():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
        "checks.check_a(a)",
        "def b():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION",
        "# NBVAL_CHECK_OUTPUT\nprint('story goes on')",
        headings=("## Exercise 3.1 — a", "## Exercise 3.2 — b"),
    )


def test_build_numbers_exercises_by_the_registry_clears_outputs_and_tags_checks():
    nb = demo_notebook()
    ex = course.build_notebook(nb, "03_demo.ipynb", DEMO)
    code = [c for c in ex.cells if c.cell_type == "code"]
    assert "Exercise 3.1: write the body of a()" in code[0].source and "Exercise 3.2" in code[2].source
    assert "return 1" not in code[0].source and "BEGIN SOLUTION" not in code[0].source
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert code[1].metadata["tags"] == ["raises-exception"]
    assert "tags" not in code[3].metadata
    assert code[3].source == "print('story goes on')"  # no stored output left to check against
    assert ex.cells[0].cell_type == "markdown" and "Exercise notebook" in ex.cells[0].source
    assert nb.cells[1].outputs  # the source notebook is not changed


@pytest.mark.parametrize("src,match", [
    ("### BEGIN SOLUTION\nx = 1", "without an END"),
    ("x = 1\n### END SOLUTION", "without a BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
])
def test_unbalanced_markers_are_reported(src, match):
    with pytest.raises(course.MarkerError, match=match):
        course.build_notebook(solution_notebook(f"def a():\n{src}"), "01_x.ipynb", (Exercise("1.1", "check_a", "a", 1),))


@pytest.mark.parametrize("change,match", [
    (lambda nb: nb.cells[3].__setitem__("source", "def c():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION"),
     r"the solution block in c\(\) is not an exercise of chapter 3 in the registry"),
    (lambda nb: nb.cells[3].__setitem__("source", "b = 2"), r"its solution blocks are exercises 3.1, but the registry .* lists 3.1, 3.2"),
    (lambda nb: nb.cells[6].__setitem__("source", "## Exercise 3.3 — b"), "should read 'Exercise 3.2'"),
    (lambda nb: nb.cells.pop(6), "1 exercise headings .* for 2 solution blocks"),
])
def test_the_notebook_must_agree_with_the_registry(change, match):
    nb = demo_notebook()
    change(nb)
    with pytest.raises(course.MarkerError, match=match):
        course.build_notebook(nb, "03_demo.ipynb", DEMO)


def test_a_table_of_drills_must_list_the_registrys_numbers_and_minutes():
    drills = (Exercise("8.1", "check_d", "d", 1, minutes=10), Exercise("8.2", "check_e", "e", 1, minutes=5))
    code = [f"def {f}():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION" for f in "de"]
    table = "| drill | task | time |\n|---|---|---|\n| 8.1 | d | 10 min | 1 §1 |\n| 8.2 | e | {} min | 1 §2 |"
    headings = ("## Drill 8.1 — d (10 min)", "## Drill 8.2 — e (5 min)")
    course.build_notebook(solution_notebook(*code, headings=(table.format(5), *headings)), "08_drill.ipynb", drills)
    with pytest.raises(course.MarkerError, match=r"table of drills lists \[\('8.1', 10\), \('8.2', 15\)\]"):
        course.build_notebook(solution_notebook(*code, headings=(table.format(15), *headings)), "08_drill.ipynb", drills)


def test_a_drills_heading_carries_the_registrys_minutes():
    drill = (Exercise("8.1", "check_d", "d", 1, minutes=10),)
    nb = solution_notebook("def d():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", headings=("## Drill 8.1 — d (5 min)",))
    with pytest.raises(course.MarkerError, match=r"should read 'Drill 8.1 … \(10 min\)'"):
        course.build_notebook(nb, "08_drill.ipynb", drill)


def test_notebook_names_need_a_chapter_number():
    with pytest.raises(ValueError, match="chapter number"):
        course.build_notebook(solution_notebook("x = 1"), "minimax.ipynb")


@pytest.fixture
def mini_course(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "EXERCISES", (Exercise("1.1", "check_a", "a", 1),))
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution_notebook("def a():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
                                     headings=("## Exercise 1.1 — a",)),
                   tmp_path / "solutions" / "01_mini.ipynb")
    return tmp_path


def test_check_fails_until_built_and_after_a_solution_changes(mini_course):
    assert course.check(mini_course) == ["exercises/01_mini.ipynb is missing"]
    course.build(mini_course, log=lambda *_: None)
    assert course.check(mini_course) == []
    assert course.build(mini_course, log=lambda *_: None) == []  # nothing to do the second time
    nb = nbformat.read(mini_course / "solutions" / "01_mini.ipynb", 4)
    nb.cells.append(nbformat.v4.new_code_cell("print(2)"))
    nbformat.write(nb, mini_course / "solutions" / "01_mini.ipynb")
    assert course.check(mini_course) == ["exercises/01_mini.ipynb is out of date"]
    assert course.main(["--check", "--root", str(mini_course)]) == 1


def test_rebuilding_keeps_a_learners_work(mini_course):
    course.build(mini_course, log=lambda *_: None)
    path = mini_course / "exercises" / "01_mini.ipynb"
    nb = nbformat.read(path, 4)
    nb.cells[2].source = "def a():\n    return 'my answer'"
    nbformat.write(nb, path)
    nb = nbformat.read(mini_course / "solutions" / "01_mini.ipynb", 4)
    nb.cells.append(nbformat.v4.new_code_cell("print(2)"))
    nbformat.write(nb, mini_course / "solutions" / "01_mini.ipynb")
    messages = []
    course.build(mini_course, log=messages.append)
    backups = list((mini_course / "exercises" / ".backup").glob("01_mini-*.ipynb"))
    assert len(backups) == 1 and "my answer" in backups[0].read_text()
    assert any("kept your edits" in m for m in messages)


def test_running_an_exercise_notebook_is_not_an_edit(mini_course):
    course.build(mini_course, log=lambda *_: None)
    path = mini_course / "exercises" / "01_mini.ipynb"
    nb = nbformat.read(path, 4)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="ran")]
    nbformat.write(nb, path)
    assert not course._edited_by_learner(path)


def test_repository_exercises_are_in_sync():
    assert course.check(ROOT) == [], "run `python -m gantutor.course build`"


def test_every_exercise_notebook_matches_the_registry():
    """In each exercise notebook, in the registry's order: the stub of the registered function with the
    registered number, then a call of the registered check on the registered answer, which reports
    that number."""
    seen = []
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        ex = nbformat.read(path, 4)
        code = "\n".join(c.source for c in ex.cells if c.cell_type == "code")
        stubs = re.findall(r'Exercise (\d+\.\d+): write the body of (\w+)\(\)', code)
        calls = re.findall(r"\b(check_\w+)\((\w+)", code)
        rows = registry.of_chapter(course.chapter_of(path))
        assert rows, f"{path.name} has no exercises in the registry"
        assert stubs == [(row.number, row.stub_name) for row in rows], path.name
        assert calls == [(row.check, row.answer) for row in rows], path.name
        assert [getattr(checks, row.check).exercise for row in rows] == [row.number for row in rows]
        seen += rows
    assert seen == list(EXERCISES), "every registered exercise is in an exercise notebook"


def test_the_registry_is_well_formed():
    numbers = [ex.number for ex in EXERCISES]
    assert len(set(numbers)) == len(numbers)
    assert all(ex.points > 0 for ex in EXERCISES)
    assert {ex.check for ex in EXERCISES} == {name for name in checks.__all__ if name.startswith("check_")}
    for ex in EXERCISES:
        if ex.drill_of:
            assert getattr(checks, ex.check).same_as == ex.drill_of and ex.minutes > 0


@pytest.mark.parametrize("path", sorted((ROOT / "exercises").glob("*.ipynb")), ids=lambda p: p.name)
def test_exercise_stubs_really_raise_not_implemented(path, tmp_path):
    """nbval accepts any error in a raises-exception cell; here each must be 'not done yet'."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, 4)
    NotebookClient(nb, timeout=300, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert [e.ename for e in errors] == ["NotImplementedError"], f"code cell {i}: {cell.source}"
            assert "is not done yet" in errors[0].evalue
        else:
            assert not errors, f"code cell {i} failed: {errors[0].ename}: {errors[0].evalue}"


def test_every_exercise_the_chapters_the_bank_and_the_readme_cite_is_in_the_registry():
    numbers = {ex.number for ex in EXERCISES}
    texts = {p.name: p.read_text() for p in [*sorted((ROOT / "notebooks").glob("*.ipynb")), ROOT / "README.md",
                                            ROOT / "gantutor" / "interview" / "bank.yaml"]}
    cited = {(name, m) for name, text in texts.items() for m in re.findall(r"(?:[Ee]xercise|[Dd]rill) (\d+\.\d+)", text)}
    assert cited and not {c for c in cited if c[1] not in numbers}


def test_build_writes_the_registrys_numbers_into_the_solutions_headings(mini_course, monkeypatch):
    course.build(mini_course, log=lambda *_: None)
    monkeypatch.setattr(registry, "EXERCISES", (Exercise("1.3", "check_a", "a", 1),))  # the course renumbered
    assert "should read 'Exercise 1.3'" in course.check(mini_course)[0]
    messages = []
    course.build(mini_course, log=messages.append)
    solution = nbformat.read(mini_course / "solutions" / "01_mini.ipynb", 4)
    assert solution.cells[-1].source == "## Exercise 1.3 — a" and messages[0].startswith("renumbered solutions/01_mini")
    assert course.check(mini_course) == []
    exercise = nbformat.read(mini_course / "exercises" / "01_mini.ipynb", 4)
    assert any('Exercise 1.3: write the body of a()' in c.source for c in exercise.cells)


def test_renumbering_sets_a_drills_minutes_in_its_heading_and_the_table():
    drills = (Exercise("8.1", "check_d", "d", 1, minutes=10),)
    nb = solution_notebook("def d():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
                           headings=("| 8.1 | d | 5 min | 1 §1 |", "## Drill 8.2 — d (5 min)"))
    assert course.renumber(nb, "08_drill.ipynb", drills)
    assert [c.source for c in nb.cells[-2:]] == ["| 8.1 | d | 10 min | 1 §1 |", "## Drill 8.1 — d (10 min)"]
    assert not course.renumber(nb, "08_drill.ipynb", drills)
