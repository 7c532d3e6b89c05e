"""Run notebooks top to bottom (nbclient) and print the seconds each takes.

    python benchmarks/notebook_times.py                 # every chapter in notebooks/
    python benchmarks/notebook_times.py --all           # and solutions/ and exercises/
    python benchmarks/notebook_times.py notebooks/01_minimax.ipynb --json

The budget is 60 s per notebook on 2 CPU cores. Nothing is written back to the notebooks; with
--out DIR the executed copies and times.json are saved there. Exit status 1 when a notebook fails
(cells tagged raises-exception may raise) or, with --strict, when one is over budget.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from _common import emit, parser

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 60.0


def run(path: Path) -> tuple[float, str, nbformat.NotebookNode]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()  # on an in-memory copy: the notebook file is not written
    seconds = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" and "raises-exception" not in c.metadata.get("tags", [])
              for o in c.get("outputs", []) if o.output_type == "error"]
    return seconds, (f"{errors[0].ename}: {errors[0].evalue}" if errors else ""), nb


def _resolve(path: Path, p) -> Path:
    """A notebook path as given, or relative to the repository; a clear error if neither exists."""
    for candidate in (path, ROOT / path):
        if candidate.is_file() and candidate.suffix == ".ipynb":
            return candidate.resolve()
    p.error(f"no notebook at {path} (looked in the current folder and in {ROOT})")


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("paths", nargs="*", type=Path, help="notebooks to run (default: notebooks/*.ipynb)")
    p.add_argument("--all", action="store_true", help="also run solutions/ and exercises/")
    p.add_argument("--strict", action="store_true", help=f"exit 1 when a notebook takes over {BUDGET_S:.0f} s")
    args = p.parse_args(argv)
    folders = ["notebooks", "solutions", "exercises"] if args.all else ["notebooks"]
    paths = [_resolve(q, p) for q in args.paths] or [q for f in folders for q in sorted((ROOT / f).glob("*.ipynb"))]
    result, rows = {}, []
    for path in paths:
        seconds, error, nb = run(path)
        name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        result[name] = {"seconds": round(seconds, 2), "within_budget": seconds <= BUDGET_S, "error": error}
        rows.append([name, f"{seconds:.1f}", "ok" if seconds <= BUDGET_S else "OVER", error or "-"])
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, args.out / path.name)
        print(f"ran {name} in {seconds:.1f} s", file=sys.stderr)
    if args.out:
        (args.out / "times.json").write_text(json.dumps(result, indent=2))
    emit(result, ["notebook", "seconds", f"budget {BUDGET_S:.0f} s", "error"], rows, args.json)
    failed = any(r["error"] for r in result.values())
    over = any(not r["within_budget"] for r in result.values())
    return 1 if failed or (args.strict and over) else 0


if __name__ == "__main__":
    sys.exit(main())
