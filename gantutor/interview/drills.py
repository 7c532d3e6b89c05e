"""Chapter 8's coding drills from a terminal: the task, a starter file, and the notebook's check.

    gantutor drill                      the drills, with their time
    gantutor drill 8.2                  the task and its starter code
    gantutor drill 8.2 --stub FILE.py   write the starter code to a new file (never over an existing one)
    gantutor drill 8.2 --check FILE.py  run the drill's check on FILE.py's function

The task is the drill's text in the exercise notebook (``exercises/08_interview_drill.ipynb``, or
its Chinese twin), so the terminal and the notebook say the same. The check is the notebook's
check, with its messages. It runs in a child process with a time limit: a file that never returns
(an endless loop at its top level or in the function) is stopped and reported, as are a file that
does not parse, one that raises while it loads and one that lacks the function; none of them ends
in a traceback of gantutor's own.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from gantutor.checks import registry

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60.0
# What a starter file imports: the drill notebook's own imports (its first code cell), nothing of gantutor.
IMPORTS = "import torch\nimport torch.nn.functional as F\nfrom torch import nn\n"

TEXT = {
    "en": {
        "unknown": "no drill {number!r}: the drills are {known}",
        "no_file": "no file at {path}: write your function in a .py file (gantutor drill {number} --stub {path} starts one)",
        "syntax": "{path} does not parse: line {line}: {msg}\n    {text}",
        "missing": ("{path} defines no {name}: drill {number} checks a function called {name} "
                    "(the file defines {defined})"),
        "nothing": "nothing",
        "load_error": "{path} raised {kind} while it was loading (line {line}): {msg}",
        "timeout": ("the check did not finish in {seconds:g} s: {path} never returns — look for an endless loop in "
                    "{name} or at the file's top level (--timeout sets the limit)"),
        "crash": "the check stopped without a verdict (exit code {code}):\n{output}",
        "exists": "{path} exists: it is not overwritten (pick another name, or check it with --check)",
        "wrote": "wrote {path}: write {name} there, then run  gantutor drill {number} --check {path}",
        "header": "Drill {number} — check it with: gantutor drill {number} --check FILE.py",
        "list": "The drills of chapter 8 (gantutor drill N shows one):",
        "minutes": "min",
        "starter": "Starter code (gantutor drill {number} --stub FILE.py writes it to a file):",
        "where": "  (raised at line {line} of {path})",
    },
    "zh": {
        "unknown": "没有演练 {number!r}：现有的演练是 {known}",
        "no_file": "{path} 不存在：请把你的函数写在一个 .py 文件里（gantutor drill {number} --stub {path} 会生成一个起始文件）",
        "syntax": "{path} 无法解析：第 {line} 行：{msg}\n    {text}",
        "missing": "{path} 没有定义 {name}：演练 {number} 检查的是名为 {name} 的函数（该文件定义了：{defined}）",
        "nothing": "无",
        "load_error": "{path} 在加载时抛出了 {kind}（第 {line} 行）：{msg}",
        "timeout": "检查在 {seconds:g} s 内没有结束：{path} 一直不返回——请检查 {name} 或文件顶层是否有死循环（--timeout 可调整时限）",
        "crash": "检查没有给出结论就停止了（退出码 {code}）：\n{output}",
        "exists": "{path} 已存在：不会覆盖它（换一个文件名，或用 --check 检查它）",
        "wrote": "已写入 {path}：在其中写好 {name}，然后运行  gantutor drill {number} --check {path}",
        "header": "演练 {number} — 检查方法：gantutor drill {number} --check FILE.py",
        "list": "第 8 章的演练（gantutor drill N 显示其中一个）：",
        "minutes": "min",
        "starter": "起始代码（gantutor drill {number} --stub FILE.py 会把它写入文件）：",
        "where": "  （在 {path} 第 {line} 行抛出）",
    },
}


class DrillError(ValueError):
    """A drill number that does not exist, or a file that cannot be checked; the message says why."""


@dataclass(frozen=True)
class Drill:
    number: str
    name: str       # the function the learner writes
    check: str      # the check's name in gantutor.checks
    minutes: int
    title: str      # the heading, without "Drill 8.2 — " and the time
    task: str       # the drill's text, as markdown
    stub: str       # the stub cell: the function's signature and its NotImplementedError


def _notebook(lang: str) -> list[dict]:
    folder = ROOT / "exercises" / ("zh" if lang == "zh" else "")
    return json.loads((folder / "08_interview_drill.ipynb").read_text(encoding="utf-8"))["cells"]


def _source(cell) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


HEADING = re.compile(r"^##\s+(?:Drill|演练)\s+(?P<number>8\.\d+)\s+—\s+(?P<title>.+?)\s*[(（]\d+\s*min[)）]\s*$", re.M)


def drills(lang: str = "en") -> dict[str, Drill]:
    """Chapter 8's drills by number, their task in ``lang`` (en or zh)."""
    if lang not in TEXT:
        raise DrillError(f"lang must be one of {', '.join(TEXT)}, got {lang!r}")
    cells, out = _notebook(lang), {}
    rows = {e.number: e for e in registry.EXERCISES if e.chapter == 8}
    for i, cell in enumerate(cells):
        m = HEADING.search(_source(cell)) if cell["cell_type"] == "markdown" else None
        if not m or m["number"] not in rows:
            continue
        entry, parts, stub = rows[m["number"]], [], ""
        for later in cells[i:]:
            text = _source(later)
            if later is not cell and later["cell_type"] == "markdown" and HEADING.search(text):
                break
            if later["cell_type"] == "code" and f"def {entry.stub_name}(" in text and "NotImplementedError" in text:
                stub = text
                break  # the text after the stub is the check and what the notebook shows afterwards
            parts.append(text if later["cell_type"] == "markdown" else f"```python\n{text}\n```")
        out[entry.number] = Drill(entry.number, entry.answer, entry.check, entry.minutes, m["title"],
                                  "\n\n".join(parts), stub)
    missing = sorted(set(rows) - set(out))
    if missing:
        raise DrillError(f"the drill notebook has no section for drill {', '.join(missing)}")
    return out


