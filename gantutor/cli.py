"""The ``gantutor`` command.

    gantutor quiz [--topic T] [--difficulty D] [--lang zh|en] [--n N] [--mode flash|choice]
    gantutor progress [--json]          what you answered, per question
    gantutor sheet [--answers] [--format md|html] [--topic T] [--n N] [--lang zh|en] [-o FILE]
    gantutor build-exercises            write exercises/ from solutions/
    gantutor check-exercises            exit 1 when exercises/ is out of date
    gantutor grade SUBMISSIONS --out OUT [--timeout S] [--jobs N]
                                        grade a class's notebooks: grades.csv, feedback per student
    gantutor export nbgrader COURSE_DIR the exercise chapters as an nbgrader course

Progress lives in ``$GANTUTOR_DATA_DIR/progress.sqlite3`` (default: the user's data directory).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from pathlib import Path

from gantutor import __version__
from gantutor.i18n import lang, t
from gantutor.interview import QuizSession, load_bank, select, sheet, terminal
from gantutor.interview.bank import DIFFICULTIES, LANGS, TOPICS
from gantutor.interview.progress import Progress, ProgressError


@contextlib.contextmanager
def _argparse_in_the_learners_language():
    """argparse's own words (usage, options, its errors) through the same catalog as gantutor's."""
    saved = argparse._
    if lang() != "en":
        argparse._ = t
    try:
        yield
    finally:
        argparse._ = saved


def main(argv=None) -> int:
    with _argparse_in_the_learners_language():
        return _main(argv)


def _main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gantutor", description=t("The gantutor course's command-line tools."))
    parser.add_argument("--version", action="version", version=f"gantutor {__version__}",
                        help=t("show program's version number and exit"))
    sub = parser.add_subparsers(dest="command", required=True)

    def filters(p, n_default):
        p.add_argument("--topic", choices=TOPICS)
        p.add_argument("--difficulty", choices=DIFFICULTIES)
        p.add_argument("--lang", choices=LANGS, default=lang(), help=t("the language of the questions (default: GANTUTOR_LANG, else en)"))
        p.add_argument("--n", type=int, default=n_default, help=t(f"how many questions (default {n_default})"))

    quiz = sub.add_parser("quiz", help=t("drill the interview questions (due and wrong ones first)"))
    filters(quiz, 10)
    quiz.add_argument("--mode", choices=("flash", "choice"), default="flash",
                      help=t("flash cards (reveal, then say if you knew it) or multiple choice"))
    progress = sub.add_parser("progress", help=t("show what you answered, per question"))
    progress.add_argument("--json", action="store_true", help=t("print one JSON object"))
    sheet = sub.add_parser("sheet", help=t("a printable quiz sheet for a class (Markdown or HTML)"))
    filters(sheet, 20)
    sheet.add_argument("--answers", action="store_true", help=t("include the answers and explanations"))
    sheet.add_argument("--format", choices=("md", "html"), default="md")
    sheet.add_argument("-o", "--output", type=Path, help=t("write to this file instead of printing"))
    sub.add_parser("build-exercises", help=t("write exercises/ from solutions/"))
    sub.add_parser("check-exercises", help=t("exit 1 when exercises/ is out of date"))
    grading = sub.add_parser("grade", help=t("grade a class's exercise notebooks with the course's checks"))
    grading.add_argument("submissions", type=Path, help=t("a folder with one sub-folder per student, holding NN_name.ipynb files"))
    grading.add_argument("--out", type=Path, required=True, help=t("where grades.csv and feedback/<student>.md go"))
    grading.add_argument("--timeout", type=float, default=300, help=t("seconds each notebook may run (default 300)"))
    grading.add_argument("--jobs", type=int, default=1, help=t("notebooks graded at the same time (2 uses both cores)"))
    export = sub.add_parser("export", help=t("the course for another tool: nbgrader"))
    export.add_argument("tool", choices=["nbgrader"])
    export.add_argument("course_dir", type=Path, help=t("the nbgrader course folder to write (source/ and nbgrader_config.py)"))
    args = parser.parse_args(argv)
    if args.command in ("quiz", "sheet") and args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    if args.command == "grade" and (args.timeout <= 0 or args.jobs < 1):
        parser.error(f"--timeout must be > 0 and --jobs at least 1, got {args.timeout:g} and {args.jobs}")
    command = {"quiz": _quiz, "progress": _progress, "sheet": _sheet, "build-exercises": _exercises, "check-exercises": _exercises,
               "grade": _grade, "export": _export}
    try:
        return command[args.command](args)
    except BrokenPipeError:  # e.g. `gantutor sheet | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _open_progress():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            progress = Progress()
        except ProgressError as err:
            print(f"gantutor: {err}", file=sys.stderr)
            return None
    for w in caught:
        print(f"gantutor: warning: {w.message}", file=sys.stderr)
    return progress


def _quiz(args) -> int:
    progress = _open_progress()
    if progress is None:
        return 1
    with progress:
        try:
            session = QuizSession(load_bank(), progress, n=args.n, lang=args.lang, mode=args.mode,
                                  topic=args.topic, difficulty=args.difficulty)
        except ValueError as err:
            print(f"gantutor: {err}", file=sys.stderr)
            return 2
        terminal.run(session)
    return 0


def _progress(args) -> int:
    progress = _open_progress()
    if progress is None:
        return 1
    with progress:
        records = progress.all()
    bank = load_bank()
    if args.json:
        print(json.dumps({"file": str(progress.path), "questions": len(bank),
                          "progress": {qid: r.as_dict() for qid, r in records.items()}}, ensure_ascii=False, indent=1))
        return 0
    print(f"progress file: {progress.path}")
    print(f"{len(records)} of {len(bank)} questions seen; "
          f"{sum(r.right for r in records.values())} right, {sum(r.wrong for r in records.values())} wrong answers")
    topics = {}
    for q in bank:
        r = records.get(q.id)
        seen, right, wrong = topics.get(q.topic, (0, 0, 0))
        topics[q.topic] = (seen + (r is not None), right + (r.right if r else 0), wrong + (r.wrong if r else 0))
    print(f"{'topic':15s} {'seen':>9s} {'right':>6s} {'wrong':>6s}")
    for topic, (seen, right, wrong) in topics.items():
        total = sum(q.topic == topic for q in bank)
        print(f"{topic:15s} {seen:4d}/{total:<4d} {right:6d} {wrong:6d}")
    return 0


def _sheet(args) -> int:
    questions = select(load_bank(), args.topic, args.difficulty)[: args.n]
    if not questions:
        print(f"gantutor: no question has topic={args.topic!r} and difficulty={args.difficulty!r}", file=sys.stderr)
        return 2
    text = sheet(questions, answers=args.answers, fmt=args.format, lang=args.lang)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(questions)} questions to {args.output}")
    else:
        print(text)
    return 0


# The commands for maintainers and teachers import their modules when run: nbformat (through
# jsonschema) and nbclient take seconds to load, and `gantutor quiz` should start at once.
def _exercises(args) -> int:
    from gantutor import course

    return course.main(["build"] if args.command == "build-exercises" else ["--check"])


def _export(args) -> int:
    from gantutor import export

    written = export.to_nbgrader(args.course_dir, log=lambda line: None)
    print(f"wrote {len(written) - 1} assignments in {args.course_dir / 'source'} and {written[-1]}; then, in that folder: "
          "nbgrader generate_assignment 01_minimax, and nbgrader autograde 01_minimax once students submit")
    return 0


def _grade(args) -> int:
    from gantutor import grade

    known = {p.name for p in (grade.repo_root() / "exercises").glob("*.ipynb")}
    try:
        rows, unknown = grade.grade(args.submissions, known, timeout=args.timeout, jobs=args.jobs)
    except FileNotFoundError as err:
        print(f"gantutor grade: {err}", file=sys.stderr)
        return 2
    for name in unknown:
        print(f"not graded (not an exercise notebook: the names are those of exercises/): {name}", file=sys.stderr)
    if not rows:
        print("gantutor grade: no exercise notebook found under " + str(args.submissions), file=sys.stderr)
        return 2
    written = grade.write_report(rows, args.out)
    print(grade.summary(rows))
    print(f"wrote {written[0]} and {len(written) - 1} feedback files in {args.out / 'feedback'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
