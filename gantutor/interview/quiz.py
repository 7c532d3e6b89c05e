"""Quiz logic shared by the terminal quiz, the notebook widget and the teacher's sheet.

A ``QuizSession`` picks questions from the bank (filtered by topic and difficulty), due ones
first (see ``progress``: wrong answers come back sooner), asks them as flash cards (reveal, then
mark yourself right or wrong) or as multiple choice, and records every answer at once.
"""
from __future__ import annotations

import html
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone

from gantutor.i18n import pick
from gantutor.interview.bank import DIFFICULTIES, LANGS, TOPICS, Question, load_bank
from gantutor.interview.progress import REQUEUE_GAP, Progress

MODES = ("flash", "choice")
LABELS = {"en": {"question": "Question", "answer": "Answer", "explanation": "Why", "wrong": "A common wrong answer",
                 "see": "See"},
          "zh": {"question": "问题", "answer": "答案", "explanation": "解析", "wrong": "常见错误答案", "see": "参见"}}


def _one_of(value, allowed, name):
    if value is not None and value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")
    return value


def select(bank: list[Question], topic: str | None = None, difficulty: str | None = None,
           ids: list[str] | None = None) -> list[Question]:
    """The questions of ``bank`` with that topic / difficulty, or with those ids (in that order)."""
    _one_of(topic, TOPICS, "topic")
    _one_of(difficulty, DIFFICULTIES, "difficulty")
    if ids is not None:
        known = {q.id: q for q in bank}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ValueError(f"ids: no question {unknown[0]!r} in the bank")
        return [known[i] for i in ids]
    return [q for q in bank if (topic is None or q.topic == topic) and (difficulty is None or q.difficulty == difficulty)]


def schedule(questions: list[Question], progress: Progress, now: datetime | None = None) -> list[Question]:
    """Order for a quiz: overdue first (most overdue first), then never seen, then the rest by due date."""
    now = now or datetime.now(timezone.utc)
    records = progress.all()

    def key(item):
        i, q = item
        r = records.get(q.id)
        if r is None:
            return (1, "", i)
        return (0 if datetime.fromisoformat(r.due) <= now else 2, r.due, i)
    return [q for _, q in sorted(enumerate(questions), key=key)]


def choices_for(q: Question, bank: list[Question], lang: str = "en", k: int = 4, seed: int = 0) -> tuple[list[str], int]:
    """Multiple-choice options for ``q``: its answer, the common wrong answer if it has one, and
    answers to other questions of the same topic (then any topic), shuffled. Returns (options, index of the right one)."""
    rng = random.Random(f"{seed}-{q.id}")
    distractors = [q.wrong[lang]] if q.wrong else []
    same = [o.answer[lang] for o in bank if o.topic == q.topic and o.id != q.id]
    other = [o.answer[lang] for o in bank if o.topic != q.topic]
    rng.shuffle(same)
    rng.shuffle(other)
    for text in same + other:
        if len(distractors) >= k - 1:
            break
        if text != q.answer[lang] and text not in distractors:
            distractors.append(text)
    options = [q.answer[lang]] + distractors
    rng.shuffle(options)
    return options, options.index(q.answer[lang])


@dataclass
class QuizSession:
    """One sitting of the quiz. Use ``current``, then ``answer(True/False)`` (flash card) or ``choose(i)``."""

    bank: list[Question]
    progress: Progress
    n: int = 10
    lang: str = "en"
    mode: str = "flash"
    topic: str | None = None
    difficulty: str | None = None
    seed: int = 0
    queue: list[Question] = field(init=False)
    results: list[tuple[str, bool]] = field(init=False, default_factory=list)

    def __post_init__(self):
        _one_of(self.lang, LANGS, "lang")
        _one_of(self.mode, MODES, "mode")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"n must be a positive integer, got {self.n!r}")
        pool = select(self.bank, self.topic, self.difficulty)
        if not pool:
            raise ValueError(f"no question has topic={self.topic!r} and difficulty={self.difficulty!r}")
        self.queue = schedule(pool, self.progress)[: self.n]

    @property
    def done(self) -> bool:
        return not self.queue

    @property
    def current(self) -> Question | None:
        return self.queue[0] if self.queue else None

    @property
    def score(self) -> tuple[int, int]:
        """(right, answered) in this sitting."""
        return sum(ok for _, ok in self.results), len(self.results)

    def choices(self) -> tuple[list[str], int]:
        """The current question's options and the index of the right one (multiple choice)."""
        return choices_for(self._need_current(), self.bank, self.lang, seed=self.seed)

    def answer(self, correct: bool) -> bool:
        """Record the current question as answered right or wrong, and move on."""
        q = self._need_current()
        self.progress.record(q.id, bool(correct))
        self.results.append((q.id, bool(correct)))
        self.queue.pop(0)
        if not correct:  # it comes back after REQUEUE_GAP other questions (or at the end)
            self.queue.insert(min(REQUEUE_GAP, len(self.queue)), q)
        return bool(correct)

    def choose(self, index: int) -> bool:
        """Answer a multiple-choice question by option index; returns whether it was right."""
        options, right = self.choices()
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(options):
            raise ValueError(f"index must be an option number from 0 to {len(options) - 1}, got {index!r}")
        return self.answer(index == right)

    def _need_current(self) -> Question:
        if self.current is None:
            raise RuntimeError("the quiz is over: no current question")
        return self.current


