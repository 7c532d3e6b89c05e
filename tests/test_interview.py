"""The question bank's schema, the progress file, the quiz logic (terminal and widget, headless)."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from _db import count_rows
from gantutor import cli
from gantutor.interview import Progress, ProgressError, QuizSession, corner_markdown, load_bank, select, sheet, terminal
from gantutor.interview.bank import ORIGINS, BankError, check_links, has_section, parse_bank
from gantutor.interview.progress import MAX_BOX, interval
from gantutor.interview.widget import QuizModel

ROOT = Path(__file__).resolve().parents[1]


def entry(ident="q-one", topic="basics", **extra):
    return {"id": ident, "topic": topic, "difficulty": "easy", "notebook": "notebooks/01_minimax.ipynb", "section": "3",
            "question": {"en": f"What is {ident}?", "zh": f"{ident} 是什么？"},
            "answer": {"en": f"The answer to {ident}.", "zh": f"{ident} 的答案。"},
            "explanation": {"en": "Because.", "zh": "因为。"}, **extra}


def small_bank(n=6):
    topics = ["basics", "basics", "theory", "theory", "pruning", "pruning"]
    return parse_bank(yaml.safe_dump([entry(f"q-{i}", topics[i % 6]) for i in range(n)], allow_unicode=True))


# --- the bank ----------------------------------------------------------------------------------


def test_the_bank_loads_with_at_least_60_bilingual_questions():
    bank = load_bank()
    assert len(bank) >= 60
    for q in bank:
        for field in ("question", "answer", "explanation"):
            assert q[field]["en"] and q[field]["zh"], (q.id, field)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in q.question["zh"]), f"{q.id}: question.zh has no Chinese"


def test_every_notebook_link_of_the_bank_exists():
    assert check_links(load_bank(), ROOT) == []


SOURCE_003 = ["GAN是用来干什么的,怎么用的,介绍一下", "GANs的优缺点是什么?", "GAN为什么不好收敛", "为什么GAN中的优化器不常用SGD",
              "生成对抗网络在哪里用到的,起什么作用,损失函数是什么", "训练GAN的一些技巧", "说说GAN的训练过程", "Pix2pix和cycleGan的区别"]


def test_every_question_of_the_interview_list_003_is_in_the_bank():
    quoted = {q.origin_text for q in load_bank() if q.origin == "003_4919ffb1877dc778.txt"}
    missing = [s for s in SOURCE_003 if s not in quoted]
    assert not missing, f"questions of 003 without an entry: {missing}"


def test_the_banks_origins_are_the_source_documents():
    origins = {q.origin for q in load_bank() if q.origin}
    assert origins <= set(ORIGINS) and "000_210d99f548ec2e09.txt" in origins


@pytest.mark.parametrize("change, message", [
    (lambda e: e.pop("answer"), "field 'answer' is missing"),
    (lambda e: e["question"].pop("zh"), "field 'question.zh' is missing or empty"),
    (lambda e: e.update(topic="cooking"), "field 'topic' must be one of"),
    (lambda e: e.update(difficulty="trivial"), "field 'difficulty'"),
    (lambda e: e.update(notebook="chapter1.ipynb"), "field 'notebook'"),
    (lambda e: e.update(colour="red"), "field 'colour' is not in the schema"),
    (lambda e: e.update(origin="999_made_up.txt"), "field 'origin'"),
    (lambda e: e.update(wrong={"en": "x", "zh": "y"}), "field 'wrong.why' is missing"),
    (lambda e: e.update(id="Has Spaces"), "field 'id'"),
])
def test_a_malformed_entry_is_refused_naming_the_entry_and_the_field(change, message):
    bad = entry("broken-entry")
    change(bad)
    with pytest.raises(BankError, match=message) as err:
        parse_bank(yaml.safe_dump([entry("fine"), bad], allow_unicode=True))
    assert "#2" in str(err.value) and ("broken-entry" in str(err.value) or "Has Spaces" in str(err.value))


def test_a_repeated_id_and_a_broken_file_are_refused():
    with pytest.raises(BankError, match="'same'.*repeats entry #1"):
        parse_bank(yaml.safe_dump([entry("same"), entry("same")]))
    with pytest.raises(BankError, match="not valid YAML"):
        parse_bank("- id: [unclosed")
    with pytest.raises(BankError, match="non-empty YAML list"):
        parse_bank("id: x")


def test_a_link_to_a_missing_notebook_or_section_is_reported(tmp_path):
    bank = parse_bank(yaml.safe_dump([entry("a"), entry("b", section="99"), entry("c", notebook="notebooks/42_nothing.ipynb")]))
    problems = check_links(bank, ROOT)
    assert len(problems) == 2 and "'b'" in problems[0] and "'c'" in problems[1]
    assert has_section(["4.1 FID — and the floor under it"], "4.1") and not has_section(["4.1 FID"], "4")
    assert has_section(["Interview corner"], "interview corner")


# --- progress ----------------------------------------------------------------------------------


def test_right_answers_climb_the_boxes_and_a_wrong_one_sends_it_back(tmp_path):
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with Progress(tmp_path / "p.sqlite3") as p:
        for k in range(1, MAX_BOX + 2):
            r = p.record("q", True, when=t0)
        assert r.box == MAX_BOX and r.seen == MAX_BOX + 1 and r.right == MAX_BOX + 1
        assert datetime.fromisoformat(r.due) - t0 == timedelta(days=16)
        r = p.record("q", False, when=t0)
        assert (r.box, r.wrong, r.due) == (0, 1, t0.isoformat())
        assert [ok for _, ok, _ in p.answers()] == [True] * (MAX_BOX + 1) + [False]
    assert [interval(b).days for b in range(6)] == [0, 1, 2, 4, 8, 16]


def test_progress_survives_reopening(tmp_path):
    with Progress(tmp_path / "p.sqlite3") as p:
        p.record("a", True)
        p.record("b", False)
    with Progress(tmp_path / "p.sqlite3") as p:
        assert {k: (r.right, r.wrong) for k, r in p.all().items()} == {"a": (1, 0), "b": (0, 1)}


def test_the_data_dir_follows_GANTUTOR_DATA_DIR(tmp_path, monkeypatch):
    monkeypatch.setenv("GANTUTOR_DATA_DIR", str(tmp_path / "mine"))
    with Progress() as p:
        p.record("a", True)
    assert p.path == tmp_path / "mine" / "progress.sqlite3" and p.path.is_file()


@pytest.mark.parametrize("content", [b"this is not a database at all" * 10, b"SQLite format 3\x00" + b"\x00garbage" * 200])
def test_a_corrupt_progress_file_is_set_aside_and_reported_never_overwritten(tmp_path, content):
    path = tmp_path / "progress.sqlite3"
    path.write_bytes(content)
    with pytest.warns(UserWarning, match="kept as .*corrupt"):
        p = Progress(path)
    assert p.set_aside is not None and p.set_aside.read_bytes() == content
    p.record("a", True)
    assert p.get("a").right == 1
    p.close()


def test_an_unreadable_progress_file_is_set_aside(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = tmp_path / "progress.sqlite3"
    Progress(path).close()
    path.chmod(0)
    with pytest.warns(UserWarning, match="unreadable"):
        p = Progress(path)
    assert p.set_aside.exists()
    p.close()


def test_a_progress_path_that_cannot_be_read_as_a_file_is_set_aside(tmp_path):
    path = tmp_path / "progress.sqlite3"
    path.mkdir()  # unreadable as a file, even for root
    (path / "kept.txt").write_text("mine")
    with pytest.warns(UserWarning, match="unreadable"):
        p = Progress(path)
    assert (p.set_aside / "kept.txt").read_text() == "mine"
    p.record("a", True)
    assert path.is_file()
    p.close()


def test_a_progress_file_that_cannot_be_moved_aside_is_an_error_not_overwritten(tmp_path, monkeypatch):
    path = tmp_path / "progress.sqlite3"
    path.write_bytes(b"not sqlite" * 20)
    monkeypatch.setattr(Path, "rename", lambda self, target: (_ for _ in ()).throw(PermissionError("read-only")))
    with pytest.raises(ProgressError, match="could not be moved aside"):
        Progress(path)
    assert path.read_bytes() == b"not sqlite" * 20


def test_another_programs_database_is_not_written_into(tmp_path):
    path = tmp_path / "progress.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.close()
    with pytest.warns(UserWarning, match="another program"):
        Progress(path).close()


# --- the quiz ----------------------------------------------------------------------------------


def test_a_quiz_asks_due_questions_first_then_unseen_then_the_rest(tmp_path):
    bank = small_bank()
    with Progress(tmp_path / "p.sqlite3") as p:
        p.record("q-0", True)                                       # box 1: due tomorrow
        p.record("q-1", False)                                      # box 0: due now
        session = QuizSession(bank, p, n=6)
        assert [q.id for q in session.queue] == ["q-1", "q-2", "q-3", "q-4", "q-5", "q-0"]


def test_a_wrong_answer_comes_back_within_the_same_quiz(tmp_path):
    with Progress(tmp_path / "p.sqlite3") as p:
        session = QuizSession(small_bank(), p, n=5)
        first = session.current.id
        session.answer(False)
        assert [q.id for q in session.queue].index(first) == 3
        while not session.done:
            session.answer(True)
        assert session.score == (5, 6) and p.get(first).wrong == 1 and p.get(first).right == 1


def test_multiple_choice_holds_the_answer_and_the_common_wrong_one(tmp_path):
    wrong = {"en": "A tempting mistake.", "zh": "诱人的错误。", "why": {"en": "No.", "zh": "不。"},
             "notebook": "notebooks/01_minimax.ipynb", "section": "3"}
    bank = parse_bank(yaml.safe_dump([entry("a", wrong=wrong)] + [entry(f"b-{i}") for i in range(5)], allow_unicode=True))
    with Progress(tmp_path / "p.sqlite3") as p:
        session = QuizSession(bank, p, n=1, mode="choice", lang="zh")
        options, right = session.choices()
        assert len(options) == 4 and options[right] == "a 的答案。" and "诱人的错误。" in options
        assert session.choices() == (options, right)                    # stable while the question is shown
        assert session.choose((right + 1) % 4) is False and p.get("a").wrong == 1
        with pytest.raises(ValueError, match="index"):
            QuizSession(bank, p, n=1, mode="choice").choose(7)


def test_quiz_arguments_are_checked(tmp_path):
    with Progress(tmp_path / "p.sqlite3") as p:
        for kwargs, message in [({"lang": "fr"}, "lang"), ({"mode": "essay"}, "mode"), ({"n": 0}, "n must"),
                                ({"topic": "cooking"}, "topic"), ({"topic": "losses"}, "no question")]:
            with pytest.raises(ValueError, match=message):
                QuizSession(small_bank(), p, **kwargs)


def test_the_terminal_quiz_answers_quits_and_resumes(tmp_path):
    bank = small_bank()
    with Progress(tmp_path / "p.sqlite3") as p:
        replies = iter(["", "y", "", "n", "", "maybe", "q"])
        out = []
        assert terminal.run(QuizSession(bank, p, n=6), read=lambda _: next(replies), write=out.append) == (1, 2)
        assert "please answer y / n / q" in "\n".join(out) and len(p.all()) == 2
        resumed = QuizSession(bank, p, n=6)
        assert resumed.current.id == "q-1"                             # the one answered wrong, then the unseen ones
        assert [q.id for q in resumed.queue][1:5] == ["q-2", "q-3", "q-4", "q-5"]
        replies = iter(["9", "1", "2"])

        def read(_):
            try:
                return next(replies)
            except StopIteration:
                raise EOFError from None
        assert terminal.run(QuizSession(bank, p, n=2, mode="choice"), read=read, write=out.append)[1] == 2


def test_the_terminal_quiz_in_chinese_uses_full_width_punctuation(tmp_path):
    with Progress(tmp_path / "p.sqlite3") as p:
        shown, replies = [], iter(["", "y", "", "maybe", "q", "9", "q"])
        read = lambda prompt: shown.append(prompt) or next(replies)  # noqa: E731
        terminal.run(QuizSession(small_bank(), p, n=3, lang="zh"), read=read, write=shown.append)
        terminal.run(QuizSession(small_bank(), p, n=1, lang="zh", mode="choice"), read=read, write=shown.append)
    text = "\n".join(shown)
    assert "答对了吗？" in text and "本次答对 1/1；" in text and "1、2、3、4 / q" in text
    assert not re.search(r"[\u4e00-\u9fff][,:;?()]|[,:;?()][\u4e00-\u9fff]", text), text


def test_the_widget_model_drives_a_quiz_headless(tmp_path):
    with Progress(tmp_path / "p.sqlite3") as p:
        model = QuizModel(p, bank=small_bank())
        with pytest.raises(RuntimeError, match="start"):
            model.state()
        state = model.start(topic="theory", n=2)
        assert state["topic"] == "theory" and state["answer"] is None
        with pytest.raises(RuntimeError, match="reveal"):
            model.mark(True)
        assert model.reveal()["answer"].startswith("The answer")
        state = model.mark(False)
        assert state["feedback"].startswith("✘") and state["score"] == (0, 1)
        state = model.start(mode="choice", n=1, lang="zh")
        right = state["options"].index(model.session.current.answer["zh"])
        assert model.pick(right)["done"] and model.state()["score"] == (1, 1)


def test_the_widget_view_builds_and_clicks_through(tmp_path, monkeypatch):
    pytest.importorskip("ipywidgets")
    from gantutor.interview.widget import quiz_widget
    monkeypatch.setenv("GANTUTOR_DATA_DIR", str(tmp_path))
    box = quiz_widget(n=2)
    box.buttons["reveal"].click()
    box.buttons["knew"].click()
    box.buttons["reveal"].click()
    box.buttons["missed"].click()
    assert box.model.session.score == (1, 2)
    box.controls["mode"].value = "choice"
    box.buttons["start"].click()
    box.options.children[0].click()
    assert box.model.session.score[1] == 1


def test_corners_and_sheets(tmp_path):
    bank = small_bank()
    text = corner_markdown(["q-2", "q-0"], bank=bank)
    assert text.index("q-2") < text.index("q-0") and "The answer to q-2." in text
    with pytest.raises(ValueError, match="no question 'nope'"):
        corner_markdown(["nope"], bank=bank)
    blank, solved = sheet(bank[:2], answers=False), sheet(bank[:2], answers=True, lang="zh")
    assert "The answer" not in blank and "q-1 的答案。" in solved
    page = sheet(bank[:1], fmt="html")
    assert page.startswith("<!DOCTYPE html>") and "<b>Answer:</b>" in page
    assert [q.id for q in select(bank, topic="pruning")] == ["q-4", "q-5"]


# --- the command -------------------------------------------------------------------------------


def run_cli(tmp_path, *args, stdin=""):
    env = {**os.environ, "GANTUTOR_DATA_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "gantutor.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=60)


def test_the_command_quizzes_and_reports_progress_as_json(tmp_path):
    done = run_cli(tmp_path, "quiz", "--n", "2", "--lang", "zh", stdin="\ny\n\nn\n")
    assert done.returncode == 0, done.stderr
    assert "本次答对 1/2" in done.stdout
    report = json.loads(run_cli(tmp_path, "progress", "--json").stdout)
    counts = report["progress"]
    assert len(counts) == 2 and sorted((r["right"], r["wrong"]) for r in counts.values()) == [(0, 1), (1, 0)]
    assert "2 of" in run_cli(tmp_path, "progress").stdout
    assert run_cli(tmp_path, "quiz", "--topic", "cooking").returncode == 2


def test_a_quiz_killed_mid_way_keeps_every_answer_given(tmp_path):
    env = {**os.environ, "GANTUTOR_DATA_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gantutor.cli", "quiz", "--n", "5"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    db = tmp_path / "progress.sqlite3"

    def answered():
        return count_rows(db, "answers")
    try:
        for k, mark in enumerate(["y", "n", "y"], 1):
            proc.stdin.write(f"\n{mark}\n")
            proc.stdin.flush()
            deadline = time.time() + 30
            while answered() < k and time.time() < deadline:
                time.sleep(0.05)
        proc.stdin.write("\n")  # the 4th answer is shown, not marked, when the quiz dies
        proc.stdin.flush()
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert answered() == 3
    report = json.loads(run_cli(tmp_path, "progress", "--json").stdout)["progress"]
    assert sorted(r["right"] for r in report.values()) == [0, 1, 1]
    again = run_cli(tmp_path, "quiz", "--n", "1", stdin="\ny\n")
    assert again.returncode == 0 and "1/1 right" in again.stdout and answered() == 4


def test_a_corrupt_progress_file_is_reported_by_the_command(tmp_path):
    (tmp_path / "progress.sqlite3").write_text("garbage" * 50)
    done = run_cli(tmp_path, "progress", "--json")
    assert done.returncode == 0 and "kept as" in done.stderr and "corrupt" in done.stderr
    assert list(tmp_path.glob("progress.sqlite3.corrupt-*"))


def test_the_teacher_sheet_goes_to_a_file(tmp_path):
    out = tmp_path / "sheet.html"
    done = run_cli(tmp_path, "sheet", "--topic", "pruning", "--n", "3", "--format", "html", "--answers", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").count("<h2>") == 3


def test_cli_main_rejects_a_bad_n(capsys):
    with pytest.raises(SystemExit):
        cli.main(["quiz", "--n", "0"])
    assert "--n must be at least 1" in capsys.readouterr().err


# --- the chapters' Interview corners -----------------------------------------------------------

CORNER = re.compile(r"corner\(\[(?P<ids>[^\]]*)\]")


def cited_ids(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    return [i for s in sources for m in CORNER.finditer(s) for i in re.findall(r"[\"']([^\"']+)[\"']", m.group("ids"))]


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("0[1-9]_*.ipynb")), ids=lambda p: p.name)
def test_every_chapter_has_an_interview_corner_whose_ids_are_in_the_bank(path):
    ids = cited_ids(path)
    if path.name.startswith("08_"):  # the drill chapter's corner is computed: the questions of 003
        assert "corner([q.id for q in core])" in path.read_text(encoding="utf-8")
        return
    assert ids, f"{path.name} has no Interview corner generated from the bank (corner([...]))"
    known = {q.id for q in load_bank()}
    assert not [i for i in ids if i not in known], f"{path.name} cites ids that are not in the bank"
