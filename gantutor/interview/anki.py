"""The question bank as an Anki deck (``gantutor anki -o FILE.apkg``), written with genanki.

One note per bank entry: the question on the front; on the back the short answer, the explanation,
the circulating wrong answer and why it is wrong, the follow-up an interviewer asks next, and the
chapter section that demonstrates it. Notes are tagged ``gantutor``, ``topic::<topic>``,
``difficulty::<level>`` and ``chapter::<NN>``.

``--lang en`` and ``--lang zh`` give one language; ``--lang both`` puts the English and the Chinese
on the same card. The deck, the note type and every note's GUID are fixed (the GUID is made from
the entry's id and the language), so importing a newer export updates the cards already studied
instead of adding copies; Anki keeps their review history.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

from gantutor.interview.bank import TOPICS, Question, load_bank, section_label

MODES = ("en", "zh", "both")
# Fixed once, never changed: Anki recognises a deck and a note type by these ids.
DECK_IDS = {"en": 1733001100, "zh": 1733001101, "both": 1733001102}
MODEL_ID = 1733001200
DECK_NAMES = {"en": "gantutor::GAN interview (English)", "zh": "gantutor::GAN 面试题（中文）",
              "both": "gantutor::GAN interview · GAN 面试题"}
FIELDS = ("Id", "Question", "Answer", "Explanation", "Wrong", "FollowUp", "Section")
LABELS = {"en": {"why": "Why", "wrong": "A common wrong answer", "because": "Why it is wrong",
                 "follow": "Follow-up", "see": "Demonstrated in: "},
          "zh": {"why": "解析", "wrong": "常见错误答案", "because": "错在哪里", "follow": "追问", "see": "演示位置："}}
CSS = """.card { font-family: -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif;
  font-size: 18px; line-height: 1.5; text-align: left; max-width: 44em; margin: auto; }
.label { color: #666; font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.04em; }
.lang + .lang { border-top: 1px dashed #bbb; margin-top: 0.6em; padding-top: 0.6em; }
code { background: #f2f2f2; padding: 0 0.2em; border-radius: 3px; }
.section { color: #555; font-size: 0.85em; }"""
FRONT = '<div class="question">{{Question}}</div>'
BACK = ('{{FrontSide}}<hr id="answer"><div class="answer">{{Answer}}</div>'
        '<div class="explanation">{{Explanation}}</div>{{#Wrong}}<div class="wrong">{{Wrong}}</div>{{/Wrong}}'
        '{{#FollowUp}}<div class="follow">{{FollowUp}}</div>{{/FollowUp}}<p class="section">{{Section}}</p>')


def _html(text: str) -> str:
    """The bank's plain text with Markdown's `code` and **bold** as HTML, and line breaks kept."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
    return out.replace("\n", "<br>")


def _one(q: Question, lang: str) -> list[str]:
    w = LABELS[lang]
    wrong = ""
    if q.wrong:
        wrong = (f'<p><span class="label">{w["wrong"]}</span><br>{_html(q.wrong[lang])}</p>'
                 f'<p><span class="label">{w["because"]}</span><br>{_html(q.wrong["why"][lang])}</p>')
    follow = ""
    if q.follow_up:
        follow = (f'<p><span class="label">{w["follow"]}</span><br>{_html(q.follow_up["question"][lang])}</p>'
                  f'<p>{_html(q.follow_up["answer"][lang])}</p>')
    return [_html(q.question[lang]), _html(q.answer[lang]),
            f'<p><span class="label">{w["why"]}</span><br>{_html(q.explanation[lang])}</p>', wrong, follow,
            f'{w["see"]}{html.escape(section_label(q.notebook, q.section, lang))}']


def note_fields(q: Question, mode: str) -> list[str]:
    """The note's fields (FIELDS) for one entry, in ``mode`` (en, zh or both)."""
    if mode not in MODES:
        raise ValueError(f"lang must be one of {', '.join(MODES)}, got {mode!r}")
    langs = ("en", "zh") if mode == "both" else (mode,)
    parts = [_one(q, lang) for lang in langs]
    joined = [''.join(f'<div class="lang">{p[i]}</div>' for p in parts if p[i]) if len(parts) > 1 else parts[0][i]
              for i in range(len(FIELDS) - 1)]
    return [q.id, *joined]


def guid(q: Question, mode: str) -> str:
    """The note's GUID: the same for the same entry and language in every export."""
    import genanki

    return genanki.guid_for("gantutor", q.id, mode)


def tags(q: Question) -> list[str]:
    return ["gantutor", f"topic::{q.topic}", f"difficulty::{q.difficulty}", f"chapter::{Path(q.notebook).name[:2]}"]


def _is_apkg(path: Path) -> bool:
    import zipfile

    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return "collection.anki2" in z.namelist()


def build(path: str | Path, mode: str = "both", topics: list[str] | None = None,
          bank: list[Question] | None = None) -> int:
    """Write the deck to ``path`` (an .apkg); returns the number of notes."""
    try:
        import genanki
    except ModuleNotFoundError:
        raise ModuleNotFoundError("gantutor anki needs genanki: make anki installs it (or pip install -e '.[anki]')",
                                  name="genanki") from None
    if mode not in MODES:
        raise ValueError(f"lang must be one of {', '.join(MODES)}, got {mode!r}")
    unknown = [t for t in topics or [] if t not in TOPICS]
    if unknown:
        raise ValueError(f"topic must be among {', '.join(TOPICS)}; got {unknown[0]!r}")
    path = Path(path)
    if path.suffix != ".apkg":
        raise ValueError(f"the output file must end in .apkg (Anki's package), got {path.name!r}")
    questions = [q for q in (bank if bank is not None else load_bank()) if not topics or q.topic in topics]
    if not questions:
        raise ValueError(f"no question has topic {' or '.join(topics)}")
    model = genanki.Model(MODEL_ID, "gantutor question", fields=[{"name": f} for f in FIELDS],
                          templates=[{"name": "Question → answer", "qfmt": FRONT, "afmt": BACK}], css=CSS, sort_field_index=1)
    deck = genanki.Deck(DECK_IDS[mode], DECK_NAMES[mode], description=json.dumps({"source": "gantutor question bank"}))
    for q in questions:
        deck.add_note(genanki.Note(model=model, fields=note_fields(q, mode), tags=tags(q), guid=guid(q, mode)))
    if path.exists() and not _is_apkg(path):  # an older export is replaced; anything else is the user's
        raise FileExistsError(f"{path} exists and is not an Anki package: it is not overwritten (choose another -o)")
    path.parent.mkdir(parents=True, exist_ok=True)
    genanki.Package(deck).write_to_file(str(path))
    return len(questions)
