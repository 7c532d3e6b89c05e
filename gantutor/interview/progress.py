"""Quiz progress: per question seen / right / wrong / last seen, in a SQLite file.

Where: ``$GANTUTOR_DATA_DIR/progress.sqlite3`` when that variable is set, else the user's data
directory (``$XDG_DATA_HOME/gantutor`` or ``~/.local/share/gantutor`` on Linux,
``~/Library/Application Support/gantutor`` on macOS, ``%APPDATA%\\gantutor`` on Windows).

Every answer is written in its own transaction, so a quiz killed at any moment (even
``kill -9``) keeps every answer already given. A file that is not a readable progress database
is never overwritten: it is renamed ``progress.sqlite3.corrupt-<time>`` and reported, and a new
file is started.

Spaced repetition (a Leitner scheme): each question sits in a box, 0 to ``MAX_BOX``. A right
answer moves it up one box, a wrong one back to box 0. A question in box k ≥ 1 is due again
after ``2**(k-1)`` days (1, 2, 4, 8, 16); box 0 is due at once — and within a quiz a question
answered wrong comes back after ``REQUEUE_GAP`` other questions.
"""
from __future__ import annotations

import json
import os
import sqlite3
import sys
import warnings
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

FILENAME = "progress.sqlite3"
MAX_BOX = 5
REQUEUE_GAP = 3
SCHEMA = """
CREATE TABLE IF NOT EXISTS progress (
    qid TEXT PRIMARY KEY, seen INTEGER NOT NULL, right INTEGER NOT NULL, wrong INTEGER NOT NULL,
    box INTEGER NOT NULL, last_seen TEXT NOT NULL, due TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, qid TEXT NOT NULL, correct INTEGER NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mock_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, minutes REAL NOT NULL, lang TEXT NOT NULL,
    plan TEXT NOT NULL, ended TEXT);
CREATE TABLE IF NOT EXISTS mock_answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session INTEGER NOT NULL, part TEXT NOT NULL, ref TEXT NOT NULL,
    answer TEXT NOT NULL, mark TEXT NOT NULL, score REAL NOT NULL, seconds REAL NOT NULL, at TEXT NOT NULL);
"""


class ProgressError(RuntimeError):
    """The progress file cannot be used (and could not be set aside); the message says why."""


def data_dir() -> Path:
    """Where gantutor keeps the learner's data: ``GANTUTOR_DATA_DIR`` or the platform's user data dir."""
    if os.environ.get("GANTUTOR_DATA_DIR"):
        return Path(os.environ["GANTUTOR_DATA_DIR"]).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "gantutor"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "gantutor"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "gantutor"


def interval(box: int) -> timedelta:
    """How long after an answer a question in ``box`` is due again: 0 for box 0, else 2**(box-1) days."""
    return timedelta(0) if box <= 0 else timedelta(days=2 ** (box - 1))


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Record:
    qid: str
    seen: int
    right: int
    wrong: int
    box: int
    last_seen: str
    due: str

    def as_dict(self) -> dict:
        return asdict(self)


