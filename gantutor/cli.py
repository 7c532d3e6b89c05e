"""The ``gantutor`` command.

    gantutor build-exercises     write exercises/ from solutions/
    gantutor check-exercises     exit 1 when exercises/ is out of date
"""
from __future__ import annotations

import argparse
import sys

from gantutor import __version__, course


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gantutor", description="The gantutor course's command-line tools.")
    parser.add_argument("--version", action="version", version=f"gantutor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build-exercises", help="write exercises/ from solutions/")
    sub.add_parser("check-exercises", help="exit 1 when exercises/ is out of date")
    args = parser.parse_args(argv)
    if args.command == "build-exercises":
        return course.main(["build"])
    return course.main(["--check"])


if __name__ == "__main__":
    sys.exit(main())
