"""Interview prep: the bilingual question bank, the quiz (terminal and notebook) and its saved progress.

    from gantutor.interview import load_bank, corner
    bank = load_bank()                  # every question, validated against the schema (bank.py)
    corner(["optimal-discriminator"])   # a chapter's Interview corner, rendered from the bank

In a terminal: ``gantutor quiz [--topic T] [--lang zh|en] [--n N]`` and ``gantutor progress [--json]``.
"""
from gantutor.interview.bank import BankError, Question, by_id, load_bank
from gantutor.interview.progress import Progress, ProgressError, data_dir
from gantutor.interview.quiz import QuizSession, corner, corner_markdown, select, sheet

__all__ = ["BankError", "Progress", "ProgressError", "Question", "QuizSession", "by_id", "corner", "corner_markdown",
           "data_dir", "load_bank", "select", "sheet"]
