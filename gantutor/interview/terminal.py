"""The quiz in a terminal: plain ``input()`` and ``print()``, so it works over ssh and with no display.

Each answer is saved the moment it is given; ``q`` (or Ctrl-C, or end of input) stops the quiz
and the next ``gantutor quiz`` goes on with what is due.
"""
from __future__ import annotations

import re
import unicodedata

from gantutor.interview.quiz import QuizSession

PROMPTS = {
    "en": {"reveal": "[Enter] show the answer, q quit: ", "mark": "Did you know it? [y]es / [n]o / q quit: ",
           "pick": "Your choice (1-{k}), q quit: ", "right": "✔ right", "wrong": "✘ not quite — the answer:",
           "score": "{right}/{total} right this time; progress saved to {path}", "again": "please answer {options}",
           "none": "nothing answered; progress file: {path}", "sep": ", "},
    "zh": {"reveal": "[回车] 显示答案，q 退出：", "mark": "答对了吗？[y]是 / [n]否 / q 退出：",
           "pick": "你的选择（1-{k}），q 退出：", "right": "✔ 正确", "wrong": "✘ 不对——正确答案：",
           "score": "本次答对 {right}/{total}；进度已保存到 {path}", "again": "请输入 {options}",
           "none": "本次未作答；进度文件：{path}", "sep": "、"},
}  # Chinese prompts take full-width punctuation (，。：；？（）), which carries its own spacing


class Quit(Exception):
    """The learner quit: q (or quit, exit), Ctrl-C or the end of input."""


def read_line(prompt: str, read) -> str:
    """The learner's reply as typed; ``Quit`` when they quit."""
    try:
        reply = read(prompt)
    except (EOFError, KeyboardInterrupt):
        raise Quit from None
    if reply.strip().lower() in ("q", "quit", "exit"):
        raise Quit
    return reply


def _ask(prompt: str, read) -> str:
    return read_line(prompt, read).strip().lower()


COLUMNS = 88  # a terminal line; a Chinese character takes two columns


def _columns(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def fill(paragraph: str, indent: str = "  ", columns: int = COLUMNS) -> str:
    """One paragraph filled to ``columns`` terminal columns: at spaces, and between Chinese characters
    (which take two columns each; a line does not start with closing punctuation)."""
    words = re.findall(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f][，。：；！？、）」』》]*|\S+|\s+",
                       " ".join(paragraph.split()))
    lines, line, width = [], indent, len(indent)
    for word in words:
        w = sum(_columns(c) for c in word)
        if word.isspace():
            if width > len(indent):
                line, width = line + " ", width + 1
            continue
        if width + w > columns and width > len(indent):
            lines.append(line.rstrip())
            line, width = indent, len(indent)
        line, width = line + word, width + w
    lines.append(line.rstrip())
    return "\n".join(lines)


def _wrap(text: str, indent: str = "  ") -> str:
    return "\n".join(fill(p, indent) for p in text.split("\n"))


def run(session: QuizSession, read=input, write=print) -> tuple[int, int]:
    """Ask the session's questions until it is done or the learner quits; returns (right, answered)."""
    p = PROMPTS[session.lang]
    try:
        while not session.done:
            q = session.current
            right, total = session.score
            write(f"\n[{total + 1}] {q.topic} · {q.difficulty} · {q.id}\n{_wrap(q.question[session.lang])}")
            if session.mode == "choice":
                _ask_choice(session, read, write, p)
            else:
                _ask_flash(session, read, write, p)
    except Quit:
        write("")
    right, total = session.score
    where = session.progress.path
    write(p["score"].format(right=right, total=total, path=where) if total else p["none"].format(path=where))
    return right, total


def _ask_flash(session, read, write, p):
    q, lang = session.current, session.lang
    _ask(p["reveal"], read)
    write(_wrap(q.answer[lang]) + "\n" + _wrap(q.explanation[lang], "    "))
    while (reply := _ask(p["mark"], read)) not in ("y", "n", "yes", "no", "是", "否"):
        write(p["again"].format(options="y / n / q"))
    session.answer(reply in ("y", "yes", "是"))


def _ask_choice(session, read, write, p):
    q, lang = session.current, session.lang
    options, right = session.choices()
    for i, text in enumerate(options, 1):
        write(f"  {i}. " + _wrap(text, "     ").lstrip())
    valid = [str(i) for i in range(1, len(options) + 1)]
    while (reply := _ask(p["pick"].format(k=len(options)), read)) not in valid:
        write(p["again"].format(options=p["sep"].join(valid) + " / q"))
    if session.choose(int(reply) - 1):
        write(p["right"] + "\n" + _wrap(q.explanation[lang], "    "))
    else:
        write(p["wrong"] + "\n" + _wrap(options[right]) + "\n" + _wrap(q.explanation[lang], "    "))
