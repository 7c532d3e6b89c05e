"""The website (make book): both languages built from the stored notebooks, every chapter in each,
every internal link resolving, no asset fetched from outside the site, a language switch on every page."""
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="the book's tools are the .[book] extra, which make test installs")

from gantutor import book  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return book.build(tmp_path_factory.mktemp("site"), log=lambda *_: None)


def test_every_chapter_exists_in_both_languages_with_its_solutions_and_exercises(site):
    assert (site / "index.html").exists() and (site / "zh" / "index.html").exists()
    assert len(CHAPTERS) >= 10
    for lang in ("", "zh/"):
        for name in CHAPTERS:
            assert (site / f"{lang}notebooks/{name}.html").exists(), f"{lang}notebooks/{name}"
        for path in (ROOT / "solutions").glob("*.ipynb"):
            assert (site / f"{lang}solutions/{path.stem}.html").exists() and (site / f"{lang}exercises/{path.stem}.html").exists()
    zh = (site / "zh" / "notebooks" / "01_minimax.html").read_text(encoding="utf-8")
    assert "极小极大" in zh and "交互控件" not in (site / "notebooks" / "03_mode_collapse.html").read_text(encoding="utf-8")


def test_every_link_resolves_and_no_asset_comes_from_outside(site):
    assert book.site_problems(site) == []


def test_each_page_links_to_the_same_page_in_the_other_language(site):
    for rel in ("notebooks/04_dcgan.html", "bank/pruning.html", "teaching.html"):
        page = (site / rel).read_text(encoding="utf-8")
        link = re.search(r'gantutor-switch"><a href="([^"]+)"', page)[1]
        assert (site / rel).parent.joinpath(link).resolve() == (site / "zh" / rel).resolve()
    assert "make lab" in (site / "notebooks" / "04_dcgan.html").read_text(encoding="utf-8")


def test_the_bank_is_rendered_by_topic_with_folded_answers_linking_to_their_chapter(site):
    page = (site / "bank" / "pruning.html").read_text(encoding="utf-8")
    assert page.count("<details>") >= 5 and 'href="../notebooks/07_pruning.html' in page


def test_math_is_set_by_the_local_mathjax_and_widgets_say_they_need_a_notebook(site):
    page = (site / "notebooks" / "01_minimax.html").read_text(encoding="utf-8")
    assert re.search(r'<script[^>]+src="\.\./_static/mathjax/[^"]+"', page) and r"\(" in page
    assert "Interactive widget: run the notebook (make lab) to use it." in (site / "notebooks" / "03_mode_collapse.html").read_text(encoding="utf-8")
    assert "交互控件" in (site / "zh" / "notebooks" / "03_mode_collapse.html").read_text(encoding="utf-8")


def test_the_chinese_search_names_a_stemmer_that_exists_and_cuts_queries_into_indexed_words(site):
    data = (site / "zh" / "_static" / "language_data.js").read_text(encoding="utf-8")
    stemmer = re.search(r"window\.Stemmer = (\w+);", data)[1]
    assert f"var {stemmer}=" in data or f"var {stemmer} =" in data, f"{stemmer} is not defined in language_data.js"
    assert "var splitQuery" in data and "Search._index" in data
    text = (site / "zh" / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(text[text.index("(") + 1:text.rindex(")")])["terms"]
    for word in ("判别", "剪枝", "生成"):  # jieba's words, which the query is cut against
        assert word in terms


def _chromium():
    import shutil
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="no Chromium on this machine (Debian: apt install chromium)")
def test_in_a_real_chromium_no_request_leaves_the_site_math_is_set_images_drawn_and_search_works(site):
    pytest.importorskip("playwright", reason="pip install playwright drives the machine's Chromium")
    report = book.browse(site, _chromium())
    assert report["outside_requests"] == [] and report["failed"] == []
    assert report["undrawn_images"] == [] and report["untypeset_math"] == []
    assert report["chapters"]["en"] >= 10 and report["chapters"]["zh"] >= 10
    assert all(report["search_hits"].values()) and set(report["search_hits"]) == {f + q for f, q in book.SEARCHES}, report["search_hits"]


def test_the_landing_page_says_where_to_start_and_links_every_chapter_with_its_exercises(site):
    for lang, heading in (("", "Where to start"), ("zh/", "从哪里开始")):
        page = (site / f"{lang}index.html").read_text(encoding="utf-8")
        assert heading in page and 'href="teaching.html"' in page
        for name in CHAPTERS:
            assert f'href="notebooks/{name}.html"' in page, f"{lang}index.html does not link {name}"
        for path in (ROOT / "exercises").glob("*.ipynb"):
            assert f'href="exercises/{path.stem}.html"' in page
    assert "用 gantutor 教学" in (site / "zh" / "teaching.html").read_text(encoding="utf-8")
