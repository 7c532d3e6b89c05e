"""The exercise pipeline: solutions/ → exercises/, the sync check, and learners' edits kept."""
import re
from pathlib import Path

import nbformat
import pytest

from gantutor import checks, course

ROOT = Path(__file__).resolve().parents[1]


def solution_notebook(*sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="old output")]
    nb.cells[1].execution_count = 3
    return nb


def test_solution_blocks_become_stubs_with_the_same_indentation():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    out, count = course.strip_solution(src, 2, 4, "here")
    assert count == 1
    assert out == 'def f(x):\n    y = 1\n    raise NotImplementedError("Exercise 2.4: write the body of f()")'


def test_build_numbers_exercises_clears_outputs_and_tags_checks():
    nb = solution_notebook(
        "def a():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
        "checks.check_a(a)",
        "def b():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION",
        "# NBVAL_CHECK_OUTPUT\nprint('story goes on')",
    )
    ex = course.build_notebook(nb, "03_demo.ipynb")
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
        course.build_notebook(solution_notebook(src), "01_x.ipynb")


def test_notebook_names_need_a_chapter_number():
    with pytest.raises(ValueError, match="chapter number"):
        course.build_notebook(solution_notebook("x = 1"), "minimax.ipynb")


@pytest.fixture
def mini_course(tmp_path):
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution_notebook("def a():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),
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


def test_every_solution_has_exercises_whose_checks_carry_the_same_number():
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        ex = nbformat.read(ROOT / "exercises" / path.name, 4)
        stubs = [m for c in ex.cells if c.cell_type == "code" for m in re.findall(r"Exercise (\d+\.\d+)", c.source)]
        calls = [m for c in ex.cells if c.cell_type == "code" for m in re.findall(r"\b(check_\w+)\(", c.source)]
        assert stubs, f"{path.name} has no exercises"
        assert [getattr(checks, name).exercise for name in calls] == stubs, path.name


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