def _block(q: Question, lang: str, answers: bool) -> list[str]:
    t = LABELS[lang]
    lines = [q.question[lang], ""]
    if answers:
        lines += [f"**{t['answer']}:** {q.answer[lang]}", "", f"*{t['explanation']}:* {q.explanation[lang]}", ""]
        if q.wrong:
            lines += [f"*{t['wrong']}:* {q.wrong[lang]} — {q.wrong['why'][lang]}", ""]
        lines += [f"*{t['see']}:* `{q.notebook}` §{q.section}", ""]
    return lines


def corner_markdown(ids: list[str], lang: str = "en", bank: list[Question] | None = None) -> str:
    """A chapter's Interview corner as Markdown: the bank's questions ``ids``, with short answers."""
    _one_of(lang, LANGS, "lang")
    lines, t = [], LABELS[lang]
    for q in select(bank if bank is not None else load_bank(), ids=ids):
        lines += [f"**Q: {q.question[lang]}** {q.answer[lang]}", ""]
        if q.wrong:
            lines += [f"> *{t['wrong']}:* {q.wrong[lang]} — {q.wrong['why'][lang]}", ""]
    note = ("*From the question bank (ids: " + ", ".join(ids) + "). Drill them in chapter 8 or with `gantutor quiz`.*"
            if lang == "en" else "*来自题库(编号:" + ", ".join(ids) + ")。在第 8 章或用 `gantutor quiz` 练习。*")
    return "\n".join(lines + [note])


def corner(ids: list[str], lang: str | None = None):
    """Show a chapter's Interview corner in a notebook (Markdown output), in ``lang`` (by default the
    learner's language, ``GANTUTOR_LANG``)."""
    from IPython.display import Markdown
    return Markdown(corner_markdown(ids, pick(lang)))


def sheet(questions: list[Question], answers: bool = True, fmt: str = "md", lang: str = "en",
          title: str | None = None) -> str:
    """A printable quiz sheet (Markdown or HTML), with or without the answers."""
    _one_of(fmt, ("md", "html"), "fmt")
    _one_of(lang, LANGS, "lang")
    title = title or {"en": "GAN interview quiz", "zh": "GAN 面试测验"}[lang]
    if not questions:
        raise ValueError("questions is empty: nothing to print")
    lines = [f"# {title}", ""]
    for i, q in enumerate(questions, 1):
        body = _block(q, lang, answers)
        lines += [f"## {i}. {body[0]}", *(body[1:] if answers else ["", "&nbsp;", ""])]
    text = "\n".join(lines)
    if fmt == "md":
        return text
    return _markdown_to_html(text, title)


def _markdown_to_html(text: str, title: str) -> str:
    """The small subset of Markdown the sheet uses (headings, bold, italics, code) as standalone HTML."""
    import re
    out = []
    for line in text.splitlines():
        esc = html.escape(line).replace("&amp;nbsp;", "&nbsp;")
        esc = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", esc)
        esc = re.sub(r"\*(.+?)\*", r"<i>\1</i>", esc)
        esc = re.sub(r"`(.+?)`", r"<code>\1</code>", esc)
        if esc.startswith("## "):
            out.append(f"<h2>{esc[3:]}</h2>")
        elif esc.startswith("# "):
            out.append(f"<h1>{esc[2:]}</h1>")
        elif esc:
            out.append(f"<p>{esc}</p>")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html.escape(title) + "</title>"
            "<style>body{font-family:sans-serif;max-width:48em;margin:2em auto}h2{font-size:1.1em;margin-top:1.6em}"
            "@media print{h2{page-break-inside:avoid}}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n")
