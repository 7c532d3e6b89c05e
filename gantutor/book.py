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
from gantutor.teaching import chapter_title

FOLDERS = ("notebooks", "solutions", "exercises")
LANG_NAMES = {"en": "English", "zh": "中文"}
TEXT = {
    "en": {"title": "gantutor — GANs, and pruning them, on your laptop", "bank": "Interview question bank",
           "chapters": "Chapters", "solutions": "Solutions", "exercises": "Exercise notebooks", "guide": "Teaching",
           "see": "Demonstrated in", "ex_cell": "exercises", "sol_cell": "solution", "follow": "Follow-up", "answer": "Answer", "why": "Why", "wrong": "A common wrong answer",
           "launch": "Run it: clone the repository, then `make lab` (JupyterLab on this chapter's folder) — or download "
                     "the notebook with the button at the top of the page. `make test` runs everything."},
    "zh": {"title": "gantutor — 在笔记本电脑上学 GAN，以及 GAN 的剪枝与压缩", "bank": "面试题库",
           "chapters": "各章", "solutions": "参考答案", "exercises": "练习笔记本", "guide": "教学指南",
           "see": "演示位置", "ex_cell": "练习", "sol_cell": "答案", "follow": "追问", "answer": "答案", "why": "解析", "wrong": "常见错误答案",
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
            if q.follow_up:
                lines += [f"*{t['follow']}:* {q.follow_up['question'][lang]} — {q.follow_up['answer'][lang]}", ""]
            lines += ["</details>", "", f"{t['see']}: [{Path(q.notebook).stem} §{q.section}]({target})", ""]
        (src / "bank" / f"{topic}.md").write_text("\n".join(lines), encoding="utf-8")
        pages.append(f"bank/{topic}")
    return pages


START = {
    "en": ["## Where to start", "",
           "- **Studying alone:** begin with [Start here]({first}), then take the chapters in order. Each "
           "chapter has an exercise notebook whose checks say at once whether your answer is right, and why not.",
           "- **Teaching a class:** [the teacher's guide](teaching.md) has a syllabus, each chapter's time and "
           "exercises, labs offline or without a GPU, and grading a class.",
           "- **Preparing for an interview:** [chapter 8]({drill}) (a quiz that remembers, timed coding drills) "
           "and [the question bank]({bank}), by topic, each answer linked to the chapter that demonstrates it.",
           "", "## The chapters", "",
           "| chapter | exercises | solutions | runs in (2 CPU cores) |", "|---|---|---|---|"],
    "zh": ["## 从哪里开始", "",
           "- **自学：** 从[从这里开始]({first})读起，然后按顺序学习各章。每章都有练习笔记本，"
           "其中的检查会立即告诉你答案对不对、错在哪里。",
           "- **教学：** [教学指南](teaching.md)提供教学大纲、各章用时与练习、离线或无 GPU 的机房配置，以及为全班评分的方法。",
           "- **准备面试：** [第 8 章]({drill})（会记住错题的测验、限时编程演练）和按主题排列的[面试题库]({bank})，"
           "每个答案都链接到演示它的章节。",
           "", "## 各章一览", "",
           "| 章节 | 练习 | 参考答案 | 运行用时（2 个 CPU 核） |", "|---|---|---|---|"],
}


def _chapter_table(root: Path, src: Path, lang: str, pages: dict, bank: list[str]) -> list[str]:
    times = json.loads((root / "benchmarks" / "results" / "notebook_times.json").read_text(encoding="utf-8"))
    t, chapters = TEXT[lang], pages["notebooks"]
    lines = [line.format(first=f"{chapters[0]}.ipynb", drill=next(c for c in chapters if "/08_" in c) + ".ipynb",
                         bank=f"{bank[0]}.md") for line in START[lang]]
    for page in chapters:
        name = Path(page).name
        exercise = f"[{t['ex_cell']}](exercises/{name}.ipynb)" if f"exercises/{name}" in pages["exercises"] else "–"
        solution = f"[{t['sol_cell']}](solutions/{name}.ipynb)" if f"solutions/{name}" in pages["solutions"] else "–"
        row = times.get(f"notebooks/{name}.ipynb")
        seconds = f"{row['seconds']:.0f} s" if row else "–"
        title = f"{name[:2]} {chapter_title(src / f'{page}.ipynb')}"  # "04 DCGAN on real digits, …"
        lines.append(f"| [{title}]({page}.ipynb) | {exercise} | {solution} | {seconds} |")
    return lines + [""]


def _index(root: Path, src: Path, lang: str, pages: dict, bank: list[str]) -> None:
    t = TEXT[lang]
    readme = (root / ("README.zh.md" if lang == "zh" else "README.md")).read_text(encoding="utf-8")
    intro = readme.split("\n## ")[0].split("\n", 1)[1].strip()  # the README's opening paragraphs, without its title
    intro = re.sub(r"^(English · \[中文\]\(README.zh.md\)|\[English\]\(README.md\) · 中文)\s*", "", intro)
    commands = readme.split("```bash", 1)[1].split("```", 1)[0].strip()
    lines = [f"# {t['title']}", "", intro.replace("(TEACHING.md)", "(teaching.md)").replace("(TEACHING.zh.md)", "(teaching.md)"), "", "```bash", commands, "```", ""]
    lines += _chapter_table(root, src, lang, pages, bank)
    for key, entries in ((t["chapters"], pages["notebooks"]), (t["exercises"], pages["exercises"]),
                         (t["solutions"], pages["solutions"]), (t["bank"], bank), (t["guide"], ["teaching"])):
        lines += ["```{toctree}", f":caption: {key}", ":maxdepth: 1", ":hidden:", "", *entries, "```", ""]
    (src / "index.md").write_text("\n".join(lines), encoding="utf-8")
    teaching = root / ("TEACHING.zh.md" if lang == "zh" and (root / "TEACHING.zh.md").exists() else "TEACHING.md")
    shutil.copy(teaching, src / "teaching.md")
    for name in ("README.md", "README.zh.md", "TEACHING.md", "TEACHING.zh.md"):  # the chapters link to them
        if (root / name).exists():
            shutil.copy(root / name, src / name)


CONF = '''# generated by gantutor.book
project = "gantutor"
language = {language!r}
html_title = {title!r}
extensions = ["myst_nb", "sphinx-mathjax-offline", "gantutor.book"]
nb_execution_mode = "off"
nb_ipywidgets_js = {{}}  # no widget JavaScript from a CDN: a widget shows its stored text
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
exclude_patterns = ["README.md", "README.zh.md", "TEACHING.md", "TEACHING.zh.md"]
suppress_warnings = ["myst.header", "toc.not_included"]
html_theme = "sphinx_book_theme"
html_theme_options = {{"use_download_button": True, "use_fullscreen_button": False}}
html_last_updated_fmt = None
gantutor_lang = {lang!r}
'''

# A Chinese query has no spaces, and the browser's own word segmenter (Intl.Segmenter) knows few of
# the course's words (Chromium's splits 判别器 and 剪枝 into single characters), so each run of Chinese
# characters is cut against the site's own vocabulary, the words jieba found when the index was built:
# the longest indexed word at each place; a character no indexed word starts with (的, 了) is dropped.
# Latin words and numbers are kept whole, as Sphinx's own splitter keeps them.
ZH_SPLIT_QUERY = r"""
var splitQuery = (query) => {
  const index = (typeof Search !== "undefined" && Search._index) || {terms: {}, titleterms: {}};
  const known = (w) => Object.hasOwn(index.terms, w) || Object.hasOwn(index.titleterms, w);
  const words = [];
  for (const run of query.match(/\p{Script=Han}+|(?:(?!\p{Script=Han})[\p{Letter}\p{Number}_])+/gu) || []) {
    if (!/\p{Script=Han}/u.test(run)) { words.push(run); continue; }
    for (let i = 0; i < run.length;) {
      let j = Math.min(run.length, i + 8);
      while (j > i + 1 && !known(run.slice(i, j))) j--;
      if (j > i + 1 || known(run[i])) words.push(run.slice(i, j));
      i = j;
    }
  }
  return words;
};
"""


def _chinese_search():
    """Sphinx's Chinese search with the browser side repaired: Sphinx 9.0 names the JavaScript
    stemmer after the language ("ChineseStemmer", which does not exist: sphinx-doc/sphinx#14229,
    fixed after 9.0.4), so every Chinese search died; the pages' Latin words are stemmed in
    English, so the English stemmer is the one to name. And the query is cut into the index's words."""
    from sphinx.search.zh import SearchChinese

    class SearchChineseInBrowser(SearchChinese):
        language_name = "English"  # -> window.Stemmer = EnglishStemmer, the stemmer Sphinx ships for zh
        js_splitter_code = ZH_SPLIT_QUERY

    return SearchChineseInBrowser


def _page_lines(app, pagename, templatename, context, doctree):
    """Every page links to the same page in the other language; a notebook page says how to run it."""
    lang = app.config.gantutor_lang
    depth = pagename.count("/")
    other = ("../" * (depth + 1) + pagename) if lang != "en" else ("../" * depth + "zh/" + pagename)
    label = LANG_NAMES["zh" if lang == "en" else "en"]
    launch = re.sub(r"`([^`]+)`", r"<code>\1</code>", TEXT[lang]["launch"])
    html = f'<p class="gantutor-switch"><a href="{other}.html">{label}</a></p>'
    if pagename.split("/")[0] in FOLDERS:
        html += f'<p class="gantutor-launch">{launch}</p>'
    context["body"] = html + context.get("body", "")


def setup(app):
    """The Sphinx extension the book's conf.py loads."""
    app.add_config_value("gantutor_lang", "en", "html")
    if app.config.language.startswith("zh"):
        app.add_search_language(_chinese_search())
    app.connect("html-page-context", _page_lines)
    return {"parallel_read_safe": True}


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
        (src / "conf.py").write_text(CONF.format(language="zh_CN" if lang == "zh" else "en", title=TEXT[lang]["title"],
                                                 lang=lang), encoding="utf-8")
        target = out / "zh" if lang == "zh" else out
        log(f"building the {LANG_NAMES[lang]} site into {target}")
        done = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src), str(target)],
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"sphinx failed for {lang}:\n{done.stderr[-3000:]}")
    return out


SEARCHES = (("", "discriminator"), ("zh/", "判别器"), ("zh/", "剪枝"))  # (site folder, query) that browse() asks
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
    hold math; then each language's search is asked for a word (``SEARCHES``) and its results counted.
    Returns a report dict."""
    import functools
    import http.server
    import threading
    from urllib.parse import urljoin

    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    report = {"pages": 0, "outside_requests": [], "undrawn_images": [], "untypeset_math": [], "failed": [],
              "chapters": {"en": 0, "zh": 0}, "search_hits": {}}
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
            for folder, query in SEARCHES:
                if not (Path(site) / folder / "search.html").exists():
                    continue
                page.goto(f"{base}{folder}search.html?q={query}", wait_until="load")
                try:  # the results, or Sphinx's "no results" line; a broken search leaves neither
                    page.wait_for_function("() => document.querySelectorAll('#search-results li').length > 0 || "
                                           "/\\d/.test(document.querySelector('.search-summary')?.innerText || '')",
                                           timeout=timeout_ms)
                except PlaywrightTimeout:
                    pass
                report["search_hits"][f"{folder}{query}"] = page.evaluate("() => document.querySelectorAll('#search-results li').length")
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
        return 1 if bad or not all(report["search_hits"].values()) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
