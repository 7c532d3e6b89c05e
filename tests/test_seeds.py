"""The source documents' code that chapters run: quoted once, and as wrong as the article."""
import torch
from torch import nn

from gantutor import seeds


def test_the_articles_pruning_zeroes_the_rows_above_the_threshold_the_bug_chapters_7_and_9_show():
    layer = nn.Linear(3, 4)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 0, 0], [0.01, 0, 0], [2.0, 0, 0], [0.02, 0, 0]]))
    seeds.article_pruning(nn.Sequential(layer), threshold=0.1)
    assert torch.allclose(layer.weight.norm(dim=1), torch.tensor([0.0, 0.01, 0.0, 0.02]))  # the largest rows are gone


def test_the_quoted_source_is_the_code_without_its_docstring():
    text = seeds.source(seeds.article_pruning)
    assert text.startswith("def article_pruning(") and "mask = weight_norms > threshold" in text and '"""' not in text
