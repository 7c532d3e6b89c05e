"""Every number that prose quotes is the measured one: tagged figures recomputed from the committed
results, every other figure found in a cell's stored output or cited from the literature.

A figure is a decimal (0.0455, 4.07); in the question bank also a whole-number ratio or share (11×,
84 %, 200 倍). Whole numbers elsewhere (chapter prose, counts such as "3,000 steps") are not yet checked."""
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from gantutor.quoted import ANY_TAG, check_tags, load_results, strip_tags

ROOT = Path(__file__).resolve().parents[1]
RESULTS = load_results(ROOT)
NUMBER = re.compile(r"(?<![\w.,])\d[\d,]*\.\d+(?![\d])")
# In the bank, a whole number that is a ratio or a share (11×, 84 %, 200 倍) is a figure too.
WHOLE_FIGURE = re.compile(r"(?<![\w.,])\d+(?:,\d{3})*(?![\d.,]\d)(?=\s?(?:%|×|倍))")
REFERENCE = re.compile(r"(^#+ |\n#+ |§|[Ss]ections? |[Cc]hapters? |[Ee]xercises? |[Dd]rills? |arXiv:? ?|第 ?|练习 ?|§ ?\d+(?:\.\d+)?\s?[–-]\s?)$")  # 4.1 (or §4.4–4.5) as a section, not a figure
# Figures that come from papers or from arithmetic on the page, not from a run of the course: entry -> {number: source}
LITERATURE = {
    'patchgan-receptive-field': {'256': 'Isola et al. 2017 (pix2pix), Section 4.4: its 256 × 256 images'},
    'what-to-prune': {'84': "arithmetic on chapter 7 §1's printed sizes: the first transposed convolution's 32,768 weights, each used at 49 positions, do 1,605,632 of the 1,906,688 MACs (84 %); the Linear's 200,704 weights are 84 % of 240,321"},
    'global-vs-layerwise': {'84': "arithmetic on chapter 7 §1's printed sizes: the first transposed convolution's 32,768 weights, each used at 49 positions, do 1,605,632 of the 1,906,688 MACs (84 %); the Linear's 200,704 weights are 84 % of 240,321"},
    'model-optimisation-and-gans': {'84': "arithmetic on chapter 7 §1's printed sizes: the first transposed convolution's 32,768 weights, each used at 49 positions, do 1,605,632 of the 1,906,688 MACs (84 %); the Linear's 200,704 weights are 84 % of 240,321", '11': "arithmetic on chapter 7 §1's printed sizes: the Linear does 200,704 of 1,906,688 MACs (11 %)", '14': "arithmetic on chapter 7 §1's printed sizes: 32,768 of 240,321 weights (14 %)"},
    'gan-pruning-benefits': {'21': 'Li et al. 2020 (GAN Compression, CVPR), abstract: MACs cut 9–21× for pix2pix, CycleGAN and GauGAN'},
    'lottery-ticket': {'74': 'Chen et al. 2021 ("GANs Can Play Lottery Tickets Too", ICLR): winning tickets at 67–74 % sparsity'},
    'deep-compression': {'35': 'Han et al. 2016 (Deep Compression, ICLR), Table 1: AlexNet 35× smaller', '49': 'Han et al. 2016, Table 1: VGG-16 49× smaller'},
    'ring-of-gaussians': {'200': "arithmetic: PacGAN's 400,000 steps (its code, chapter 3 §4.1's table) over the course's 2,000"},
    'pacgan-packing': {'200': "arithmetic: PacGAN's 400,000 steps (its code, chapter 3 §4.1's table) over the course's 2,000"},
    'reading-mode-collapse-tables': {'200': "arithmetic: PacGAN's 400,000 steps (its code, chapter 3 §4.1's table) over the course's 2,000"},
    'fid-sample-size': {'2,048': "Inception-v3 pool3 features, 2,048 dimensions: the features of the FID of Heusel et al. 2017 (Section 'Fréchet Inception Distance')"},
    'patchgan-small-images': {'256': 'Isola et al. 2017 (pix2pix), Section 4.4 and Table 3: patch sizes compared on 256×256 Cityscapes labels→photo', '286': 'Isola et al. 2017, Section 4.4: the 286×286 ImageGAN, larger than the 256×256 images'},
    'student-width-choice': {'10': "the course's bar for chapter 10 (issue 22): at least 10× fewer MACs, L1 within +10 %", '256': 'Li et al. 2020 (GAN Compression), Section 4: 256 × 256 images', '56.8': 'Li et al. 2020 (GAN Compression, CVPR), Table 1: pix2pix edges→shoes teacher, 56.8 G MACs', '11.8': 'Li et al. 2020 (GAN Compression, CVPR), Table 1: 56.8 / 4.81 = 11.8× fewer MACs for pix2pix edges→shoes'},
    "gan-loss-js-divergence": {"1.386": "log 4 = 1.386, V(D*, G) at p_g = p_data (arithmetic; chapter 1 §4 prints −1.386294)"},
    "gan-convergence-guarantee": {
        "1.005": "√(1 + η²) = 1.004988 at η = 0.1, the growth per step of simultaneous GDA on x·y (arithmetic; chapter 2 §1)",
        "0.1": "η, the step size set in chapter 2 §1",
    },
    "why-hard-to-converge": {"0.1": "η, the step size set in chapter 2 §1"},
    "gda-bilinear-game": {"0.01": "η² at η = 0.1, the step size set in chapter 2 §1 (arithmetic)"},
    "why-not-sgd": {"0.05": "a learning rate set in benchmarks/optimizers.py (OPTIMIZERS)"},
    "wgan-gp": {"0.9": "Adam β = (0, 0.9) of Gulrajani et al. 2017, also set for wgan_gp in benchmarks/image_gans.py"},
    "d-half-at-equilibrium": {"0.5": "D(G(z)) = 1/2, the optimal D's output at p_g = p_data: the claim the question tests"},
    "gan-training-process": {"0.5": "Adam β1 = 0.5, the course's setting (gantutor/train.py adam; Radford et al. 2016)"},
    "dcgan-changes": {"0.5": "Adam β1 = 0.5 of Radford et al. 2016",
                      "0.2": "LeakyReLU slope 0.2 of Radford et al. 2016, also the course's D (gantutor/models/dcgan.py)"},
    "coding-mnist-gan": {"0.5": "Adam β1 = 0.5 of Radford et al. 2016"},
    "training-tips": {"0.5": "Adam β1 = 0.5, the recipe's setting (gantutor/train.py DCGAN_RECIPE)"},
    "improve-quality": {"0.5": "Adam β1 = 0.5, the recipe's setting (gantutor/train.py DCGAN_RECIPE)"},
    "cyclegan-loss-terms": {"0.5": "identity weight 0.5·λ_cyc of Zhu et al. 2017 (gantutor/translation.py: lambda_id 5, lambda_cyc 10)"},
    "identity-loss": {"0.5": "identity weight 0.5·λ_cyc of Zhu et al. 2017 (gantutor/translation.py: lambda_id 5, lambda_cyc 10)"},
    "mode-collapse-detect": {"2.3": "log 10 = 2.303, the KL to uniform of a single class out of 10 (arithmetic)"},
    "improve-diversity": {"0.5": "Adam β1 = 0.5, the recipe's setting (gantutor/train.py; Radford et al. 2016)"},
    "remedies-solve-collapse": {"7.8": "Lin et al. 2018 (PacGAN), Table 1: PacGAN4 on the ring, 7.8 modes",
                                "95.9": "Lin et al. 2018 (PacGAN), Table 1: PacGAN4 on the ring, 95.9 % high quality"},
    "cubic-schedule": {"0.7": "0.8 × (1 − (1 − ½)³) = 0.7, the cubic schedule at its midpoint (arithmetic; chapter 7 §5 prints 0.7000)"},
}


