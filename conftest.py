"""Shared by every test run (unit tests and nbval over the notebooks).

The quiz writes the learner's progress to their data directory; a test run must never touch it,
so every test and every notebook kernel started by the run gets a fresh ``GANTUTOR_DATA_DIR``.
"""
import os
import tempfile


def pytest_configure(config):
    os.environ["GANTUTOR_DATA_DIR"] = tempfile.mkdtemp(prefix="gantutor-test-data-")

# The zh twins (notebooks/zh, solutions/zh, exercises/zh) have the English notebooks' code and are
# compared with them by tests/test_i18n.py, not run again by nbval.
collect_ignore_glob = ["notebooks/zh/*", "solutions/zh/*", "exercises/zh/*"]
