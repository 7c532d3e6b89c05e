"""Interview practice beyond the quiz: chapter 8's drills checked from a terminal, the bank as an
Anki deck (opened with sqlite, as Anki reads it), and the timed mock interview (scripted input, a
real pseudo-terminal, and kill -9)."""
import dataclasses
import json
import os
import pty
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from _db import count_rows

from gantutor.checks.registry import EXERCISES
from gantutor.interview import Progress, load_bank
from gantutor.interview import anki
from gantutor.interview import drills as drills_mod
from gantutor.interview import mock
from gantutor.interview.bank import TOPICS, check_links, section_label

ROOT = Path(__file__).resolve().parents[1]
DRILLS = [e.number for e in EXERCISES if e.chapter == 8]


def cli(tmp_path, *args, stdin="", cwd=None, timeout=300):
    env = {**os.environ, "GANTUTOR_DATA_DIR": str(tmp_path / "data"), "GANTUTOR_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "gantutor.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=cwd or tmp_path, timeout=timeout)


def solution_of(number: str) -> str:
    """The solved drill's code cell in solutions/08_interview_drill.ipynb, with the notebook's imports."""
    name = drills_mod.get(number).name
    cells = json.loads((ROOT / "solutions" / "08_interview_drill.ipynb").read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    body = next(c for c in code if re.search(rf"^def {name}\(", c, re.M) and "NotImplementedError" not in c)
    return drills_mod.IMPORTS + "\n\n" + body + "\n"


# --- gantutor drill ------------------------------------------------------------------------------

def test_every_drill_has_its_task_and_stub_from_the_notebook_in_both_languages():
    en, zh = drills_mod.drills("en"), drills_mod.drills("zh")
    assert list(en) == list(zh) == DRILLS
    for number in DRILLS:
        assert f"def {en[number].name}(" in en[number].stub and "NotImplementedError" in en[number].stub
        assert en[number].task.startswith(f"## Drill {number}") and zh[number].task.startswith(f"## 演练 {number}")
    assert "def article_pruning" in en["8.6"].task  # the code a find-the-bug drill shows is part of its task
    with pytest.raises(drills_mod.DrillError, match="no drill '9.1': the drills are 8.1, 8.2"):
        drills_mod.get("9.1")
    assert drills_mod.get("2").number == "8.2"


@pytest.mark.parametrize("number", DRILLS)
def test_the_solved_drill_passes_as_a_file(tmp_path, number, capsys):
    """Each solved drill, loaded from a file as the child process loads it (the child itself is
    exercised by the command's tests below)."""
    import runpy

    from gantutor import checks
    path = tmp_path / "answer.py"
    path.write_text(solution_of(number), encoding="utf-8")
    drill = drills_mod.get(number)
    assert drills_mod._static_problem(drill, path, "en") is None
    getattr(checks, drill.check)(runpy.run_path(str(path), run_name="__drill__")[drill.name])
    assert f"✔ Exercise {number} passed" in capsys.readouterr().out


def test_the_command_passes_a_right_file(tmp_path):
    path = tmp_path / "answer.py"
    path.write_text(solution_of("8.2"), encoding="utf-8")
    done = cli(tmp_path, "drill", "8.2", "--check", str(path))
    assert done.returncode == 0 and "✔ Exercise 8.2 passed" in done.stdout, done.stdout + done.stderr


def test_a_wrong_drill_is_explained_as_in_the_notebook_and_in_chinese(tmp_path):
    path = tmp_path / "wrong.py"
    path.write_text("def cycle_consistency_loss(real_a, reconstructed_a, real_b, reconstructed_b, lambda_cyc=10.0):\n"
                    "    return ((reconstructed_a - real_a) ** 2).mean() + ((reconstructed_b - real_b) ** 2).mean()\n")
    done = cli(tmp_path, "drill", "8.4", "--check", str(path))
    assert done.returncode == 1 and done.stdout.startswith("Exercise 8.4:") and "hint:" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    zh = cli(tmp_path, "drill", "8.4", "--check", str(path), "--lang", "zh")
    assert zh.returncode == 1 and zh.stdout.startswith("练习 8.4") and "提示" in zh.stdout


@pytest.mark.parametrize("source,message", [
    ("def global_magnitude_mask(weights, amount)\n    return 1\n", "does not parse: line 1: expected ':'"),
    ("def mask(weights, amount):\n    return 1\n", "defines no global_magnitude_mask: drill 8.2 checks a function called "
                                                   "global_magnitude_mask (the file defines mask)"),
    ("import no_such_module\ndef global_magnitude_mask(w, a):\n    return 1\n",
     "raised ModuleNotFoundError while it was loading (line 1): No module named 'no_such_module'"),
    ("def global_magnitude_mask(weights, amount):\n    while True:\n        pass\n", "did not finish in 5 s"),
    ("def global_magnitude_mask(weights, amount):\n    return weights[5]\n", "your function raised IndexError"),
])
def test_a_file_that_cannot_pass_gets_a_clear_message_not_a_traceback(tmp_path, source, message):
    path = tmp_path / "answer.py"
    path.write_text(source)
    passed, output = drills_mod.check_file("8.2", path, timeout=5)
    assert not passed and message in output and "Traceback" not in output, output


def test_the_stub_is_written_once_and_the_list_and_task_print(tmp_path):
    stub, drill = tmp_path / "mine.py", drills_mod.get("8.5")
    assert "gantutor drill 8.5 --check" in drills_mod.write_stub(drill, stub)
    assert "def frechet_distance(" in stub.read_text() and "import torch" in stub.read_text()
    passed, output = drills_mod.check_file("8.5", stub)
    assert not passed and "Exercise 8.5 is not done yet" in output
    stub.write_text("# my work\n")
    again = cli(tmp_path, "drill", "8.5", "--stub", str(stub))
    assert again.returncode == 2 and "is not overwritten" in again.stderr and stub.read_text() == "# my work\n"
    assert drills_mod.check_file("8.5", tmp_path / "nothing.py")[1].startswith("no file at")
    listing = cli(tmp_path, "drill", "--lang", "zh").stdout
    assert all(n in listing for n in DRILLS) and "第 8 章的演练" in listing
    task = cli(tmp_path, "drill", "8.3").stdout
    assert "## Drill 8.3 — The gradient penalty (10 min)" in task and "def gradient_penalty(" in task
    assert cli(tmp_path, "drill", "--check", "x.py").returncode == 2


# --- gantutor anki -------------------------------------------------------------------------------

def notes(apkg: Path) -> list[tuple]:
    with zipfile.ZipFile(apkg) as z:
        z.extract("collection.anki2", apkg.parent / "x")
    conn = sqlite3.connect(apkg.parent / "x" / "collection.anki2")
    try:
        return conn.execute("SELECT guid, mid, tags, flds FROM notes ORDER BY sfld").fetchall()
    finally:
        conn.close()


def test_the_deck_holds_one_tagged_note_per_entry_in_both_languages_with_stable_guids(tmp_path):
    bank = load_bank()
    first, second = tmp_path / "a" / "deck.apkg", tmp_path / "b" / "deck.apkg"
    assert cli(tmp_path, "anki", "-o", str(first)).returncode == 0
    assert cli(tmp_path, "anki", "-o", str(second)).returncode == 0
    a, b = notes(first), notes(second)
    assert len(a) == len(bank) and sorted(n[0] for n in a) == sorted(n[0] for n in b)
    assert len({n[0] for n in a}) == len(bank) and {n[1] for n in a} == {1733001200}
    by_id = {n[3].split("\x1f")[0]: n for n in a}
    for q in bank:
        fields = by_id[q.id][3].split("\x1f")
        assert q.question["en"][:30] in fields[1] and q.question["zh"][:10] in fields[1]
        tags = by_id[q.id][2].split()
        assert {"gantutor", f"topic::{q.topic}", f"difficulty::{q.difficulty}"} <= set(tags)
        assert q.notebook in fields[-1] and q.notebook.replace("/", "/zh/") in fields[-1]
    assert sum(bool(n[3].split("\x1f")[5]) for n in a) == sum(q.follow_up is not None for q in bank)


def test_one_language_and_some_topics_and_no_file_overwritten(tmp_path):
    bank = load_bank()
    deck = tmp_path / "pruning.apkg"
    assert anki.build(deck, "zh", ["pruning", "compression"]) == sum(q.topic in ("pruning", "compression") for q in bank)
    rows = notes(deck)
    assert len(rows) == sum(q.topic in ("pruning", "compression") for q in bank)
    assert all("§" in r[3] and "/zh/" in r[3] and "演示位置" in r[3] for r in rows)
    anki.build(tmp_path / "en.apkg", "en", ["pruning"])
    english = notes(tmp_path / "en.apkg")
    assert english and not {r[0] for r in english} & {r[0] for r in rows}  # another language is another note
    with pytest.raises(ValueError, match="topic must be among"):
        anki.build(tmp_path / "x.apkg", "en", ["cooking"])
    mine = tmp_path / "notes.apkg"
    mine.write_text("my notes")
    refused = cli(tmp_path, "anki", "-o", str(mine))
    assert refused.returncode == 2 and "not overwritten" in refused.stderr and mine.read_text() == "my notes"
    assert cli(tmp_path, "anki", "-o", str(tmp_path / "deck.zip")).returncode == 2


# --- gantutor mock -------------------------------------------------------------------------------

def test_the_design_questions_link_to_sections_that_exist():
    designs = mock.load_designs()
    assert len(designs) >= 4 and any(d.id == "ship-translator-on-phone" for d in designs)
    for d in designs:
        assert "§" in section_label(d.notebook, d.section) and not section_label(d.notebook, d.section).endswith(f"§ {d.section}")
        assert len(d.rubric) >= 5


def test_the_plan_mixes_topics_and_follows_each_question_with_its_follow_up(tmp_path):
    bank = load_bank()
    with Progress(tmp_path / "p.sqlite3") as progress:
        plan = mock.make_plan(bank, progress, 30, seed=3)
        again = mock.make_plan(bank, progress, 30, seed=3)
        with pytest.raises(mock.MockError, match="minutes must be at least 20"):
            mock.make_plan(bank, progress, 10)
    assert plan == again
    parts = [p["part"] for p in plan]
    n = parts.count("question")
    assert parts == ["warmup"] + ["question", "follow_up"] * n + ["drill", "design"] and 4 <= n <= 6
    by_id = {q.id: q for q in bank}
    asked = [by_id[p["ref"]] for p in plan if p["part"] == "question"]
    assert len({q.topic for q in asked}) == n and all(q.follow_up for q in asked)
    assert by_id[plan[0]["ref"]].difficulty == "easy"


def fake(bank):
    """A bank where every third entry has a follow-up (the unit tests do not depend on the real bank's)."""
    follow = {"question": {"en": "And then?", "zh": "然后呢？"}, "answer": {"en": "Then that.", "zh": "然后那样。"}}
    return [dataclasses.replace(q, follow_up=q.follow_up or follow) if i % 3 == 0 else q for i, q in enumerate(bank)]


class Clock:
    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def test_a_scripted_interview_records_every_answer_and_reports_weak_topics_and_sections(tmp_path):
    bank = fake(load_bank())
    right = tmp_path / "right.py"
    with Progress(tmp_path / "p.sqlite3") as progress:
        plan = mock.make_plan(bank, progress, 40, seed=1)
        drill = next(p["ref"] for p in plan if p["part"] == "drill")
        n = sum(p["part"] == "question" for p in plan)
        right.write_text(solution_of(drill))
        drill_file = tmp_path / f"mock_drill_{drill.replace('.', '_')}.py"
        drill_file.write_text("# an older file of mine\n")
        lines = ["warm answer", "", "y"]
        for i in range(n):
            lines += [f"answer {i}", "", "n" if i == 0 else "y", "s"]  # the first one missed; every follow-up skipped
        lines += ["", "COPY", "my design answer", "", "9", "1 2"]
        out = []

        def read(prompt):
            out.append(prompt)
            line = lines.pop(0)
            if line == "COPY":  # the candidate "writes" the function, then checks again
                written = sorted(tmp_path.glob(f"mock_drill_{drill.replace('.', '_')}_*.py"))[-1]
                written.write_text(right.read_text())
                line = ""
            return line
        session = mock.MockInterview(bank, progress, plan, 40, "en", read=read, write=out.append,
                                     clock=Clock(1.0), workdir=tmp_path).run()
        data = progress.mock_session(session)
        records = progress.all()
    assert drill_file.read_text() == "# an older file of mine\n"  # a new file was written beside it
    assert not lines and data["ended"]
    marks = [(a["part"], a["mark"]) for a in data["answers"]]
    assert marks[0] == ("warmup", "y") and marks[1] == ("question", "n") and marks[2] == ("follow_up", "skipped")
    assert marks[-2] == ("drill", "y") and marks[-1] == ("design", "p:1,2")
    assert all(a["seconds"] > 0 for a in data["answers"])
    text = "\n".join(map(str, out))
    missed = next(q for q in bank if q.id == plan[1]["ref"])
    assert f"{missed.topic} (0/2)" in text and section_label(missed.notebook, missed.section) in text
    assert "please answer numbers between 1 and" in text and "Model answer:" in text
    assert records[missed.id].wrong == 1  # the quiz's spaced repetition counts the mock's answers


def test_time_runs_out_and_the_rest_is_listed_as_not_reached(tmp_path):
    bank = fake(load_bank())
    with Progress(tmp_path / "p.sqlite3") as progress:
        plan = mock.make_plan(bank, progress, 20, seed=2)
        out = []
        mock.MockInterview(bank, progress, plan, 20, "zh", read=lambda p: {"> ": ""}.get(p, "a" if "回答" in p else "y"),
                           write=out.append, clock=Clock(200.0), workdir=tmp_path).run()
        data = progress.mock_session()
    text = "\n".join(out)
    assert "时间到。" in text and "未答到：" in text and len(data["answers"]) < len(plan)


def env_for(tmp_path):
    return {**os.environ, "GANTUTOR_DATA_DIR": str(tmp_path / "data"), "GANTUTOR_LANG": "en", "PYTHONUNBUFFERED": "1"}


def mock_rows(db: Path) -> int:
    return count_rows(db, "mock_answers")


def test_in_a_real_terminal_the_first_question_shows_at_once(tmp_path):
    pid, fd = pty.fork()
    if pid == 0:  # the child: gantutor mock on a pseudo-terminal, as a candidate runs it
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "gantutor.cli", "mock", "--seed", "0"], env_for(tmp_path))
    seen, deadline = b"", time.time() + 60
    try:
        while b"Your answer" not in seen and time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if ready:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
        first = seen.decode("utf-8", "replace")
        assert "Warm-up" in first and "Your answer" in first, first[-500:]
        os.write(fd, b"a generator and a discriminator\n\ny\n")
        deadline = time.time() + 30
        while mock_rows(tmp_path / "data" / "progress.sqlite3") < 1 and time.time() < deadline:
            time.sleep(0.1)
        assert mock_rows(tmp_path / "data" / "progress.sqlite3") == 1
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def test_a_mock_killed_mid_way_keeps_every_answer_and_reports_it(tmp_path):
    db = tmp_path / "data" / "progress.sqlite3"
    proc = subprocess.Popen([sys.executable, "-m", "gantutor.cli", "mock", "--seed", "4"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_for(tmp_path), cwd=tmp_path)
    try:
        for k, reply in enumerate(["warm\n\ny\n", "first\n\np\n", "its follow-up\n\nn\n"], 1):
            proc.stdin.write(reply)
            proc.stdin.flush()
            deadline = time.time() + 60
            while mock_rows(db) < k and time.time() < deadline:
                time.sleep(0.05)
        proc.stdin.write("half an answer\n")  # the next answer is being typed when the session dies
        proc.stdin.flush()
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert mock_rows(db) == 3
    report = cli(tmp_path, "mock", "--report")
    assert report.returncode == 0 and "(stopped before the end)" in report.stdout
    assert re.search(r"warm-up .* ✔", report.stdout) and re.search(r"question .* ½", report.stdout)
    assert re.search(r"follow-up .* ✘", report.stdout) and "Not reached:" in report.stdout and "Reread:" in report.stdout


# --- the bank, grown -----------------------------------------------------------------------------

def test_the_bank_holds_150_linked_entries_with_follow_ups_across_topics():
    bank = load_bank()
    assert len(bank) >= 150
    assert check_links(bank, ROOT) == []
    assert set(Counter(q.topic for q in bank)) == set(TOPICS)
    followed = [q for q in bank if q.follow_up and q.difficulty != "easy"]
    assert len(followed) >= 40 and len({q.topic for q in followed}) >= 8
    assert f"({len(bank)} questions" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"（{len(bank)} 道题）" in (ROOT / "README.zh.md").read_text(encoding="utf-8")