class Progress:
    """The learner's progress file. ``Progress()`` opens the default one; ``Progress(path)`` another."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else data_dir() / FILENAME
        self.set_aside: Path | None = None  # where an unusable old file was moved, if one was
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        if self.path.exists():
            problem = _unusable(self.path)
            if problem:
                self._set_aside(problem)
        try:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)  # autocommit; transactions explicit
            conn.executescript(SCHEMA)
        except sqlite3.Error as err:
            raise ProgressError(f"cannot write the progress file {self.path}: {err}") from None
        return conn

    def _set_aside(self, problem: str) -> None:
        stamp = _now().strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            self.path.rename(target)
        except OSError as err:
            raise ProgressError(f"the progress file {self.path} is {problem}, and it could not be moved aside "
                                f"({err}); move or delete it yourself") from None
        for suffix in ("-journal", "-wal", "-shm"):  # a stale journal would be replayed into the new file
            stale = self.path.with_name(self.path.name + suffix)
            if stale.exists():
                stale.rename(target.with_name(target.name + suffix))
        self.set_aside = target
        warnings.warn(f"the progress file {self.path} was {problem}; it was kept as {target} and a new one started",
                      stacklevel=3)

    def record(self, qid: str, correct: bool, when: datetime | None = None) -> Record:
        """Store one answer (its own transaction) and return the question's updated record."""
        when = when or _now()
        old = self.get(qid)
        box = min((old.box if old else 0) + 1, MAX_BOX) if correct else 0
        new = Record(qid=qid, seen=(old.seen if old else 0) + 1, right=(old.right if old else 0) + bool(correct),
                     wrong=(old.wrong if old else 0) + (not correct), box=box, last_seen=when.isoformat(),
                     due=(when + interval(box)).isoformat())
        with self._transaction():
            self._conn.execute("INSERT OR REPLACE INTO progress VALUES (?, ?, ?, ?, ?, ?, ?)",
                               (new.qid, new.seen, new.right, new.wrong, new.box, new.last_seen, new.due))
            self._conn.execute("INSERT INTO answers (qid, correct, at) VALUES (?, ?, ?)",
                               (qid, int(bool(correct)), new.last_seen))
        return new

    def _transaction(self):
        conn = self._conn

        class _Tx:
            def __enter__(self):
                conn.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind, *_):
                conn.execute("COMMIT" if kind is None else "ROLLBACK")
        return _Tx()

    def get(self, qid: str) -> Record | None:
        row = self._conn.execute("SELECT * FROM progress WHERE qid = ?", (qid,)).fetchone()
        return Record(*row) if row else None

    def all(self) -> dict[str, Record]:
        return {row[0]: Record(*row) for row in self._conn.execute("SELECT * FROM progress ORDER BY qid")}

    def answers(self) -> list[tuple[str, bool, str]]:
        """Every answer ever given, oldest first: (question id, correct, ISO time)."""
        return [(q, bool(c), at) for q, c, at in self._conn.execute("SELECT qid, correct, at FROM answers ORDER BY id")]

    # The mock interview's record (gantutor mock): a session, then each answer in its own transaction.
    def start_mock(self, minutes: float, lang: str, plan: list) -> int:
        with self._transaction():
            cur = self._conn.execute("INSERT INTO mock_sessions (started, minutes, lang, plan) VALUES (?, ?, ?, ?)",
                                     (_now().isoformat(), minutes, lang, json.dumps(plan)))
        return cur.lastrowid

    def record_mock(self, session: int, part: str, ref: str, answer: str, mark: str, score: float, seconds: float) -> None:
        with self._transaction():
            self._conn.execute("INSERT INTO mock_answers (session, part, ref, answer, mark, score, seconds, at) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (session, part, ref, answer, mark, score, seconds, _now().isoformat()))

    def end_mock(self, session: int) -> None:
        with self._transaction():
            self._conn.execute("UPDATE mock_sessions SET ended = ? WHERE id = ?", (_now().isoformat(), session))

    def mock_session(self, session: int | None = None) -> dict | None:
        """One mock session (the latest when ``session`` is None) with its answers, or None."""
        row = self._conn.execute("SELECT * FROM mock_sessions WHERE id = ?" if session is not None else
                                 "SELECT * FROM mock_sessions ORDER BY id DESC LIMIT 1",
                                 (session,) if session is not None else ()).fetchone()
        if row is None:
            return None
        keys = ("id", "started", "minutes", "lang", "plan", "ended")
        out = dict(zip(keys, row), plan=json.loads(row[4]))
        cols = ("part", "ref", "answer", "mark", "score", "seconds", "at")
        out["answers"] = [dict(zip(cols, r)) for r in self._conn.execute(
            f"SELECT {', '.join(cols)} FROM mock_answers WHERE session = ? ORDER BY id", (row[0],))]
        return out

    def close(self) -> None:
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()


def _unusable(path: Path) -> str | None:
    """Why an existing file cannot serve as the progress database, or None if it can."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as err:
        return f"unreadable ({err.strerror})"
    if head and head != b"SQLite format 3\x00":
        return "not a SQLite database (corrupt)"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return "a damaged SQLite database (corrupt)"
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "progress" not in tables:
                return "a SQLite database of another program"
            if tables:
                cols = [r[1] for r in conn.execute("PRAGMA table_info(progress)")]
                if cols != ["qid", "seen", "right", "wrong", "box", "last_seen", "due"]:
                    return "a SQLite database of another layout"
        finally:
            conn.close()
    except sqlite3.Error as err:
        return f"a damaged SQLite database ({err})"
    return None
