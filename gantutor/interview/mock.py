"""A timed mock interview in the terminal (``gantutor mock``).

    gantutor mock [--minutes 30] [--lang en|zh] [--topic T] [--dir DIR] [--seed N]
    gantutor mock --report [SESSION]     the report of the last (or that) session, also of a stopped one

One sitting: a warm-up question; 4–6 questions from different topics, each followed by the
follow-up an interviewer would ask; one of chapter 8's coding drills (its task is shown and a
starter file written; the candidate writes the function in an editor and the drill's check judges
it); one open design question, whose rubric is shown after the answer. After each answer the
model answer appears and the candidate marks it: covered (y), partly (p) or missed (n); for the
design question, which rubric points the answer covered.

Every answer is written to the progress file (``gantutor.interview.progress``) the moment it is
marked, in its own transaction: a session killed at any point (even ``kill -9``) keeps every answer
given, and ``gantutor mock --report`` prints its report. Bank questions also count for the quiz's
spaced repetition. The report gives the time per question, the weak topics and the sections to reread.
"""
from __future__ import annotations

import random
import unicodedata
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from gantutor.interview import drills as drills_mod
from gantutor.interview.bank import LANGS, TOPICS, Question, _bilingual, _notebook, _text, section_label
from gantutor.interview.progress import Progress
from gantutor.interview.quiz import schedule
from gantutor.interview.terminal import Quit, fill, read_line

DESIGN = Path(__file__).with_name("design.yaml")
MIN_MINUTES = 20
WARMUP_MIN, QUESTION_MIN, DESIGN_MIN = 2, 3, 6
SCORES = {"y": 1.0, "p": 0.5, "n": 0.0, "skipped": 0.0}

TEXT = {
    "en": {
        "intro": ("Mock interview: {minutes:g} min — a warm-up, {n} questions each with a follow-up, a coding drill "
                  "and a design question. Answer as you would aloud; then the model answer is shown and you mark "
                  "yourself. q quits at any prompt: every answer given is kept (gantutor mock --report)."),
        "status": "[{left} left] {label}",
        "warmup": "Warm-up", "question": "Question {i}/{n}", "follow_up": "Follow-up", "drill": "Coding drill",
        "design": "Design question",
        "answer": "Your answer (end with an empty line; s or an empty answer skips, q quits):",
        "model": "Model answer:",
        "mark": "Against the model answer: [y] covered it / [p] partly / [n] missed it: ",
        "again": "please answer {options}",
        "drill_file": ("Write {name} in {path} (about {minutes} min; the file has the task and the imports), then "
                       "press Enter here to check it; s gives up, q quits: "),
        "drill_retry": "Fix it and press Enter to check again; s gives up, q quits: ",
        "rubric": "A strong answer covers:",
        "covered": "Which points did your answer cover? Their numbers, e.g. 1 3 (Enter: none): ",
        "bad_points": "numbers between 1 and {k}, separated by spaces",
        "time_up": "Time is up.",
        "stopped": "Stopped: every answer so far is saved.",
        "report": "Mock interview #{id} — {started}, {minutes:g} min planned, {taken} taken{state}",
        "unfinished": " (stopped before the end)",
        "columns": ("part", "item", "mark", "time"),
        "parts": {"warmup": "warm-up", "question": "question", "follow_up": "follow-up", "drill": "drill",
                  "design": "design"},
        "not_reached": "Not reached: {items}",
        "score": "Score: {got:g} of {total} ({pct:.0f} %)",
        "weak": "Weak topics: {topics}",
        "no_weak": "Weak topics: none in this session",
        "reread": "Reread:",
        "checks": "checked {k}×",
        "saved": "Saved in {path} (session {id}); gantutor mock --report {id} prints this again.",
        "none": "No mock interview in {path} yet: gantutor mock starts one.",
    },
    "zh": {
        "intro": ("模拟面试：{minutes:g} 分钟——一道热身题、{n} 道题（每道都有追问）、一道编程演练和一道设计题。"
                  "像口头回答那样作答；之后会显示参考答案，由你自己评分。任何提示下输入 q 都会退出："
                  "已给出的答案都会保存（gantutor mock --report）。"),
        "status": "[剩余 {left}] {label}",
        "warmup": "热身", "question": "第 {i}/{n} 题", "follow_up": "追问", "drill": "编程演练", "design": "设计题",
        "answer": "你的回答（以空行结束；输入 s 或直接回车跳过，q 退出）：",
        "model": "参考答案：",
        "mark": "对照参考答案：[y] 答到了 / [p] 部分答到 / [n] 没答到：",
        "again": "请输入 {options}",
        "drill_file": "在 {path} 中写好 {name}（约 {minutes} 分钟；文件里有题目和 import），然后在这里按回车检查；s 放弃，q 退出：",
        "drill_retry": "改好后按回车再检查一次；s 放弃，q 退出：",
        "rubric": "好的回答应涵盖：",
        "covered": "你的回答涵盖了哪几点？输入编号，例如 1 3（直接回车：都没有）：",
        "bad_points": "1 到 {k} 之间的数字，用空格分隔",
        "time_up": "时间到。",
        "stopped": "已停止：到目前为止的答案都已保存。",
        "report": "模拟面试 #{id} — {started}，计划 {minutes:g} 分钟，用时 {taken}{state}",
        "unfinished": "（未完成）",
        "columns": ("环节", "题目", "评分", "用时"),
        "parts": {"warmup": "热身", "question": "问题", "follow_up": "追问", "drill": "演练", "design": "设计"},
        "not_reached": "未答到：{items}",
        "score": "得分：{got:g} / {total}（{pct:.0f} %）",
        "weak": "薄弱主题：{topics}",
        "no_weak": "薄弱主题：本次没有",
        "reread": "建议重读：",
        "checks": "检查了 {k} 次",
        "saved": "已保存在 {path}（第 {id} 次）；gantutor mock --report {id} 可再次打印本报告。",
        "none": "{path} 中还没有模拟面试：运行 gantutor mock 开始一次。",
    },
}