def get(number: str, lang: str = "en") -> Drill:
    """One drill: "8.2" (or "2")."""
    found = drills(lang)
    key = number if "." in str(number) else f"8.{number}"
    if key not in found:
        raise DrillError(TEXT[lang]["unknown"].format(number=str(number), known=", ".join(found)))
    return found[key]


def starter(drill: Drill, lang: str = "en") -> str:
    """A file to start from: what the drill asks (as comments), the notebook's imports and the stub."""
    t = TEXT[lang]
    lines = [f"# {t['header'].format(number=drill.number)}", "#"]
    lines += [f"# {line}".rstrip() for line in drill.task.splitlines()]
    return "\n".join(lines) + "\n\n" + IMPORTS + "\n\n" + drill.stub.strip() + "\n"


def write_stub(drill: Drill, path: Path, lang: str = "en") -> str:
    """Write ``starter`` to ``path``, which must not exist yet (nothing a learner saved is overwritten)."""
    path = Path(path)
    t = TEXT[lang]
    try:
        with open(path, "x", encoding="utf-8") as f:
            f.write(starter(drill, lang))
    except FileExistsError:
        raise DrillError(t["exists"].format(path=path)) from None
    return t["wrote"].format(path=path, name=drill.name, number=drill.number)


def _defined(tree: ast.Module) -> list[str]:
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def _static_problem(drill: Drill, path: Path, lang: str) -> str | None:
    """What keeps ``path`` from being checked before anything of it runs: missing, unparsable, no function."""
    t = TEXT[lang]
    if not path.is_file():
        return t["no_file"].format(path=path, number=drill.number)
    source = path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as err:
        return t["syntax"].format(path=path, line=err.lineno, msg=err.msg, text=(err.text or "").strip())
    defined = _defined(tree)
    if drill.name not in defined:
        return t["missing"].format(path=path, name=drill.name, number=drill.number,
                                   defined=", ".join(defined) or t["nothing"])
    return None


def check_file(number: str, path: str | Path, lang: str = "en", timeout: float = TIMEOUT_S) -> tuple[bool, str]:
    """Run drill ``number``'s check on the function of the file at ``path``, in a child process that
    may run ``timeout`` seconds. Returns (passed, what to show the learner)."""
    drill, path = get(number, lang), Path(path)
    problem = _static_problem(drill, path, lang)
    if problem:
        return False, problem
    env = dict(os.environ, GANTUTOR_LANG=lang)
    try:
        done = subprocess.run([sys.executable, "-m", "gantutor.interview.drills", drill.number, str(path.resolve())],
                              capture_output=True, text=True, timeout=timeout, env=env, cwd=path.resolve().parent)
    except subprocess.TimeoutExpired:
        return False, TEXT[lang]["timeout"].format(seconds=timeout, path=path, name=drill.name)
    output = (done.stdout + done.stderr).strip()
    if done.returncode in (0, 1):
        return done.returncode == 0, output
    return False, TEXT[lang]["crash"].format(code=done.returncode, output=output[-2000:])


def _line_in(path: str, tb) -> int | str:
    """The line of ``path`` where a traceback ``tb`` last passed."""
    line = "?"
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _child(number: str, path: str) -> int:
    """In the child process: load the file, run the check, print its verdict; 0 passed, 1 not."""
    import runpy

    from gantutor import checks
    from gantutor.checks._core import CheckFailure
    from gantutor.i18n import lang

    drill = get(number, lang())
    try:
        namespace = runpy.run_path(path, run_name="__drill__")
    except BaseException as err:  # anything the learner's top level raises, SystemExit included
        print(TEXT[lang()]["load_error"].format(path=Path(path).name, kind=type(err).__name__, msg=err,
                                                line=_line_in(path, err.__traceback__)))
        return 1
    fn = namespace.get(drill.name)
    try:
        getattr(checks, drill.check)(fn)
    except (CheckFailure, NotImplementedError, TypeError) as err:
        print(err)
        raised = err.__context__  # the learner's exception, when the check caught one: where it came from
        if raised is not None and _line_in(path, raised.__traceback__) != "?":
            print(TEXT[lang()]["where"].format(path=Path(path).name, line=_line_in(path, raised.__traceback__)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2]))
