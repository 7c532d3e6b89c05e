"""The generated parts of the teacher's guide (TEACHING.md): one table and one section per chapter,
from the exercise registry, the question bank and the notebooks' measured run times
(``benchmarks/results/notebook_times.json``, written by ``benchmarks/notebook_times.py --all``).

    python -m gantutor.teaching            # rewrite the generated blocks of TEACHING.md
    python -m gantutor.teaching --check    # exit 1 when they are out of date

The generated text sits between ``<!-- BEGIN generated: NAME -->`` and ``<!-- END generated: NAME -->``;
everything else in TEACHING.md is written by hand and left alone.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from gantutor.checks import registry
from gantutor.course import chapter_of, repo_root
from gantutor.interview import load_bank

# What a teacher plans with, per chapter: what learners should know first, and what they can do after.
CHAPTERS = {
    0: ("Python; `make lab` works", ["find their way around the course: chapters, exercises, solutions, the quiz"]),
    1: ("probability (expectations, densities), PyTorch tensors and autograd",
        ["write the GAN value function, the optimal discriminator and its JS divergence",
         "explain why G is trained with the non-saturating loss", "write one correct GAN training step"]),
    2: ("chapter 1; gradient descent",
        ["explain why simultaneous gradient descent-ascent circles on a bilinear game",
         "use extragradient / optimism and an R1 penalty to converge", "read training curves that go wrong"]),
    3: ("chapters 1–2",
        ["measure mode collapse with the PacGAN protocol", "compare unrolling, packing, minibatch std, WGAN-GP and "
         "rejection sampling by measurement", "explain why published tables disagree"]),
    4: ("chapters 1–3; convolutions",
        ["size transposed convolutions and build a DCGAN", "score a generator with FID, KID, precision and recall "
         "against the real-vs-real floor", "choose a recipe by measurement over seeds"]),
    5: ("chapter 4",
        ["compare the GAN losses (hinge, least squares, Wasserstein with clipping, gradient penalty, spectral "
         "normalisation)", "build a conditional generator and a projection discriminator"]),
    6: ("chapters 4–5",
        ["build pix2pix's U-Net and PatchGAN", "train CycleGAN with its cycle loss and image pool",
         "say when paired data (pix2pix) or unpaired data (CycleGAN) is the right call, with numbers"]),
    7: ("chapter 4",
        ["prune by magnitude on a schedule, remove channels for real, factor layers", "count MACs and measure "
         "latency honestly", "recover quality by distillation"]),
    8: ("the chapters the drills name",
        ["answer the interview questions of the bank", "write the classic GAN code from scratch against the clock"]),
    9: ("chapters 1–7", ["recognise the errors circulating in articles and interview answers, and show why, by running code"]),
    10: ("chapters 6–7",
         ["slim a U-Net consistently across its skips and distil it GAN Compression style",
          "count MACs against PyTorch's counter", "export to ONNX and measure what fewer MACs buy in ONNX Runtime"]),
}


def _notebooks(root: Path) -> dict[int, Path]:
    return {chapter_of(p): p for p in sorted((root / "notebooks").glob("*.ipynb"))}


def _title(path: Path) -> str:
    first = json.loads(path.read_text())["cells"][0]["source"]
    line = (first if isinstance(first, str) else "".join(first)).splitlines()[0]
    return re.sub(r"^#\s*(Chapter \d+ — )?", "", line)


def _seconds(times: dict, folder: str, name: str) -> str:
    row = times.get(f"{folder}/{name}")
    return f"{row['seconds']:.0f} s" if row else "–"


def chapter_rows(root: Path) -> list[dict]:
    """Per chapter: title, notebook, measured run times, exercises with points, bank questions."""
    times = json.loads((root / "benchmarks" / "results" / "notebook_times.json").read_text())
    bank = load_bank()
    rows = []
    for chapter, path in _notebooks(root).items():
        exercises = registry.of_chapter(chapter)
        rows.append({"chapter": chapter, "title": _title(path), "notebook": path.name,
                     "time": _seconds(times, "notebooks", path.name),
                     "solution_time": _seconds(times, "solutions", path.name) if exercises else "",
                     "exercises": exercises, "points": sum(e.points for e in exercises),
                     "questions": [q.id for q in bank if Path(q.notebook).name == path.name],
                     "prerequisites": CHAPTERS[chapter][0], "goals": CHAPTERS[chapter][1]})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| chapter | run time (chapter / solutions) | exercises | points | bank questions |", "|---|---|---|---|---|"]
    for r in rows:
        ex = ", ".join(e.number for e in r["exercises"]) or "–"
        times = r["time"] + (f" / {r['solution_time']}" if r["solution_time"] else "")
        lines.append(f"| {r['chapter']:02d} {r['title']} | {times} | {ex} | {r['points'] or '–'} | {len(r['questions'])} |")
    total = sum(r["points"] for r in rows)
    lines.append(f"| **all** | | {sum(len(r['exercises']) for r in rows)} exercises | **{total}** | {sum(len(r['questions']) for r in rows)} |")
    return "\n".join(lines)


def sections(rows: list[dict]) -> str:
    out = []
    for r in rows:
        out += [f"### {r['chapter']:02d} — {r['title']}", "",
                f"`notebooks/{r['notebook']}`, {r['time']} on 2 CPU cores. **Before:** {r['prerequisites']}.", "",
                "**After it, learners can:**", *[f"- {g}" for g in r["goals"]], ""]
        if r["exercises"]:
            out += ["| exercise | the learner writes | check | points |", "|---|---|---|---|"]
            out += [f"| {e.number} | `{e.answer}`{f' ({e.minutes} min)' if e.minutes else ''} | `{e.check}` | {e.points} |"
                    for e in r["exercises"]]
            out.append("")
        if r["questions"]:
            out += ["**Bank questions:** " + ", ".join(f"`{q}`" for q in r["questions"]), ""]
    return "\n".join(out).rstrip()


BLOCK = re.compile(r"(<!-- BEGIN generated: (?P<name>[\w-]+) -->\n)(?:.*?\n)?(<!-- END generated: (?P=name) -->)", re.S)


def render(text: str, root: Path) -> str:
    """``text`` with every generated block rewritten."""
    rows = chapter_rows(root)
    blocks = {"chapters-table": table(rows), "chapters": sections(rows)}

    def fill(m):
        if m["name"] not in blocks:
            raise ValueError(f"TEACHING.md has a generated block {m['name']!r} that nothing generates")
        return m.group(1) + blocks[m["name"]] + "\n" + m.group(3)
    return BLOCK.sub(fill, text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gantutor.teaching", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when TEACHING.md's generated blocks are out of date")
    args = parser.parse_args(argv)
    root = repo_root()
    path = root / "TEACHING.md"
    text = path.read_text(encoding="utf-8")
    new = render(text, root)
    if args.check:
        if new != text:
            print("TEACHING.md is out of date: run `python -m gantutor.teaching`", file=sys.stderr)
            return 1
        print("TEACHING.md is up to date")
        return 0
    if new != text:
        path.write_text(new, encoding="utf-8")
        print("wrote TEACHING.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
