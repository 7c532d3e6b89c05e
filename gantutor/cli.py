"""The ``gantutor`` command.

    gantutor quiz [--topic T] [--difficulty D] [--lang zh|en] [--n N] [--mode flash|choice]
    gantutor progress [--json]          what you answered, per question
    gantutor sheet [--answers] [--format md|html] [--topic T] [--n N] [--lang zh|en] [-o FILE]
    gantutor build-exercises            write exercises/ from solutions/
    gantutor check-exercises            exit 1 when exercises/ is out of date
    gantutor grade SUBMISSIONS --out OUT [--timeout S] [--jobs N]
                                        grade a class's notebooks: grades.csv, feedback per student
    gantutor export nbgrader COURSE_DIR the exercise chapters as an nbgrader course
    gantutor anki -o FILE.apkg [--lang en|zh|both] [--topic T ...]
                                        the bank as an Anki deck (importing a newer one updates the cards)
    gantutor mock [--minutes 30] [--lang zh|en] [--topic T] [--dir DIR] | --report [SESSION]
                                        a timed mock interview; its answers are saved as they are given
    gantutor drill [N] [--stub FILE | --check FILE] [--lang zh|en] [--timeout S]
                                        chapter 8's coding drills: the task, a starter file, the check

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
    drill = sub.add_parser("drill", help=t("chapter 8's coding drills: the task, a starter file, the notebook's check"))
    drill.add_argument("number", nargs="?", help=t("the drill, e.g. 8.2 (without it: the list)"))
    action = drill.add_mutually_exclusive_group()
    action.add_argument("--check", type=Path, metavar="FILE", help=t("run the drill's check on the function in FILE"))
    action.add_argument("--stub", type=Path, metavar="FILE", help=t("write the starter code to FILE (a new file)"))
    drill.add_argument("--lang", choices=LANGS, default=lang(), help=t("the language of the task and messages (default: GANTUTOR_LANG, else en)"))
    drill.add_argument("--timeout", type=float, default=60, help=t("seconds the check may run (default 60)"))
    anki = sub.add_parser("anki", help=t("the question bank as an Anki deck (.apkg)"))
    anki.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.apkg", help=t("the deck file to write"))
    anki.add_argument("--lang", choices=("en", "zh", "both"), default="both",
                      help=t("English, Chinese, or both on each card (default both)"))
    anki.add_argument("--topic", nargs="+", choices=TOPICS, metavar="TOPIC", help=t("only these topics"))
    mock = sub.add_parser("mock", help=t("a timed mock interview: questions, follow-ups, a coding drill, a design question"))
    mock.add_argument("--minutes", type=float, default=30, help=t("how long the interview lasts (default 30)"))
    mock.add_argument("--lang", choices=LANGS, default=lang(), help=t("the language of the questions (default: GANTUTOR_LANG, else en)"))
    mock.add_argument("--topic", choices=TOPICS, help=t("ask only questions of this topic"))
    mock.add_argument("--dir", type=Path, default=Path.cwd(), help=t("where the coding drill's file is written (default: here)"))
    mock.add_argument("--seed", type=int, default=None, help=t("the same seed picks the same questions"))
    mock.add_argument("--report", nargs="?", type=int, const=-1, default=None, metavar="SESSION",
                      help=t("print the report of the last session (or of SESSION) and stop"))
    args = parser.parse_args(argv)
    if args.command == "drill" and args.number is None and (args.check or args.stub):
        parser.error("--check and --stub need a drill number, e.g. gantutor drill 8.2 --check FILE.py")
    if args.command == "drill" and args.timeout <= 0:
        parser.error(f"--timeout must be > 0, got {args.timeout:g}")
    if args.command in ("quiz", "sheet") and args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    if args.command == "grade" and (args.timeout <= 0 or args.jobs < 1):
        parser.error(f"--timeout must be > 0 and --jobs at least 1, got {args.timeout:g} and {args.jobs}")
    command = {"quiz": _quiz, "progress": _progress, "sheet": _sheet, "build-exercises": _exercises, "check-exercises": _exercises,
               "grade": _grade, "export": _export, "drill": _drill, "anki": _anki, "mock": _mock}
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


def _mock(args) -> int:
    from gantutor.interview import mock

    progress = _open_progress()
    if progress is None:
        return 1
    with progress:
        if args.report is not None:
            print(mock.report(progress, None if args.report == -1 else args.report))
            return 0
        if not args.dir.is_dir():
            print(f"gantutor mock: --dir {args.dir} is not a folder", file=sys.stderr)
            return 2
        bank = load_bank()
        try:
            plan = mock.make_plan(bank, progress, args.minutes, args.topic, args.seed)
        except mock.MockError as err:
            print(f"gantutor mock: {err}", file=sys.stderr)
            return 2
        mock.MockInterview(bank, progress, plan, args.minutes, args.lang, workdir=args.dir).run()
    return 0


def _anki(args) -> int:
    from gantutor.interview import anki

    try:
        n = anki.build(args.output, args.lang, args.topic)
    except (ValueError, FileExistsError, ModuleNotFoundError) as err:
        print(f"gantutor anki: {err}", file=sys.stderr)
        return 2
    print(t(f"wrote {n} notes to {args.output}: import it in Anki (File → Import); a newer export updates these cards"))
    return 0


def _drill(args) -> int:
    from gantutor.interview import drills

    text = drills.TEXT[args.lang]
    try:
        if args.number is None:
            print(text["list"])
            for d in drills.drills(args.lang).values():
                print(f"  {d.number}  {d.title} ({d.minutes} {text['minutes']})")
            return 0
        drill = drills.get(args.number, args.lang)
        if args.stub:
            print(drills.write_stub(drill, args.stub, args.lang))
            return 0
        if args.check:
            passed, output = drills.check_file(drill.number, args.check, args.lang, timeout=args.timeout)
            print(output)
            return 0 if passed else 1
    except drills.DrillError as err:
        print(f"gantutor drill: {err}", file=sys.stderr)
        return 2
    print(f"{text['header'].format(number=drill.number)}\n\n{drill.task}\n\n{text['starter'].format(number=drill.number)}\n")
    print(drill.stub)
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
