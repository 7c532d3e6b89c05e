# The two commands of the course: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The install is stamped with a hash of pyproject.toml: a second run does not reinstall.
STAMP  := $(VENV)/.installed-$(shell $(PYTHON) -c "import hashlib;print(hashlib.sha256(open('pyproject.toml','rb').read()).hexdigest()[:12])")
PORT   ?= 8888
# Where pip finds packages (TEACHING.md, "Setting up a lab"):
#   make lab TORCH_INDEX=https://download.pytorch.org/whl/cpu   PyTorch's CPU-only wheels (Linux pip otherwise brings the
#                                                               CUDA build, ~6 GB), installed before the rest
#   make lab WHEELHOUSE=/path/to/wheelhouse                     offline: only the wheels of `make wheelhouse`
TORCH_INDEX ?=
WHEELHOUSE  ?=
PIP_FROM    := $(if $(WHEELHOUSE),--no-index --find-links $(WHEELHOUSE))
# JupyterLab refuses to run as root unless told; a container or Binder often runs as root.
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: lab test install clean-venv exercises benchmark wheelhouse book anki

exercises: $(STAMP)
	$(PY) -m gantutor.course build

benchmark: $(STAMP)
	$(PY) benchmarks/notebook_times.py

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(if $(WHEELHOUSE),,$(PY) -m pip install --upgrade --quiet pip)
	$(if $(TORCH_INDEX),$(PY) -m pip install --quiet torch torchvision --index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet $(PIP_FROM) -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

# Rooted at the repository so that exercises/ and solutions/ are reachable; opens on the first chapter.
# The course runs offline: lab-settings/overrides.json turns off JupyterLab's news prompt and update check.
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb \
		--LabApp.app_settings_dir=$(CURDIR)/lab-settings --LabApp.news_url=None \
		--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
		--port=$(PORT) $(ROOT_FLAG) $(LAB_ARGS)

# The oldest Python that pyproject.toml declares (requires-python); vermin fails on newer-only syntax or modules.
PY_FLOOR := $(shell sed -n 's/^requires-python = ">=\([0-9.]*\)"/\1/p' pyproject.toml)

# One pytest run: unit and checker tests, then nbval over every notebook and solution. The exercise
# notebooks are run by tests/test_course.py, which checks more than nbval could: every check cell
# raises "not done yet" (NotImplementedError) and every other cell runs clean.
# First, cheaply: nothing in the package, tests or benchmarks needs a Python newer than the floor.
# The teacher's tools (nbgrader), the website's (Sphinx, MyST-NB) and genanki, which make test checks against, in the same venv.
TEACH_STAMP := $(VENV)/.teach-$(shell $(PYTHON) -c "import hashlib;print(hashlib.sha256(open('pyproject.toml','rb').read()).hexdigest()[:12])")

$(TEACH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet $(PIP_FROM) -e ".[dev,teach,book,anki]"
	@rm -f $(VENV)/.teach-*
	@touch $@

test: $(STAMP) $(TEACH_STAMP)
	$(VENV)/bin/vermin --quiet --no-tips --violations --target=$(PY_FLOOR)- gantutor tests benchmarks conftest.py
	MPLBACKEND=agg $(PY) -m pytest tests notebooks solutions --nbval-lax --nbval-current-env --nbval-cell-timeout=300 -p no:cacheprovider $(PYTEST_ARGS)

# The course as a website, both languages, from the stored notebooks: build/site/index.html (no execution).
book: $(TEACH_STAMP)
	$(PY) -m gantutor.book

# The question bank as an Anki deck, English and Chinese on each card: build/gantutor.apkg (import it in
# Anki; a newer one updates the cards). gantutor anki --help for one language or some topics.
anki: $(TEACH_STAMP)
	$(PY) -m gantutor.cli anki -o build/gantutor.apkg

# Every wheel the course needs (with the teacher's tools), for lab machines without internet: copy the
# folder over, then `make lab WHEELHOUSE=wheelhouse` there. Add TORCH_INDEX=... for CPU-only PyTorch.
wheelhouse: $(STAMP)
	$(if $(TORCH_INDEX),$(PY) -m pip download --quiet -d wheelhouse torch torchvision --index-url $(TORCH_INDEX))
	$(PY) -m pip download --quiet -d wheelhouse pip setuptools wheel ".[dev,teach,book,anki]"

clean-venv:
	rm -rf $(VENV)
