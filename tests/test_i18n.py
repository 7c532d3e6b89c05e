"""The Chinese edition: the zh twins match their English notebooks (same cells, same code, Chinese
prose that keeps the English numbers), the catalogs are complete and current, the checks, widgets
and command line answer in Chinese under GANTUTOR_LANG=zh, and one term is used per concept."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from gantutor import checks, course, i18n
from gantutor.checks import registry
from gantutor.checks.registry import Exercise
from gantutor.i18n import catalog, scan
from gantutor.interview import load_bank
from gantutor.interview.quiz import corner_markdown

ROOT = Path(__file__).resolve().parents[1]
TWINS = [(folder, p) for folder in ("notebooks", "solutions", "exercises")
         for p in sorted((ROOT / folder).glob("*.ipynb"))]


@pytest.fixture
def zh(monkeypatch):
    monkeypatch.setenv("GANTUTOR_LANG", "zh")


def _twin(folder: str, path: Path):
    twin = ROOT / folder / "zh" / path.name
    assert twin.exists(), f"{folder}/zh/{path.name} is missing: run `python -m gantutor.course build`"
    return nbformat.read(path, 4), nbformat.read(twin, 4)


@pytest.mark.parametrize("folder,path", TWINS, ids=lambda x: x if isinstance(x, str) else x.name)
def test_each_notebook_has_a_zh_twin_with_the_same_cells_and_code(folder, path):
    en, zh = _twin(folder, path)
    assert [(c.cell_type, c.get("id")) for c in zh.cells] == [(c.cell_type, c.get("id")) for c in en.cells]
    code = [(a.source, b.source) for a, b in zip(en.cells, zh.cells) if a.cell_type == "code"]
    first, *rest = code
    assert first[1] == catalog.SWITCH + first[0], "the first code cell differs only by the language switch"
    assert all(a == b for a, b in rest), "the zh twin's code must be the English code"
    for a, b in zip(en.cells, zh.cells):
        if a.cell_type == "markdown" and b.source != a.source:
            assert catalog.looks_chinese(b.source), f"cell {a.get('id')} is not Chinese: {b.source[:80]!r}"
            lost = set(catalog.numbers_of(a.source)) - set(catalog.numbers_of(b.source))
            assert not lost, f"cell {a.get('id')} lost the English numbers {sorted(lost)}"


@pytest.mark.parametrize("folder,path", TWINS, ids=lambda x: x if isinstance(x, str) else x.name)
def test_a_twins_outputs_are_the_english_ones_with_gantutors_messages_in_chinese(folder, path):
    en, zh = _twin(folder, path)
    for a, b in zip(en.cells, zh.cells):
        if a.cell_type != "code":
            continue
        assert len(a.get("outputs", [])) == len(b.get("outputs", []))
        for x, y in zip(a.get("outputs", []), b.get("outputs", [])):
            if "text" in x:
                assert catalog._join(y["text"]) == i18n.translate_text(catalog._join(x["text"]))
            for mime in ("image/png", "application/vnd.jupyter.widget-view+json", "text/html"):
                assert x.get("data", {}).get(mime) == y.get("data", {}).get(mime)
        for x, y in zip(a.get("outputs", []), b.get("outputs", [])):
            md = catalog._join(x.get("data", {}).get("text/markdown", ""))
            if m := catalog.CORNER_NOTE.search(md):
                ids = [s.strip() for s in m["ids"].split(",")]
                assert md == corner_markdown(ids, "en"), f"{folder}/{path.name}: its Interview corner is older than the bank: store it again"
                assert catalog._join(y["data"]["text/markdown"]) == corner_markdown(ids, "zh")


def test_the_zh_twins_are_built_and_every_cell_is_translated():
    twins, missing = course.zh_plan(ROOT)
    assert len(twins) == len(TWINS)
    assert missing == [], "translate them: python -m gantutor.i18n todo NOTEBOOK --write"
    stale = [p.relative_to(ROOT).as_posix() for p, text in twins.items() if not p.exists() or p.read_text() != text]
    assert stale == [], "run `python -m gantutor.course build`"


@pytest.mark.parametrize("path", sorted(ROOT.glob("i18n/zh/*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_translation_keeps_numbers_code_formulas_links_and_the_glossarys_terms(path):
    nb = nbformat.read(ROOT / path.parent.name / f"{path.stem}.ipynb", 4)
    entries = catalog.load(path)
    problems = [f"cell {i}: {p}" for i, cell in catalog.prose_cells(nb)
                if (e := entries.get(cell.get("id"))) and e["en"] == catalog.source_hash(cell.source)
                for p in catalog.review(cell.source, e["zh"])]
    assert problems == []


def _mini_course(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setattr(registry, "EXERCISES", (Exercise("1.1", "check_a", "a", 1),))
    for folder in ("notebooks", "solutions", "i18n/zh/notebooks", "i18n/zh/solutions"):
        (tmp_path / folder).mkdir(parents=True)
    chapter = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Chapter 1\n\nThe game has 2 players; see [the exercises](../exercises/01_mini.ipynb).", id="cell-0"),
        nbformat.v4.new_code_cell("print('hi')", id="cell-1")])
    solution = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## Exercise 1.1 — a", id="cell-0"),
        nbformat.v4.new_code_cell("def a():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", id="cell-1")])
    nbformat.write(chapter, tmp_path / "notebooks" / "01_mini.ipynb")
    nbformat.write(solution, tmp_path / "solutions" / "01_mini.ipynb")
    for folder, nb, zh in (("notebooks", chapter, "# 第 1 章\n\n这个博弈有 2 个玩家；见[练习](../exercises/01_mini.ipynb)。"),
                           ("solutions", solution, "## 练习 1.1 — a")):
        catalog.save(catalog.catalog_path(tmp_path, folder, "01_mini.ipynb"),
                     {"cell-0": {"en": catalog.source_hash(nb.cells[0].source), "zh": zh}}, nb)
    return tmp_path


def test_check_catches_a_missing_or_stale_translation(tmp_path, monkeypatch):
    root = _mini_course(tmp_path, monkeypatch)
    assert course.check(root) == [f"{p} is missing" for p in ("exercises/01_mini.ipynb", "notebooks/zh/01_mini.ipynb",
                                                               "solutions/zh/01_mini.ipynb", "exercises/zh/01_mini.ipynb")]
    course.build(root, log=lambda *_: None)
    assert course.check(root) == []
    twin = nbformat.read(root / "notebooks" / "zh" / "01_mini.ipynb", 4)
    assert twin.cells[0].source.startswith("# 第 1 章") and "](../../exercises/zh/01_mini.ipynb)" in twin.cells[0].source
    assert twin.cells[1].source == catalog.SWITCH + "print('hi')"
    assert "练习笔记本" in nbformat.read(root / "exercises" / "zh" / "01_mini.ipynb", 4).cells[0].source

    path = root / "notebooks" / "01_mini.ipynb"  # an English edit, not yet translated
    nb = nbformat.read(path, 4)
    nb.cells[0].source = nb.cells[0].source.replace("2 players", "two players")
    nbformat.write(nb, path)
    assert course.check(root) == ["notebooks/zh/01_mini.ipynb is out of date",
                                  "notebooks/01_mini.ipynb: cell 0 (cell-0) has a stale translation: its English changed"]
    assert course.main(["--check", "--root", str(root)]) == 1

    nb.cells.insert(1, nbformat.v4.new_markdown_cell("A new cell.", id="cell-9"))  # a new cell, not translated
    nbformat.write(nb, path)
    assert "notebooks/01_mini.ipynb: cell 1 (cell-9) has no translation" in course.check(root)


def test_check_catches_an_english_edit_of_a_real_chapter_in_a_copy(tmp_path):
    name = "00_start_here.ipynb"
    for folder in ("notebooks", "solutions", "i18n/zh/notebooks"):
        (tmp_path / folder).mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / name, tmp_path / "notebooks" / name)
    shutil.copy(catalog.catalog_path(ROOT, "notebooks", name), catalog.catalog_path(tmp_path, "notebooks", name))
    course.build(tmp_path, log=lambda *_: None)
    assert course.check(tmp_path) == []
    assert (tmp_path / "notebooks" / "zh" / name).read_text() == (ROOT / "notebooks" / "zh" / name).read_text()
    nb = nbformat.read(tmp_path / "notebooks" / name, 4)
    nb.cells[2].source += "\nOne more English sentence."
    nbformat.write(nb, tmp_path / "notebooks" / name)
    assert course.check(tmp_path) == [f"notebooks/zh/{name} is out of date",
                                      f"notebooks/{name}: cell 2 ({nb.cells[2].id}) has a stale translation: its English changed"]


def test_a_moved_cell_keeps_its_translation(tmp_path, monkeypatch):
    root = _mini_course(tmp_path, monkeypatch)
    path = root / "notebooks" / "01_mini.ipynb"
    nb = nbformat.read(path, 4)
    nb.cells[0]["id"] = "cell-5"  # ids follow positions: a cell inserted above renumbers it
    entries = catalog.load(catalog.catalog_path(root, "notebooks", path.name))
    assert catalog.rekey(nb, entries) == 1 and entries["cell-5"]["zh"].startswith("# 第 1 章")


def test_every_message_of_the_checks_widgets_and_command_line_has_chinese():
    missing = [f"gantutor/{module}:{line}: {text}" for module, line, text in scan.untranslated()]
    assert missing == [], "python -m gantutor.i18n messages --write gantutor/i18n/zh/<file>.yaml, then translate"


def test_no_two_message_files_translate_a_message_differently():
    import yaml
    seen, clashes = {}, []
    for path in i18n.catalog_files():
        for en, zh in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if en in seen and seen[en][1] != zh:
                clashes.append(f"{en!r}: {seen[en][0]} says {seen[en][1]!r}, {path.name} says {zh!r}")
            seen.setdefault(en, (path.name, zh))
    assert clashes == []


def _discriminator_loss_flipped(logits_real, logits_fake):
    return -(torch.nn.functional.softplus(-logits_real).mean() + torch.nn.functional.softplus(logits_fake).mean())


def test_a_failing_check_answers_in_chinese(zh):
    with pytest.raises(checks.CheckFailure) as failure:
        checks.check_discriminator_loss(_discriminator_loss_flipped)
    lines = str(failure.value).splitlines()
    assert lines[0] == "练习 1.2：值不对" or lines[0].startswith("练习 1.2：")
    assert any(line.startswith("  提示：") and i18n.CJK.search(line) for line in lines)
    assert all(i18n.CJK.search(line) for line in lines if not line.startswith("  输入"))


def test_a_passing_check_and_the_not_done_message_answer_in_chinese(zh, capsys):
    checks.check_discriminator_loss(lambda r, f: torch.nn.functional.softplus(-r).mean() + torch.nn.functional.softplus(f).mean())
    out = capsys.readouterr().out
    assert out.startswith("✔ 练习 1.2 通过：") and i18n.CJK.search(out.split("：", 1)[1])

    def not_done(*_):
        raise NotImplementedError
    for ex in registry.EXERCISES:
        with pytest.raises(NotImplementedError, match=f"^练习 {re.escape(ex.number)} "):
            getattr(checks, ex.check)(not_done)
        with pytest.raises(TypeError, match=f"^练习 {re.escape(ex.number)}："):
            getattr(checks, ex.check)(42)


def test_english_stays_the_default(monkeypatch, capsys):
    monkeypatch.delenv("GANTUTOR_LANG", raising=False)
    checks.check_discriminator_loss(lambda r, f: torch.nn.functional.softplus(-r).mean() + torch.nn.functional.softplus(f).mean())
    assert capsys.readouterr().out.startswith("✔ Exercise 1.2 passed: ")
    monkeypatch.setenv("GANTUTOR_LANG", "fr")
    with pytest.raises(ValueError, match="GANTUTOR_LANG must be one of en, zh, got 'fr'"):
        i18n.lang()


def _descriptions(widget) -> set[str]:
    out = {getattr(widget, "description", "")}
    for child in getattr(widget, "children", ()):
        out |= _descriptions(child)
    return out - {""}


def test_widget_labels_and_the_command_lines_help_follow_the_language(zh, tmp_path):
    from gantutor.interview.progress import Progress
    from gantutor.interview.widget import quiz_widget
    labels = _descriptions(quiz_widget(Progress(tmp_path / "p.sqlite")))
    assert {"开始", "显示答案", "答对了", "没答对"} <= labels
    out = subprocess.run([sys.executable, "-m", "gantutor.cli", "quiz", "--help"], capture_output=True, text=True,
                         env={**os.environ, "GANTUTOR_LANG": "zh"}, check=True).stdout
    assert "题目数量（默认 10）" in out and "闪卡" in out


def test_one_term_per_concept_in_the_zh_notebooks_and_the_bank():
    found = []
    for folder, path in TWINS:
        zh = nbformat.read(ROOT / folder / "zh" / path.name, 4)
        for i, cell in enumerate(zh.cells):
            if cell.cell_type == "markdown":
                found += [f"{folder}/zh/{path.name} cell {i}: {a} (use {b})" for a, b in i18n.competing_terms(cell.source)]
    for q in load_bank():
        texts = [q.question["zh"], q.answer["zh"], q.explanation["zh"]] + ([q.wrong["zh"], q.wrong["why"]["zh"]] if q.wrong else [])
        found += [f"bank {q.id}: {a} (use {b})" for text in texts for a, b in i18n.competing_terms(text)]
    for path in sorted((ROOT / "gantutor" / "i18n" / "zh").glob("*.yaml")):
        found += [f"{path.name}: {a} (use {b})" for a, b in i18n.competing_terms(path.read_text(encoding="utf-8"))]
    assert found == []


def test_the_glossary_flags_a_competing_term_but_not_a_quoted_one():
    assert i18n.competing_terms("鉴别器输出一个概率") == [("鉴别器", "判别器")]
    assert i18n.competing_terms("转置卷积常被误称为“反卷积”") == []
    assert i18n.competing_terms("价值函数") == []  # 值函数 is avoided, but here it is part of the chosen term


def test_relative_links_of_the_zh_twins_resolve():
    broken = []
    for folder, path in TWINS:
        twin = ROOT / folder / "zh" / path.name
        for cell in nbformat.read(twin, 4).cells:
            if cell.cell_type != "markdown":
                continue
            for target in re.findall(r"\]\(([^)\s]+)\)", cell.source):
                file = target.split("#")[0]
                if file and not re.match(r"[a-z]+:", file) and not (twin.parent / file).exists():
                    broken.append(f"{folder}/zh/{path.name}: {target}")
    assert broken == []


def test_the_chinese_readme_has_the_two_commands_and_the_readme_links_it():
    text = (ROOT / "README.zh.md").read_text(encoding="utf-8")
    assert "make lab" in text and "make test" in text and i18n.CJK.search(text)
    assert "README.zh.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "notebooks/zh" in text


def test_a_pattern_must_keep_its_placeholders():
    with pytest.raises(ValueError, match="placeholders"):
        i18n.Pattern("returned {1}, not {2}", "返回了 {1}")
    with pytest.raises(ValueError, match="no fixed words"):
        i18n.Pattern("{1}", "{1}")
    assert i18n.Pattern("got {1} of {2}", "{2} 中有 {1}").apply("got 3 of 5", 0) == "5 中有 3"
