"""gantutor export nbgrader, checked with real nbgrader: released without solutions, the solved
notebook autograded to full marks and the untouched release to 0."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gantutor import cli, export
from gantutor.checks.registry import EXERCISES, of_chapter

ROOT = Path(__file__).resolve().parents[1]
CH1 = "01_minimax"


def test_every_exercise_chapter_gets_solution_test_and_locked_cells_with_registry_points(tmp_path):
    assert cli.main(["export", "nbgrader", str(tmp_path)]) == 0
    graded = []
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        nb = nbformat.read(tmp_path / "source" / path.stem / path.name, 4)
        meta = [c.metadata["nbgrader"] for c in nb.cells]
        assert len({m["grade_id"] for m in meta}) == len(meta), "grade ids must be unique"
        tests = [(c, m) for c, m in zip(nb.cells, meta) if m["grade"]]
        exercises = of_chapter(int(path.name[:2]))
        assert [m["points"] for _, m in tests] == [e.points for e in exercises]
        assert all(f"{e.check}({e.answer})" in c.source and m["locked"] for (c, m), e in zip(tests, exercises))
        assert sum(m["solution"] for m in meta) == len(exercises)
        assert all(m["locked"] for m in meta if not m["solution"])
        graded += exercises
    assert graded == list(EXERCISES)
    assert "c.CourseDirectory.course_id" in (tmp_path / "nbgrader_config.py").read_text()


def test_exporting_again_keeps_the_earlier_files(tmp_path):
    export.to_nbgrader(tmp_path, log=lambda *_: None)
    config = tmp_path / "nbgrader_config.py"
    config.write_text("# the teacher's own settings")
    export.to_nbgrader(tmp_path, log=lambda *_: None)
    assert [p.read_text() for p in tmp_path.glob("nbgrader_config-*.py")] == ["# the teacher's own settings"]


def _nbgrader(course: Path, *args):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # nbgrader runs alembic
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True,
                          timeout=600)


def test_real_nbgrader_releases_without_solutions_and_autogrades_full_marks_and_zero(tmp_path):
    pytest.importorskip("nbgrader", reason="nbgrader is not installed: pip install -e '.[teach]' (make test installs it)")
    from nbgrader.api import Gradebook

    export.to_nbgrader(tmp_path, log=lambda *_: None)
    released = _nbgrader(tmp_path, "generate_assignment", CH1, "--force")
    assert released.returncode == 0, released.stderr[-2000:]
    release = nbformat.read(tmp_path / "release" / CH1 / f"{CH1}.ipynb", 4)
    solution = nbformat.read(ROOT / "solutions" / f"{CH1}.ipynb", 4)
    body = next(c.source for c in solution.cells if "def sample_noise" in c.source).split("### BEGIN SOLUTION")[1]
    body = body.split("### END SOLUTION")[0].strip()
    text = "\n".join(c.source for c in release.cells)
    assert "BEGIN SOLUTION" not in text and body not in text and "raise NotImplementedError()" in text
    for student, source in (("solved", tmp_path / "source" / CH1), ("untouched", tmp_path / "release" / CH1)):
        (tmp_path / "submitted" / student / CH1).mkdir(parents=True)
        shutil.copy(source / f"{CH1}.ipynb", tmp_path / "submitted" / student / CH1)
    graded = _nbgrader(tmp_path, "autograde", CH1, "--force")
    assert graded.returncode == 0, graded.stderr[-2000:]
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        scores = {s: (gb.find_submission(CH1, s).score, gb.find_submission(CH1, s).max_score) for s in ("solved", "untouched")}
    total = sum(e.points for e in of_chapter(1))
    assert scores == {"solved": (total, total), "untouched": (0, total)}
