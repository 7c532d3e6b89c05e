"""The course as a static website, in English and Chinese, from the stored notebooks (``make book``).

    python -m gantutor.book [--out build/site] [--lang en zh]

Nothing is executed: the pages show the notebooks' stored outputs (CI checks that they run). Sphinx
with MyST-NB and the book theme builds each language from a source folder assembled beside the
site (``build/book/<lang>/``): the chapters, solutions and exercise notebooks (each page has a download
button for its ``.ipynb``), the teacher's guide, the question bank as one page per topic (answers
folded, each question linking to the chapter that demonstrates it) and a landing page. English goes
to ``build/site/``, Chinese to ``build/site/zh/``; every page links to the same page in the other
language. Every asset is local: MathJax from ``sphinx-mathjax-offline``, no widget JavaScript (a
widget shows its stored text, which says it needs a running notebook), Sphinx's own search.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from gantutor.interview.bank import TOPICS, load_bank

FOLDERS = ("notebooks", "solutions", "exercises")
LANG_NAMES = {"en": "English", "zh": "中文"}
TEXT = {
    "en": {"title": "gantutor — GANs, and pruning them, on your laptop", "bank": "Interview question bank",
           "chapters": "Chapters", "solutions": "Solutions", "exercises": "Exercise notebooks", "guide": "Teaching",
           "see": "Demonstrated in", "answer": "Answer", "why": "Why", "wrong": "A common wrong answer",
           "launch": "Run it: clone the repository, then `make lab` (JupyterLab on this chapter's folder) — or download "
                     "the notebook with the button at the top of the page. `make test` runs everything."},
    "zh": {"title": "gantutor — 在笔记本电脑上学 GAN，以及 GAN 的剪枝与压缩", "bank": "面试题库",
           "chapters": "各章", "solutions": "参考答案", "exercises": "练习笔记本", "guide": "教学指南",
           "see": "演示位置", "answer": "答案", "why": "解析", "wrong": "常见错误答案",
           "launch": "运行它：克隆仓库后执行 `make lab`（在 JupyterLab 中打开）——或用页面顶部的按钮下载这个笔记本。"
                     "`make test` 运行全部测试。"},
}
ZH_LINK = re.compile(r"\.\./\.\./(notebooks|solutions|exercises)/zh/")


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def _copy_notebooks(root: Path, src: Path, lang: str) -> dict[str, list[str]]:
    pages = {}
    for folder in FOLDERS:
        (src / folder).mkdir(parents=True, exist_ok=True)
        origin = root / folder / ("zh" if lang == "zh" else "")
        pages[folder] = []
        for path in sorted(origin.glob("*.ipynb")):
            text = path.read_text(encoding="utf-8")
            if lang == "zh":  # the twins' links point from <folder>/zh/: the book keeps one folder per kind
                text = ZH_LINK.sub(r"../\1/", text).replace("](../../", "](../")
            (src / folder / path.name).write_text(text, encoding="utf-8")
            pages[folder].append(f"{folder}/{path.stem}")
    return pages


def _bank_pages(src: Path, lang: str) -> list[str]:
    t, bank, pages = TEXT[lang], load_bank(), []
    (src / "bank").mkdir(exist_ok=True)
    for topic in TOPICS:
        questions = [q for q in bank if q.topic == topic]
        if not questions:
            continue
        lines = [f"# {t['bank']}: {topic}", ""]
        for q in questions:
            target = f"../{q.notebook}"
            lines += [f"## {q.question[lang]}", "", "<details>", f"<summary>{t['answer']}</summary>", "",
                      q.answer[lang], "", f"*{t['why']}:* {q.explanation[lang]}", ""]
            if q.wrong:
                lines += [f"*{t['wrong']}:* {q.wrong[lang]} — {q.wrong['why'][lang]}", ""]
            lines += ["</details>", "", f"{t['see']}: [{Path(q.notebook).stem} §{q.section}]({target})", ""]
        (src / "bank" / f"{topic}.md").write_text("\n".join(lines), encoding="utf-8")
        pages.append(f"bank/{topic}")
    return pages


def _index(root: Path, src: Path, lang: str, pages: dict, bank: list[str]) -> None:
    t = TEXT[lang]
    readme = (root / ("README.zh.md" if lang == "zh" else "README.md")).read_text(encoding="utf-8")
    intro = readme.split("\n## ")[0].split("\n", 1)[1].strip()  # the README's opening paragraphs, without its title
    intro = re.sub(r"^(English · \[中文\]\(README.zh.md\)|\[English\]\(README.md\) · 中文)\s*", "", intro)
    commands = readme.split("```bash", 1)[1].split("```", 1)[0].strip()
    lines = [f"# {t['title']}", "", intro.replace("(TEACHING.md)", "(teaching.md)"), "", "```bash", commands, "```", ""]
    for key, entries in ((t["chapters"], pages["notebooks"]), (t["exercises"], pages["exercises"]),
                         (t["solutions"], pages["solutions"]), (t["bank"], bank), (t["guide"], ["teaching"])):
        lines += ["```{toctree}", f":caption: {key}", ":maxdepth: 1", "", *entries, "```", ""]
    (src / "index.md").write_text("\n".join(lines), encoding="utf-8")
    shutil.copy(root / "TEACHING.md", src / "teaching.md")
    for name in ("README.md", "README.zh.md", "TEACHING.md"):  # the chapters link to them
        shutil.copy(root / name, src / name)


CONF = '''# generated by gantutor.book
project = "gantutor"
language = {language!r}
html_title = {title!r}
extensions = ["myst_nb", "sphinx-mathjax-offline"]
nb_execution_mode = "off"
nb_ipywidgets_js = {{}}  # no widget JavaScript from a CDN: a widget shows its stored text
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
exclude_patterns = ["README.md", "README.zh.md", "TEACHING.md"]
suppress_warnings = ["myst.header", "toc.not_included"]
html_theme = "sphinx_book_theme"
html_theme_options = {{"use_download_button": True, "use_fullscreen_button": False}}
html_last_updated_fmt = None


def _switch(app, pagename, templatename, context, doctree):
    depth = pagename.count("/")
    other = ("../" * (depth + 1) + pagename) if {language!r} != "en" else ("../" * depth + "zh/" + pagename)
    label = {other_label!r}
    launch = {launch!r} if pagename.split("/")[0] in ("notebooks", "solutions", "exercises") else ""
    context["body"] = (f'<p class="gantutor-switch"><a href="{{other}}.html">{{label}}</a></p>'
                       + (f'<p class="gantutor-launch">{{launch}}</p>' if launch else "") + context.get("body", ""))


def setup(app):
    app.connect("html-page-context", _switch)
'''


def build(out: Path | None = None, langs=("en", "zh"), root: Path | None = None, log=print) -> Path:
    """Assemble each language's sources and run Sphinx; returns ``out`` (default build/site)."""
    root = Path(root or repo_root())
    out = Path(out or root / "build" / "site")
    for lang in langs:
        if lang not in TEXT:
            raise ValueError(f"langs must be among {', '.join(TEXT)}, got {lang!r}")
        src = out.parent / "book" / lang  # build/book/<lang> beside build/site
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        pages = _copy_notebooks(root, src, lang)
        bank = _bank_pages(src, lang)
        _index(root, src, lang, pages, bank)
        other = "zh" if lang == "en" else "en"
        launch = re.sub(r"`([^`]+)`", r"<code>\1</code>", TEXT[lang]["launch"])
        (src / "conf.py").write_text(CONF.format(language="zh_CN" if lang == "zh" else "en", title=TEXT[lang]["title"],
                                                 other_label=LANG_NAMES[other], launch=launch), encoding="utf-8")
        target = out / "zh" if lang == "zh" else out
        log(f"building the {LANG_NAMES[lang]} site into {target}")
        done = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src), str(target)],
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"sphinx failed for {lang}:\n{done.stderr[-3000:]}")
    return out


