"""Reading a progress file from outside the process that writes it (the kill -9 tests)."""
import sqlite3
from pathlib import Path


def count_rows(db: Path, table: str) -> int:
    """Rows of ``table`` in the SQLite file ``db``, read-only; 0 while the file or table is missing."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()