class MockError(ValueError):
    """A mock interview that cannot be set up (bad minutes, an empty topic, a broken design file)."""


@dataclass(frozen=True)
class Design:
    id: str
    notebook: str
    section: str
    question: dict
    rubric: tuple  # of {en, zh}


@lru_cache(maxsize=None)
def load_designs(path: str = str(DESIGN)) -> tuple[Design, ...]:
    """The open design questions, validated like the bank."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, list) or not raw:
        raise MockError(f"{path} must be a non-empty YAML list of design questions")
    out = []
    for i, entry in enumerate(raw):
        where = f"design question #{i + 1}"
        if not isinstance(entry, dict) or set(entry) != {"id", "notebook", "section", "question", "rubric"}:
            raise MockError(f"{where}: needs exactly id, notebook, section, question and rubric")
        rubric = entry["rubric"]
        if not isinstance(rubric, list) or len(rubric) < 3:
            raise MockError(f"{where}: rubric must list at least 3 points, each {{en, zh}}")
        out.append(Design(_text(entry["id"], where, "id"), _notebook(entry["notebook"], where, "notebook"),
                          _text(str(entry["section"]), where, "section"), _bilingual(entry["question"], where, "question"),
                          tuple(_bilingual(p, where, "rubric") for p in rubric)))
    return tuple(out)


def make_plan(bank: list[Question], progress: Progress, minutes: float = 30, topic: str | None = None,
              seed: int | None = None) -> list[dict]:
    """The sitting: [{part, ref, minutes}], warm-up, questions (each then its follow-up), drill, design.
    Questions come due-first (the quiz's schedule) from different topics, and all have a follow-up."""
    if minutes < MIN_MINUTES:
        raise MockError(f"minutes must be at least {MIN_MINUTES} (a warm-up, 4 questions with follow-ups, a drill "
                        f"and a design question), got {minutes:g}")
    if topic is not None and topic not in TOPICS:
        raise MockError(f"topic must be one of {', '.join(TOPICS)}; got {topic!r}")
    rng = random.Random(seed)
    pool = [q for q in bank if topic is None or q.topic == topic]
    asked = [q for q in pool if q.follow_up and q.difficulty != "easy"]
    if len(asked) < 4:
        where = f"topic {topic!r} has" if topic else "the bank has"
        raise MockError(f"{where} {len(asked)} questions with a follow-up; a mock interview needs 4"
                        + (" (leave --topic out to mix topics)" if topic else ""))
    warm = [q for q in pool if q.difficulty == "easy" and q not in asked] or [q for q in bank if q.difficulty == "easy"]
    choices = list(drills_mod.drills().values())
    fitting = [d for d in choices if d.minutes <= minutes - WARMUP_MIN - DESIGN_MIN - 4 * QUESTION_MIN] or choices
    drill = rng.choice(fitting)
    n = int(max(4, min(6, (minutes - WARMUP_MIN - DESIGN_MIN - drill.minutes) // QUESTION_MIN)))
    order = schedule(sorted(asked, key=lambda q: rng.random()), progress)  # due first; ties in random order
    picked, topics = [], set()
    for q in order:  # one per topic first, then fill up
        if q.topic not in topics:
            picked.append(q)
            topics.add(q.topic)
        if len(picked) == n:
            break
    picked += [q for q in order if q not in picked][: n - len(picked)]
    plan = [{"part": "warmup", "ref": schedule(sorted(warm, key=lambda q: rng.random()), progress)[0].id,
             "minutes": WARMUP_MIN}]
    for q in picked:
        plan += [{"part": "question", "ref": q.id, "minutes": QUESTION_MIN - 1},
                 {"part": "follow_up", "ref": q.id, "minutes": 1}]
    plan += [{"part": "drill", "ref": drill.number, "minutes": drill.minutes},
             {"part": "design", "ref": rng.choice(load_designs()).id, "minutes": DESIGN_MIN}]
    return plan


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


class MockInterview:
    """One sitting, driven by ``run()``: ``read`` gives the candidate's lines, ``write`` shows text,
    ``clock`` tells the time (seconds), ``workdir`` is where the drill's file is written."""

    def __init__(self, bank: list[Question], progress: Progress, plan: list[dict], minutes: float = 30,
                 lang: str = "en", read=input, write=print, clock=time.monotonic, workdir: Path | None = None,
                 check_timeout: float = drills_mod.TIMEOUT_S):
        if lang not in LANGS:
            raise MockError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
        self.bank, self.by_id = bank, {q.id: q for q in bank}
        self.progress, self.plan, self.minutes, self.lang = progress, plan, minutes, lang
        self.read, self.write, self.clock = read, write, clock
        self.workdir = Path(workdir or Path.cwd())
        self.check_timeout = check_timeout
        self.t = TEXT[lang]
        self.session: int | None = None

    # --- reading and writing -------------------------------------------------------------------------
    def _wrap(self, text: str, indent: str = "  ") -> str:
        """``text`` filled to the terminal's width, paragraph by paragraph (Markdown's hard line breaks
        joined); code blocks and tables are kept as they are."""
        out = []
        for block in text.split("\n\n"):
            if block.lstrip().startswith(("```", "|")):
                out.append("\n".join(indent + line for line in block.splitlines()))
            else:
                out.append(fill(block, indent))
        return "\n\n".join(out)

    def _line(self, prompt: str) -> str:
        return read_line(prompt, self.read)

    def _answer(self) -> str | None:
        """Lines until an empty one; None when the candidate skips (s, or no answer at all)."""
        lines = [self._line(self.t["answer"] + "\n> ")]
        if lines[0].strip().lower() in ("s", ""):
            return None
        while lines[-1].strip():
            lines.append(self._line("> "))
        return "\n".join(lines).strip()

    def _mark(self) -> str:
        while (reply := self._line(self.t["mark"]).strip().lower()) not in ("y", "p", "n", "是"):
            self.write(self.t["again"].format(options="y / p / n / q"))
        return "y" if reply == "是" else reply

    def _left(self) -> float:
        return self.deadline - self.clock()

    def _status(self, label: str) -> None:
        self.write(f"\n{self.t['status'].format(left=_clock(self._left()), label=label)}")

    # --- the parts ------------------------------------------------------------------------------------
    def _ask(self, item: dict, label: str, question: str, model: str, qid: str) -> None:
        q = self.by_id[qid]
        self._status(f"{label} · {q.topic} · {q.difficulty}")
        self.write(self._wrap(question))
        start = self.clock()
        answer = self._answer()
        mark = "skipped"
        self.write(f"{self.t['model']}\n{self._wrap(model)}")
        if answer is not None:
            mark = self._mark()
        self.progress.record_mock(self.session, item["part"], qid, answer or "", mark, SCORES[mark], self.clock() - start)
        if item["part"] in ("warmup", "question"):
            self.progress.record(qid, mark == "y")  # the quiz's spaced repetition counts it too

    def _drill(self, item: dict) -> None:
        drill = drills_mod.get(item["ref"], self.lang)
        self._status(f"{self.t['drill']} {drill.number} · {drill.title} ({drill.minutes} min)")
        self.write(self._wrap(drill.task))
        path, k = self.workdir / f"mock_drill_{drill.number.replace('.', '_')}.py", 1
        while path.exists():  # never over a file the candidate already has
            k += 1
            path = self.workdir / f"mock_drill_{drill.number.replace('.', '_')}_{k}.py"
        drills_mod.write_stub(drill, path, self.lang)
        start, checks, mark = self.clock(), 0, "n"
        prompt = self.t["drill_file"].format(name=drill.name, path=path, minutes=drill.minutes)
        try:
            while True:
                if self._line(prompt).strip().lower() == "s":
                    break
                checks += 1
                passed, output = drills_mod.check_file(drill.number, path, self.lang, timeout=self.check_timeout)
                self.write(output)
                if passed:
                    mark = "y"
                    break
                prompt = self.t["drill_retry"]
        finally:  # a quit during the drill still records the attempt
            self.progress.record_mock(self.session, "drill", drill.number, f"{path} ({checks})", mark, SCORES[mark],
                                      self.clock() - start)

    def _design(self, item: dict) -> None:
        design = {d.id: d for d in load_designs()}[item["ref"]]
        self._status(self.t["design"])
        self.write(self._wrap(design.question[self.lang]))
        start = self.clock()
        answer = self._answer()
        self.write(self.t["rubric"])
        k = len(design.rubric)
        for i, point in enumerate(design.rubric, 1):
            self.write(self._wrap(f"{i}. {point[self.lang]}"))
        covered: set[int] = set()
        if answer is not None:
            while True:
                reply = self._line(self.t["covered"]).replace(",", " ").replace("，", " ").split()
                if all(r.isdigit() and 1 <= int(r) <= k for r in reply):
                    covered = {int(r) for r in reply}
                    break
                self.write(self.t["again"].format(options=self.t["bad_points"].format(k=k)))
        score = len(covered) / k
        mark = "skipped" if answer is None else "y" if score == 1 else "n" if score == 0 else "p"
        self.progress.record_mock(self.session, "design", design.id, answer or "", f"{mark}:{','.join(map(str, sorted(covered)))}",
                                  score, self.clock() - start)

    def run(self) -> int:
        """Sit the interview; returns the session's id (its report: ``report(progress, id)``)."""
        n = sum(item["part"] == "question" for item in self.plan)
        self.session = self.progress.start_mock(self.minutes, self.lang, self.plan)
        self.deadline = self.clock() + 60 * self.minutes
        self.write(self._wrap(self.t["intro"].format(minutes=self.minutes, n=n), indent=""))
        i = 0
        try:
            for item in self.plan:
                if self._left() <= 0:
                    self.write(self.t["time_up"])
                    break
                if item["part"] == "warmup":
                    q = self.by_id[item["ref"]]
                    self._ask(item, self.t["warmup"], q.question[self.lang], q.answer[self.lang], q.id)
                elif item["part"] == "question":
                    i += 1
                    q = self.by_id[item["ref"]]
                    self._ask(item, self.t["question"].format(i=i, n=n), q.question[self.lang], q.answer[self.lang], q.id)
                elif item["part"] == "follow_up":
                    q = self.by_id[item["ref"]]
                    self._ask(item, self.t["follow_up"], q.follow_up["question"][self.lang],
                              q.follow_up["answer"][self.lang], q.id)
                elif item["part"] == "drill":
                    self._drill(item)
                else:
                    self._design(item)
        except Quit:
            self.write("\n" + self.t["stopped"])
        self.progress.end_mock(self.session)
        self.write("\n" + report(self.progress, self.session, self.bank))
        return self.session


def report(progress: Progress, session: int | None = None, bank: list[Question] | None = None) -> str:
    """A session's report, from the progress file alone (so a killed session has one too)."""
    from datetime import datetime

    from gantutor.interview.bank import load_bank

    data = progress.mock_session(session)
    if data is None:
        return TEXT["en"]["none"].format(path=progress.path)
    t, lang = TEXT[data["lang"]], data["lang"]
    by_id = {q.id: q for q in (bank if bank is not None else load_bank())}
    designs = {d.id: d for d in load_designs()}
    answers = data["answers"]
    taken = sum(a["seconds"] for a in answers)
    lines = [t["report"].format(id=data["id"], started=datetime.fromisoformat(data["started"]).strftime("%Y-%m-%d %H:%M"),
                                minutes=data["minutes"], taken=_clock(taken),
                                state="" if data["ended"] else t["unfinished"]), ""]
    rows = [t["columns"]]
    topic_scores: dict[str, list[float]] = {}
    reread: list[str] = []
    for a in answers:
        mark = a["mark"].split(":")[0]
        shown = {"y": "✔", "p": "½", "n": "✘", "skipped": "–"}[mark]
        item = a["ref"]
        if a["part"] == "design":
            k = len(designs[a["ref"]].rubric) if a["ref"] in designs else 0
            shown = f"{round(a['score'] * k)}/{k}"
        elif a["part"] == "drill":
            shown += " (" + t["checks"].format(k=a["answer"].rsplit("(", 1)[-1].rstrip(")")) + ")"
        elif a["ref"] in by_id:
            q = by_id[a["ref"]]
            item = f"{a['ref']} ({q.topic})"
            topic_scores.setdefault(q.topic, []).append(a["score"])
        rows.append((t["parts"][a["part"]], item, shown, _clock(a["seconds"])))
        if a["score"] < 1:
            where = _where(a, by_id, designs, lang)
            if where and where not in reread:
                reread.append(where)
    def cols(text):  # terminal columns: a Chinese character takes two
        return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)
    widths = [max(cols(r[i]) for r in rows) for i in range(4)]
    lines += ["  ".join(c + " " * (w - cols(c)) for c, w in zip(r, widths)).rstrip() for r in rows]
    done = {(a["part"], a["ref"]) for a in answers}
    missing = [f"{t['parts'][p['part']]} {p['ref']}" for p in data["plan"] if (p["part"], p["ref"]) not in done]
    if missing:
        lines += ["", t["not_reached"].format(items=", ".join(missing))]
    got = sum(a["score"] for a in answers)
    total = len(data["plan"])
    lines += ["", t["score"].format(got=round(got, 2), total=total, pct=100 * got / total if total else 0)]
    weak = [f"{topic} ({sum(s):g}/{len(s)})" for topic, s in topic_scores.items() if sum(s) / len(s) < 0.75]
    lines.append(t["weak"].format(topics=", ".join(weak)) if weak else t["no_weak"])
    if reread:
        lines += [t["reread"], *[f"  - {w}" for w in reread]]
    lines += ["", t["saved"].format(path=progress.path, id=data["id"])]
    return "\n".join(lines)


def _where(answer: dict, by_id: dict, designs: dict, lang: str) -> str | None:
    if answer["part"] == "drill":
        drill = drills_mod.get(answer["ref"], lang)
        return section_label("solutions/08_interview_drill.ipynb", f"Drill {drill.number}", lang)
    if answer["part"] == "design" and answer["ref"] in designs:
        d = designs[answer["ref"]]
        return section_label(d.notebook, d.section, lang)
    q = by_id.get(answer["ref"])
    return section_label(q.notebook, q.section, lang) if q else None