ASSET = re.compile(r'<(?P<tag>\w+)[^>]*?\s(?P<attr>href|src)="(?P<url>[^"]+)"')


def site_problems(out: Path) -> list[str]:
    """What is wrong with a built site: a relative link or asset that does not exist, or an asset
    (anything but a plain ``<a>`` link) fetched from outside the site. The theme's template
    fragments in ``_static`` are not pages and are skipped."""
    out, problems = Path(out), []
    for page in sorted(out.rglob("*.html")):
        rel = page.relative_to(out).as_posix()
        if "_static/" in rel or rel.startswith("_static"):
            continue
        for m in ASSET.finditer(page.read_text(encoding="utf-8", errors="replace")):
            url = m["url"]
            if url.startswith(("http://", "https://", "//")):
                if m["tag"] != "a":
                    problems.append(f"{rel}: <{m['tag']}> fetches {url} from outside the site")
                continue
            target = url.split("#")[0].split("?")[0]
            if target and not url.startswith(("mailto:", "data:", "javascript:")) and not (page.parent / target).exists():
                problems.append(f"{rel}: {url} does not exist")
    return problems


def browse(site: Path, executable: str | None = None, timeout_ms: int = 20000) -> dict:
    """Serve ``site`` on 127.0.0.1 and crawl it from its index in a real Chromium (playwright,
    driving ``executable``, e.g. /usr/bin/chromium): every page is loaded, any request to another
    host is blocked and recorded, images must be drawn and MathJax must have typeset the pages that
    hold math; then the English search is asked for "discriminator". Returns a report dict."""
    import functools
    import http.server
    import threading
    from urllib.parse import urljoin

    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    report = {"pages": 0, "outside_requests": [], "undrawn_images": [], "untypeset_math": [], "failed": [],
              "chapters": {"en": 0, "zh": 0}, "search_hits": 0}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            page = browser.new_page()

            def route(r):
                if r.request.url.startswith(base) or r.request.url.startswith("data:"):
                    return r.continue_()
                report["outside_requests"].append(r.request.url)
                return r.abort()
            page.route("**/*", route)
            todo, seen = [base + "index.html"], set()
            while todo:
                url = todo.pop()
                if url in seen:
                    continue
                seen.add(url)
                response = page.goto(url, wait_until="load", timeout=timeout_ms)
                rel = url[len(base):]
                if response is None or not response.ok:
                    report["failed"].append(rel)
                    continue
                report["pages"] += 1
                if re.match(r"(zh/)?notebooks/\d+_", rel):
                    report["chapters"]["zh" if rel.startswith("zh/") else "en"] += 1
                if page.evaluate("() => document.querySelector('.math') !== null"):
                    page.wait_for_function("() => document.querySelectorAll('.math mjx-container').length > 0 || "
                                           "document.querySelectorAll('mjx-container').length > 0", timeout=timeout_ms)
                    if page.evaluate("() => document.querySelectorAll('.math').length > document.querySelectorAll('mjx-container').length"):
                        report["untypeset_math"].append(rel)
                undrawn = page.evaluate("() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
                report["undrawn_images"] += [f"{rel}: {u}" for u in undrawn]
                for href in page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))"):
                    target = urljoin(url, href).split("#")[0].split("?")[0]
                    if target.startswith(base) and target.endswith(".html") and "/_static/" not in target and "/_sources/" not in target:
                        todo.append(target)
            page.goto(base + "search.html?q=discriminator", wait_until="load")
            page.wait_for_function("() => document.querySelectorAll('#search-results li, ul.search li').length > 0",
                                   timeout=timeout_ms)
            report["search_hits"] = page.evaluate("() => document.querySelectorAll('#search-results li, ul.search li').length")
            browser.close()
    finally:
        server.shutdown()
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gantutor.book", description="Build the course's website (make book).")
    parser.add_argument("--out", type=Path, default=None, help="the site's folder (default build/site)")
    parser.add_argument("--lang", nargs="+", default=["en", "zh"], choices=sorted(TEXT), help="the languages to build")
    parser.add_argument("--browse", metavar="CHROMIUM", default=None,
                        help="then crawl the built site in this Chromium (needs playwright) and print the report")
    args = parser.parse_args(argv)
    try:
        out = build(args.out, args.lang)
    except ModuleNotFoundError as err:
        print(f"error: {err.name} is missing: install the book's tools with pip install -e '.[book]' (make book does)",
              file=sys.stderr)
        return 2
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"the site is in {out}: open {out / 'index.html'}")
    if args.browse:
        report = browse(out, args.browse)
        print(json.dumps(report, ensure_ascii=False, indent=1))
        bad = report["outside_requests"] or report["undrawn_images"] or report["untypeset_math"] or report["failed"]
        return 1 if bad or not report["search_hits"] else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
