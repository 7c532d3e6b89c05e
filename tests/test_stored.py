"""Stored notebooks show what a finished run showed: bars at their end, widgets that say they need a kernel."""
from pathlib import Path

import nbformat
import pytest

from gantutor import stored

ROOT = Path(__file__).resolve().parents[1]


def _widget_notebook(bar_value: float):
    """A notebook with one stored tqdm bar (its widget state as nbclient saves it) and one slider."""
    html_left, bar, html_right, hbox, slider = "m-left", "m-bar", "m-right", "m-hbox", "m-slider"
    state = {
        html_left: {"model_name": "HTMLModel", "state": {"value": "training:\u2007100%"}},
        bar: {"model_name": "FloatProgressModel", "state": {"value": bar_value, "max": 750.0}},
        html_right: {"model_name": "HTMLModel", "state": {"value": "\u2007750/750\u2007[00:28&lt;00:00]"}},
        hbox: {"model_name": "HBoxModel", "state": {"children": [f"IPY_MODEL_{m}" for m in (html_left, bar, html_right)]}},
        slider: {"model_name": "FloatSliderModel", "state": {"value": 0.5}},
    }
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {stored.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    view = lambda model_id, text: nbformat.v4.new_output(  # noqa: E731
        "display_data", data={stored.WIDGET_VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0},
                              "text/plain": text})
    nb.cells = [nbformat.v4.new_code_cell("train()", outputs=[view(hbox, "training:   0%|          | 0/750 [00:00<?, ?it/s]")]),
                nbformat.v4.new_code_cell("slider()", outputs=[view(slider, "FloatSlider(value=0.0)")])]
    return nb

def test_a_stored_progress_bar_shows_its_final_state_and_a_widget_says_it_needs_a_kernel():
    nb = _widget_notebook(750.0)
    assert stored.stored_problems(nb) == ["cell 0: a progress bar stored at 0 %"]
    stored.tidy_outputs(nb)
    assert nb.cells[0].outputs[0].data["text/plain"] == "training: 100%|██████████| 750/750 [00:28<00:00]"
    assert nb.cells[1].outputs[0].data["text/plain"] == stored.NEEDS_KERNEL
    assert stored.stored_problems(nb) == []
    half = stored.tidy_outputs(_widget_notebook(375.0))
    assert "|█████     |" in half.cells[0].outputs[0].data["text/plain"]

def test_stored_problems_name_a_doubled_figure_a_lost_widget_and_a_traceback():
    nb = _widget_notebook(750.0)
    png = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})
    nb.cells[0].outputs = [png, png]
    nb.metadata["widgets"][stored.WIDGET_STATE]["state"].pop("m-slider")
    nb.cells.append(nbformat.v4.new_code_cell("1/0", outputs=[nbformat.v4.new_output("error", ename="ZeroDivisionError",
                                                                                     evalue="", traceback=[])]))
    assert stored.stored_problems(nb) == ["cell 0: the same figure is stored twice (end the plotting line with ';')",
                                          "cell 1: a widget whose state was not stored", "cell 2: a stored error (ZeroDivisionError)"]

@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stored_notebooks_show_what_a_finished_run_showed(path):
    nb = nbformat.read(path, as_version=4)
    assert stored.stored_problems(nb) == [], f"{path.name}: store it again with `python -m gantutor.course store {path.parent.name}/{path.name}`"
    tidy = stored.tidy_outputs(nbformat.read(path, as_version=4))
    assert tidy == nb, f"{path.name}: a widget's stored text is not its final state; run `python -m gantutor.course store --no-execute {path.parent.name}/{path.name}`"

def test_store_refuses_a_missing_notebook(tmp_path):
    with pytest.raises(ValueError, match="path must be a notebook file"):
        stored.store(tmp_path / "nope.ipynb")
