"""The generated parts of the teacher's guide (TEACHING.md, and its Chinese TEACHING.zh.md): one
table and one section per chapter, from the exercise registry, the question bank and the notebooks'
measured run times (``benchmarks/results/notebook_times.json``, written by
``benchmarks/notebook_times.py --all --json > benchmarks/results/notebook_times.json``).

    python -m gantutor.teaching            # rewrite the generated blocks of both guides
    python -m gantutor.teaching --check    # exit 1 when they are out of date

The generated text sits between ``<!-- BEGIN generated: NAME -->`` and ``<!-- END generated: NAME -->``;
everything else in the guides is written by hand and left alone.
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

# The same in Chinese, for TEACHING.zh.md.
CHAPTERS_ZH = {
    0: ('Python；`make lab` 能正常运行',
        ['熟悉课程的组织方式：各章、练习、参考答案和测验']),
    1: ('概率（期望、概率密度）、PyTorch 张量与自动求导（autograd）',
        ['写出 GAN 的价值函数、最优判别器及其 JS 散度', '解释为什么用非饱和损失训练 G', '写出一个正确的 GAN 训练步']),
    2: ('第 1 章；梯度下降',
        ['解释为什么同时梯度下降-上升在双线性博弈上会绕圈', '用外梯度法 / 乐观梯度和 R1 惩罚让训练收敛', '读懂出了问题的训练曲线']),
    3: ('第 1–2 章',
        ['用 PacGAN 的评测协议度量模式崩溃', '通过实测比较展开、打包、小批量标准差、WGAN-GP 和拒绝采样', '解释为什么已发表的结果表格彼此对不上']),
    4: ('第 1–3 章；卷积',
        ['算出转置卷积的输出尺寸，并搭建一个 DCGAN', '用 FID、KID、精确率和召回率给生成器打分，并与真实对真实的下限对照', '在多个种子上实测，据此选择训练配方']),
    5: ('第 4 章',
        ['比较各种 GAN 损失（合页损失、最小二乘、带权重裁剪的 Wasserstein 损失、梯度惩罚、谱归一化）', '搭建条件生成器和投影判别器']),
    6: ('第 4–5 章',
        ['搭建 pix2pix 的 U-Net 和 PatchGAN', '用循环损失和图像缓冲池训练 CycleGAN', '用数字说明什么时候该用成对数据（pix2pix），什么时候该用非成对数据（CycleGAN）']),
    7: ('第 4 章',
        ['按调度进行幅值剪枝、真正删除通道、对层做低秩分解', '统计 MACs，并如实地测量延迟', '用知识蒸馏恢复生成质量']),
    8: ('演练中提到的各章',
        ['回答题库中的面试题', '限时从零写出经典的 GAN 代码']),
    9: ('第 1–7 章',
        ['识别文章和面试答案中流传的错误，并运行代码说明错在哪里']),
    10: ('第 6–7 章',
        ['跨跳跃连接一致地剪窄 U-Net，并按 GAN Compression 的方式蒸馏它', '统计 MACs，并与 PyTorch 自带的计数器核对', '导出为 ONNX，并测量更少的 MACs 在 ONNX Runtime 中能换来多少速度']),
}

LABELS = {  # the generated blocks' words
    "en": {
        'chapter': 'chapter', 'run_time': 'run time (chapter / solutions)', 'exercises': 'exercises',
        'points': 'points', 'bank_questions': 'bank questions', 'all': 'all', 'n_exercises': '{} exercises',
        'on_cores': ' on 2 CPU cores', 'before': 'Before:', 'after': 'After it, learners can:',
        'exercise': 'exercise', 'learner_writes': 'the learner writes', 'check': 'check',
        'bank_label': 'Bank questions:', 'sep': ', ', 'end': '.',
    },
    "zh": {
        'chapter': '章', 'run_time': '运行时间（本章 / 参考答案）', 'exercises': '练习', 'points': '分值',
        'bank_questions': '题库题目', 'all': '合计', 'n_exercises': '{} 个练习', 'on_cores': '（2 个 CPU 核心）',
        'before': '先修知识：', 'after': '学完本章，学习者能够：', 'exercise': '练习', 'learner_writes': '学习者编写', 'check': '检查',
        'bank_label': '题库题目：', 'sep': '，', 'end': '。',
    },
}


def _notebooks(root: Path) -> dict[int, Path]:
    return {chapter_of(p): p for p in sorted((root / "notebooks").glob("*.ipynb"))}


def chapter_title(path: Path) -> str:
    """A chapter notebook's title: its first heading without "Chapter N — " (or "第 N 章 — ")."""
    first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"]
    line = (first if isinstance(first, str) else "".join(first)).splitlines()[0]
    return re.sub(r"^#\s*(Chapter \d+ — |第 \d+ 章 — )?", "", line)


