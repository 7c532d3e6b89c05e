"""Notebooks stored as a reader sees them without a kernel (GitHub, nbviewer, the course site).

``store`` runs a notebook top to bottom and writes it back with its outputs, the widgets' state,
and a text form of each widget that shows its final state (a progress bar at 100 %, not the 0 %
it was displayed with) or says that it needs a running kernel; ``stored_problems`` lists what a
reader would see wrong. ``python -m gantutor.course store PATH [--no-execute]`` runs it.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
NEEDS_KERNEL = "Interactive widget: run the notebook (make lab) to use it."
FROZEN_BAR = re.compile(r"(?<!\d)0%\|")


def widget_state(nb) -> dict:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _progress_text(model_id: str, state: dict) -> str | None:
    """The final text of a tqdm bar (an HBox of HTML, FloatProgress, HTML), or None for another widget."""
    children = state.get(model_id, {}).get("state", {}).get("children", [])
    models = [state.get(c.removeprefix("IPY_MODEL_"), {}) for c in children]
    if [m.get("model_name") for m in models] != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    left, bar, right = (m["state"] for m in models)
    filled = round(10 * bar.get("value", 0) / bar["max"]) if bar.get("max") else 0
    text = f"{left.get('value', '')}|{'█' * filled}{' ' * (10 - filled)}|{right.get('value', '')}"
    return html.unescape(text).replace("\u2007", " ")


def tidy_outputs(nb):
    """Give every widget output a text form that a reader without a kernel can trust: a progress bar
    shows its final state, any other widget says that it needs a kernel. Changes ``nb`` in place."""
    state = widget_state(nb)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view:
                out["data"]["text/plain"] = _progress_text(view["model_id"], state) or NEEDS_KERNEL
    return nb


def stored_problems(nb) -> list[str]:
    """What a reader of the stored notebook would see wrong: a bar frozen at 0 %, a figure stored twice,
    a widget whose state was not saved (it renders as an error), a traceback outside raises-exception cells."""
    state, problems = widget_state(nb), []
    for i, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        pngs = [o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})]
        if len(pngs) > len(set(pngs)):
            problems.append(f"cell {i}: the same figure is stored twice (end the plotting line with ';')")
        for out in outputs:
            data = out.get("data", {})
            text = "".join(data.get("text/plain", "")) + "".join(out.get("text", ""))
            if FROZEN_BAR.search(text):
                problems.append(f"cell {i}: a progress bar stored at 0 %")
            if WIDGET_VIEW in data and data[WIDGET_VIEW]["model_id"] not in state:
                problems.append(f"cell {i}: a widget whose state was not stored")
            if out.get("output_type") == "error" and "raises-exception" not in cell.metadata.get("tags", []):
                problems.append(f"cell {i}: a stored error ({out.get('ename')})")
    return problems


def store(path: Path, execute: bool = True, timeout: int = 600) -> list[str]:
    """Run notebook ``path`` top to bottom (unless ``execute`` is False), tidy its widget outputs and
    write it back; returns ``stored_problems`` of the result (the file is written either way)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path must be a notebook file, got {str(path)!r} (no such file)")
    nb = nbformat.read(path, as_version=4)
    if execute:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    path.write_text(nbformat.writes(tidy_outputs(nb)) + "\n")
    return stored_problems(nb)
