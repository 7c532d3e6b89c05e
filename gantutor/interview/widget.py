"""The quiz as a notebook widget: flash cards and multiple choice over the bank.

``QuizModel`` holds all the logic (tests drive it headless); ``quiz_widget()`` is the thin view:
filters (topic, difficulty, language, mode, how many), a card, and the buttons
reveal / I knew it / I did not, or one button per option. Answers go to the same progress file
as the terminal quiz (``gantutor progress`` shows them).
"""
from __future__ import annotations

import html

from gantutor.i18n import lang, t
from gantutor.interview.bank import DIFFICULTIES, TOPICS, load_bank
from gantutor.interview.progress import Progress
from gantutor.interview.quiz import LABELS, QuizSession

ALL = "all"


class QuizModel:
    """What the widget shows, as plain data: ``state()`` after each action."""

    def __init__(self, progress: Progress | None = None, bank=None):
        self.bank = bank if bank is not None else load_bank()
        self.progress = progress if progress is not None else Progress()
        self.session: QuizSession | None = None
        self.revealed = False
        self.feedback = ""  # what the last answer was, shown above the next card

    def start(self, topic: str = ALL, difficulty: str = ALL, lang: str = "en", mode: str = "flash", n: int = 10) -> dict:
        self.session = QuizSession(self.bank, self.progress, n=n, lang=lang, mode=mode,
                                   topic=None if topic == ALL else topic,
                                   difficulty=None if difficulty == ALL else difficulty)
        self.revealed, self.feedback = False, ""
        return self.state()

    def reveal(self) -> dict:
        self._session()
        self.revealed = True
        return self.state()

    def mark(self, knew_it: bool) -> dict:
        """Flash card: the learner says whether they knew the answer (after revealing it)."""
        s = self._session()
        if s.mode != "flash":
            raise RuntimeError("mark() is for flash cards; use pick(i) for multiple choice")
        if not self.revealed:
            raise RuntimeError("reveal the answer before marking it")
        q = s.current
        s.answer(knew_it)
        self.feedback = ("✔ " if knew_it else "✘ (it will come back) ") + q.id
        self.revealed = False
        return self.state()

    def pick(self, index: int) -> dict:
        """Multiple choice: answer with option ``index``."""
        s = self._session()
        if s.mode != "choice":
            raise RuntimeError("pick() is for multiple choice; use reveal() and mark() for flash cards")
        q = s.current
        options, right = s.choices()
        ok = s.choose(index)
        t = LABELS[s.lang]
        self.feedback = ("✔ " if ok else f"✘ {t['answer']}: {options[right]} — ") + f"{t['explanation']}: {q.explanation[s.lang]}"
        return self.state()

    def state(self) -> dict:
        """Everything the view draws: the question, options or answer, score, feedback, whether done."""
        s = self._session()
        right, total = s.score
        out = {"done": s.done, "score": (right, total), "feedback": self.feedback, "question": None,
               "answer": None, "explanation": None, "options": None, "mode": s.mode}
        if s.done:
            return out
        q, lang = s.current, s.lang
        out.update(id=q.id, topic=q.topic, difficulty=q.difficulty, question=q.question[lang],
                   where=f"{q.notebook} §{q.section}")
        if s.mode == "choice":
            out["options"] = s.choices()[0]
        elif self.revealed:
            out.update(answer=q.answer[lang], explanation=q.explanation[lang])
        return out

    def _session(self) -> QuizSession:
        if self.session is None:
            raise RuntimeError("start() the quiz first")
        return self.session


def _quiz_controls(W, start: dict, bank_size: int) -> dict:
    """The quiz's choices (topic, level, language, mode, how many), set from ``start``."""
    return {
        "topic": W.Dropdown(options=[ALL, *TOPICS], value=start.get("topic", ALL), description=t("topic")),
        "difficulty": W.Dropdown(options=[ALL, *DIFFICULTIES], value=start.get("difficulty", ALL), description=t("level")),
        "lang": W.ToggleButtons(options=[("English", "en"), ("中文", "zh")], value=start.get("lang", lang())),
        "mode": W.ToggleButtons(options=[(t("flash cards"), "flash"), (t("multiple choice"), "choice")],
                                value=start.get("mode", "flash")),
        "n": W.IntSlider(value=start.get("n", 10), min=1, max=bank_size, description=t("questions")),
    }


def _card_html(state: dict) -> str:
    """The card a quiz state shows: the end score, or the question (with its answer once revealed)."""
    right, total = state["score"]
    if state["done"]:
        return f"<h3>Done: {right}/{total} right.</h3><p>Press start for another round: what you missed comes first.</p>"
    body = f"<p style='color:#777'>{state['topic']} · {state['difficulty']} · {right}/{total} so far</p>"
    body += f"<h3>{html.escape(state['question'])}</h3>"
    if state["answer"]:
        body += f"<p><b>{html.escape(state['answer'])}</b></p><p>{html.escape(state['explanation'])}</p>"
        body += f"<p style='color:#777'>see {html.escape(state['where'])}</p>"
    return body


def quiz_widget(progress: Progress | None = None, **start):
    """The quiz widget (returns it; ``widget.model`` is its ``QuizModel``)."""
    import ipywidgets as W

    model = QuizModel(progress)
    controls = _quiz_controls(W, start, len(model.bank))
    start_button = W.Button(description=t("start"), button_style="primary")
    card, feedback = W.HTML(), W.HTML()
    reveal = W.Button(description=t("reveal"))
    knew, missed = W.Button(description=t("I knew it"), button_style="success"), W.Button(description=t("I did not"), button_style="warning")
    options_box = W.VBox()

    def draw(state):
        feedback.value = f"<div style='color:#555'>{html.escape(state['feedback'])}</div>"
        card.value = _card_html(state)
        flash, done = state["mode"] == "flash", state["done"]
        reveal.layout.display = "" if flash and not done and not state["answer"] else "none"
        knew.layout.display = missed.layout.display = "" if flash and not done and state["answer"] else "none"
        options_box.children = [] if flash or done else [_option(i, text) for i, text in enumerate(state["options"])]

    def _option(i, text):
        b = W.Button(description=text[:90] + ("…" if len(text) > 90 else ""), tooltip=text,
                     layout=W.Layout(width="auto", max_width="100%"))
        b.on_click(lambda *_: draw(model.pick(i)))
        return b

    def on_start(*_):
        try:
            draw(model.start(**{k: w.value for k, w in controls.items()}))
        except ValueError as err:
            card.value = f"<b style='color:#b00'>{html.escape(str(err))}</b>"

    start_button.on_click(on_start)
    reveal.on_click(lambda *_: draw(model.reveal()))
    knew.on_click(lambda *_: draw(model.mark(True)))
    missed.on_click(lambda *_: draw(model.mark(False)))
    box = W.VBox([W.HBox([controls["topic"], controls["difficulty"], controls["n"]]),
                  W.HBox([controls["lang"], controls["mode"], start_button]), feedback, card,
                  W.HBox([reveal, knew, missed]), options_box])
    box.model, box.controls, box.buttons = model, controls, {"start": start_button, "reveal": reveal, "knew": knew, "missed": missed}
    box.options = options_box
    on_start()
    return box