def _seconds(times: dict, folder: str, name: str) -> str:
    row = times.get(f"{folder}/{name}")
    return f"{row['seconds']:.0f} s" if row else "–"


def chapter_rows(root: Path, lang: str = "en") -> list[dict]:
    """Per chapter: title, notebook, measured run times, exercises with points, bank questions, in
    ``lang`` (en or zh: the Chinese titles come from the zh twins)."""
    times = json.loads((root / "benchmarks" / "results" / "notebook_times.json").read_text())
    bank = load_bank()
    plans = CHAPTERS_ZH if lang == "zh" else CHAPTERS
    rows = []
    for chapter, path in _notebooks(root).items():
        exercises = registry.of_chapter(chapter)
        shown = path.parent / "zh" / path.name if lang == "zh" else path
        rows.append({"chapter": chapter, "title": chapter_title(shown), "notebook": shown.relative_to(root).as_posix(),
                     "time": _seconds(times, "notebooks", path.name),
                     "solution_time": _seconds(times, "solutions", path.name) if exercises else "",
                     "exercises": exercises, "points": sum(e.points for e in exercises),
                     "questions": [q.id for q in bank if Path(q.notebook).name == path.name],
                     "prerequisites": plans[chapter][0], "goals": plans[chapter][1]})
    return rows


def table(rows: list[dict], lang: str = "en") -> str:
    w = LABELS[lang]
    lines = [f"| {w['chapter']} | {w['run_time']} | {w['exercises']} | {w['points']} | {w['bank_questions']} |",
             "|---|---|---|---|---|"]
    for r in rows:
        ex = ", ".join(e.number for e in r["exercises"]) or "–"
        times = r["time"] + (f" / {r['solution_time']}" if r["solution_time"] else "")
        lines.append(f"| {r['chapter']:02d} {r['title']} | {times} | {ex} | {r['points'] or '–'} | {len(r['questions'])} |")
    total, count = sum(r["points"] for r in rows), w["n_exercises"].format(sum(len(r["exercises"]) for r in rows))
    lines.append(f"| **{w['all']}** | | {count} | **{total}** | {sum(len(r['questions']) for r in rows)} |")
    return "\n".join(lines)


def sections(rows: list[dict], lang: str = "en") -> str:
    w, out = LABELS[lang], []
    for r in rows:
        out += [f"### {r['chapter']:02d} — {r['title']}", "",
                f"`{r['notebook']}`{w['sep']}{r['time']}{w['on_cores']}{w['end']} **{w['before']}** "
                f"{r['prerequisites']}{w['end']}", "",
                f"**{w['after']}**", *[f"- {g}" for g in r["goals"]], ""]
        if r["exercises"]:
            out += [f"| {w['exercise']} | {w['learner_writes']} | {w['check']} | {w['points']} |", "|---|---|---|---|"]
            out += [f"| {e.number} | `{e.answer}`{f' ({e.minutes} min)' if e.minutes else ''} | `{e.check}` | {e.points} |"
                    for e in r["exercises"]]
            out.append("")
        if r["questions"]:
            out += [f"**{w['bank_label']}** " + ", ".join(f"`{q}`" for q in r["questions"]), ""]
    return "\n".join(out).rstrip()


BLOCK = re.compile(r"(<!-- BEGIN generated: (?P<name>[\w-]+) -->\n)(?:.*?\n)?(<!-- END generated: (?P=name) -->)", re.S)


GUIDES = {"en": "TEACHING.md", "zh": "TEACHING.zh.md"}


def render(text: str, root: Path, lang: str = "en") -> str:
    """``text`` with every generated block rewritten, in ``lang``."""
    rows = chapter_rows(root, lang)
    blocks = {"chapters-table": table(rows, lang), "chapters": sections(rows, lang)}

    def fill(m):
        if m["name"] not in blocks:
            raise ValueError(f"{GUIDES[lang]} has a generated block {m['name']!r} that nothing generates")
        return m.group(1) + blocks[m["name"]] + "\n" + m.group(3)
    return BLOCK.sub(fill, text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gantutor.teaching", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the guides' generated blocks are out of date")
    args = parser.parse_args(argv)
    root, stale = repo_root(), []
    for lang, name in GUIDES.items():
        path = root / name
        text = path.read_text(encoding="utf-8")
        new = render(text, root, lang)
        if new == text:
            continue
        if args.check:
            stale.append(name)
        else:
            path.write_text(new, encoding="utf-8")
            print(f"wrote {name}")
    if stale:
        print(f"{' and '.join(stale)} out of date: run `python -m gantutor.teaching`", file=sys.stderr)
        return 1
    if args.check:
        print("the teacher's guides are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
