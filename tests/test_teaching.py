"""The teacher's guide: its generated tables agree with the registry, the bank and the measured run
times; the make variables for CPU-only PyTorch and an offline wheelhouse reach pip."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gantutor import teaching
from gantutor.checks.registry import EXERCISES

ROOT = Path(__file__).resolve().parents[1]


def test_teaching_md_is_up_to_date():
    assert teaching.main(["--check"]) == 0, "run `python -m gantutor.teaching`"


def test_the_guide_lists_every_exercise_with_its_points_and_every_chapter_with_its_measured_time():
    text = (ROOT / "TEACHING.md").read_text()
    for ex in EXERCISES:
        assert f"| {ex.number} | `{ex.answer}`" in text and f"`{ex.check}` | {ex.points} |" in text, ex.number
    times = json.loads((ROOT / "benchmarks" / "results" / "notebook_times.json").read_text())
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert f"`notebooks/{path.name}`, {times[f'notebooks/{path.name}']['seconds']:.0f} s on 2 CPU cores" in text
    assert f"**{sum(e.points for e in EXERCISES)}**" in text


def test_the_measured_times_cover_every_notebook_and_keep_the_minute():
    times = json.loads((ROOT / "benchmarks" / "results" / "notebook_times.json").read_text())
    expected = {f"{folder}/{p.name}" for folder in ("notebooks", "solutions", "exercises")
                for p in (ROOT / folder).glob("*.ipynb")}
    assert set(times) == expected
    assert all(r["seconds"] <= 60 and not r["error"] for r in times.values())


def test_readme_and_chapter_0_point_teachers_to_the_guide():
    assert "TEACHING.md" in (ROOT / "README.md").read_text()
    assert "TEACHING.md" in (ROOT / "notebooks" / "00_start_here.ipynb").read_text()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("variable,expected", [
    ("TORCH_INDEX=https://download.pytorch.org/whl/cpu",
     "pip install --quiet torch torchvision --index-url https://download.pytorch.org/whl/cpu"),
    ("WHEELHOUSE=/media/usb/wheelhouse", "pip install --quiet --no-index --find-links /media/usb/wheelhouse -e"),
])
def test_the_make_variables_reach_pip(variable, expected):
    dry = subprocess.run(["make", "-n", "-B", "install", variable], cwd=ROOT, capture_output=True, text=True, check=True)
    assert expected in dry.stdout
    plain = subprocess.run(["make", "-n", "-B", "install"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "--index-url" not in plain.stdout and "--no-index" not in plain.stdout


def test_the_chinese_guide_translates_every_hand_written_part_and_keeps_its_numbers_code_and_links():
    from gantutor.i18n.catalog import looks_chinese, review
    english = teaching.BLOCK.sub("", (ROOT / "TEACHING.md").read_text(encoding="utf-8"))
    chinese = teaching.BLOCK.sub("", (ROOT / "TEACHING.zh.md").read_text(encoding="utf-8"))
    # each guide links the other: compare the English as if it linked itself
    assert review(english.replace("(TEACHING.zh.md)", "(TEACHING.md)"), chinese) == []
    heads = [re.findall(r"^#+ ", text, re.M) for text in (english, chinese)]
    assert heads[0] == heads[1], "the same headings, at the same levels"
    for paragraph in chinese.split("\n\n"):
        if paragraph.strip() and not paragraph.startswith(("    ", "<!--", "|---")) and re.search(r"[A-Za-z]{4}", paragraph):
            assert looks_chinese(paragraph) or "`" in paragraph or "|" in paragraph, paragraph[:80]
    zh = (ROOT / "TEACHING.zh.md").read_text(encoding="utf-8")
    assert "| 04 在真实手写数字上训练 DCGAN" in zh and "`notebooks/zh/04_dcgan.ipynb`" in zh
    assert f"**{sum(e.points for e in EXERCISES)}**" in zh