def test_a_tag_recomputes_its_figure_at_the_quoted_precision():
    text = "FID 365.9<!--=pruning_gan.ticket.fid--> (+10.3 %<!--=pruning_gan.ticket.fid / pruning_gan.dense.fid - 1-->)"
    fid, dense = RESULTS["pruning_gan"].ticket.fid, RESULTS["pruning_gan"].dense.fid
    if f"{fid:.1f}" == "365.9" and f"{fid / dense - 1:+.1%}" == "+10.3%":
        assert check_tags(text, RESULTS) == []
    assert check_tags("411.5<!--=pruning_gan.ticket.fid-->", RESULTS) == [f"quotes 411.5 but pruning_gan.ticket.fid is now {fid:.1f}"]
    assert check_tags("−0.50<!--=-0.5--> 1,000<!--=1000--> +2 %<!--=0.02--> 2.01×<!--=2.0149-->", RESULTS) == []
    assert check_tags("0.50<!--=-0.5-->", RESULTS) == ["quotes 0.50 but -0.5 is now −0.50"]
    assert "cannot compute" in check_tags("1.0<!--=pruning.no_such_row.fid-->", RESULTS)[0]
    assert check_tags("here<!--=pruning.dense.fid-->", RESULTS) == ["<!--=pruning.dense.fid--> follows no number"]
    assert strip_tags("FID 365.9<!--=pruning_gan.ticket.fid-->.") == "FID 365.9."
    assert untied_figures("11× fewer MACs, 84 % of the work, 少 200 倍, 3,000 steps", ["3,000"], {}, whole=True) == ["11", "84", "200"]
    assert untied_figures("11× fewer MACs", [""], {}) == []  # chapter prose: decimals only, for now
    assert untied_figures("11×<!--=pruning.dense.macs / pruning.structured.macs--> fewer", [""], {}, whole=True) == []


