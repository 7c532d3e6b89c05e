"""pyproject.toml and environment.yml list the same dependencies."""
import re
from pathlib import Path

try:
    import tomllib  # novermin: the fallback below serves 3.10
except ImportError:  # Python 3.10: the same parser, from PyPI (a dev dependency there)
    import tomli as tomllib

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name → PyPI name


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {CONDA_NAMES.get(_name(d), _name(d)) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    assert conda == wanted, f"only in pyproject: {sorted(wanted - conda)}; only in environment.yml: {sorted(conda - wanted)}"
    pip_part = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_part, "environment.yml must install the package itself"


def test_pinned_versions_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {_name(r): r.strip()[len(_name(r)):] for r in project["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    for d in env["dependencies"]:
        if isinstance(d, str) and CONDA_NAMES.get(_name(d), _name(d)) in pins:
            assert d[len(_name(d)):] == pins[CONDA_NAMES.get(_name(d), _name(d))], d