def _outputs_text(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", "")) +
                     "".join(o.get("data", {}).get("text/markdown", "")) + "".join(o.get("data", {}).get("text/html", ""))
                     for c in nb.cells if c.cell_type == "code" and "corner(" not in c.source  # a corner prints the bank
                     for o in c.get("outputs", []))


OUTPUTS = {p.relative_to(ROOT).as_posix(): _outputs_text(p) for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
           if not p.name.startswith("08_")}  # chapter 8 prints the bank itself: no source for it


def untied_figures(text: str, sources: list[str], allowed: dict, whole: bool = False) -> list[str]:
    """The numbers of ``text`` that carry no tag, are in none of the ``sources`` and not ``allowed``
    (decimals; with ``whole``, also whole-number ratios and shares)."""
    plain = ANY_TAG.sub(" TAGGED", text)
    missing = []
    found = sorted([*NUMBER.finditer(plain), *(WHOLE_FIGURE.finditer(plain) if whole else [])], key=lambda m: m.start())
    for m in found:
        number = m.group()
        if plain.startswith(" TAGGED", m.end()) or plain[m.end():].lstrip().startswith(("%", "×")) and \
                plain[m.end():].lstrip()[1:].startswith(" TAGGED"):
            continue
        if REFERENCE.search(plain[:m.start()]) or number in allowed:
            continue
        pattern = re.compile(r"(?<![\d.])" + re.escape(number) + r"(?![\d])")
        if not any(pattern.search(s) for s in sources):
            missing.append(number)
    return missing


def figure_problems(text: str, sources: list[str], allowed: dict, where: str, listed_in: str,
                    whole: bool = False) -> list[str]:
    """Each tag of ``text`` that no longer recomputes, and its figures tied to nothing, as messages."""
    problems = check_tags(text, RESULTS)
    untied = untied_figures(text, sources, allowed, whole)
    if untied:
        problems.append(f"{', '.join(untied)} appear in no stored output of {where}, carry no <!--=result--> tag "
                        f"and are not cited in {listed_in}")
    return problems


def _bank_texts(entry: dict):
    for field in ("question", "answer", "explanation"):
        for lang in ("en", "zh"):
            yield f"{field}.{lang}", entry[field][lang]
    if entry.get("wrong"):
        for lang in ("en", "zh"):
            yield f"wrong.{lang}", entry["wrong"][lang]
            yield f"wrong.why.{lang}", entry["wrong"]["why"][lang]
    if entry.get("follow_up"):
        for field in ("question", "answer"):
            for lang in ("en", "zh"):
                yield f"follow_up.{field}.{lang}", entry["follow_up"][field][lang]


BANK = yaml.safe_load((ROOT / "gantutor" / "interview" / "bank.yaml").read_text())
CITED_CHAPTER = re.compile(r"(?:[Cc]hapter |第 ?)(\d)\b")


def _sources(entry: dict) -> list[str]:
    """The entry's notebook(s), and every chapter its English or Chinese text cites ("chapter 4", "第 4 章")."""
    notebooks = [entry["notebook"]] + ([entry["wrong"]["notebook"]] if entry.get("wrong") else [])
    cited = {int(n) for _, text in _bank_texts(entry) for n in CITED_CHAPTER.findall(text)}
    notebooks += [nb for nb in OUTPUTS if int(nb.split("/")[1][:2]) in cited]
    return list(dict.fromkeys(notebooks))


@pytest.mark.parametrize("entry", BANK, ids=lambda e: e["id"])
def test_every_figure_in_the_bank_is_tied_to_a_result(entry):
    notebooks = _sources(entry)
    sources = [OUTPUTS.get(nb, "") for nb in notebooks]
    problems = [f"{field}: {p}" for field, text in _bank_texts(entry)
                for p in figure_problems(text, sources, LITERATURE.get(entry["id"], {}), " or ".join(notebooks), "LITERATURE",
                                         whole=True)]
    assert not problems, f"bank entry {entry['id']!r}:\n" + "\n".join(problems)


# Figures in a chapter's markdown that are settings, arithmetic or quotations, not results: notebook -> {number: source}
PROSE_LITERATURE = {
    "01_minimax": {"1.5": "the mean of the example p_g = N(1.5, 0.7²), a setting", "0.7": "its standard deviation, a setting",
                   "0.5": "D = 1/2, the optimal D at p_g = p_data; Adam β1 = 0.5", "1.39": "log 4 = 1.386 (arithmetic)"},
    "02_training_dynamics": {"0.1": "η, the step size set in §1", "1.005": "√(1 + η²) at η = 0.1 (arithmetic)",
                             "1.0": "lr=1.0, the multiplier of the decay (code)", "0.05": "a learning rate set in benchmarks/optimizers.py"},
    "03_mode_collapse": {"0.03": "3 × 0.01, the ring's 3-std radius in the PacGAN protocol (a setting)",
                         "0.99": "quantile=0.99, an argument of the rejection sampler (code)"},
    "04_dcgan": {"2.3": "log 10 = 2.303, the KL of one class out of 10 (arithmetic)", "0.5": "Adam β1 = 0.5 (Radford et al. 2016)"},
    "05_losses_and_conditioning": {"0.9": "Adam β = (0, 0.9) of Gulrajani et al. 2017"},
    "06_pix2pix_vs_cyclegan": {"0.5": "λ_id = 0.5·λ_cyc of Zhu et al. 2017"},
    "10_compressing_the_translator": {"56.8": "Li et al. 2020 (GAN Compression), Table 1: pix2pix edges→shoes, 56.8 G MACs",
                                      "4.81": "Li et al. 2020, Table 1: GAN Compression's pix2pix, 4.81 G MACs",
                                      "11.8": "Li et al. 2020, Table 1: 56.8 / 4.81 = 11.8× fewer MACs"},
    "09_myths_and_errata": {"0.4": "D(G(z)) ≈ 0.4 read off chapter 1's ring after 300 steps (the setting of the demonstration)",
                            "1.5": "μ = 1.5, the generator's mean in the stale-D demonstration (a setting)",
                            "0.2": "the learning rate of chapter 2's plain SGD (benchmarks/optimizers.py)",
                            "255.0": "the source document's code, quoted"},
}
CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_in_a_chapters_prose_is_tied_to_a_result(path):
    nb = nbformat.read(path, as_version=4)
    sources = [OUTPUTS.get(path.relative_to(ROOT).as_posix(), "")]
    problems = [f"cell {i}: {p}" for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
                for p in figure_problems(cell.source, sources, PROSE_LITERATURE.get(path.stem, {}), "the chapter",
                                         "PROSE_LITERATURE")]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


README_LITERATURE = {
    "3.10": "the Python floor that pyproject.toml declares",
    "83.3": "benchmarks/minimax_ring.py's printed mean over 5 seeds (it writes no committed JSON; chapter 1 quotes 83 ± 4 %)",
    "4.0": "benchmarks/minimax_ring.py's printed spread over 5 seeds (no committed JSON)",
    "98.4": "benchmarks/train_classifier.py's printed test accuracy of the shipped classifier (no committed JSON)",
}


def test_every_figure_in_the_readme_is_tied_to_a_result():
    text = (ROOT / "README.md").read_text()
    problems = figure_problems(text, list(OUTPUTS.values()), README_LITERATURE, "any chapter", "README_LITERATURE")
    assert not problems, "README.md:\n" + "\n".join(problems)
