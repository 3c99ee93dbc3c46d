# Two commands do all the set-up on a fresh machine: `make test` and `make serve`.
# The browser side takes a Pyodide mirror folder from WEBDL_PYODIDE_MIRROR (optional).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
SOAK_MINUTES ?= 30

.PHONY: test serve setup venv clean gpu-pack soak

venv: $(STAMP)

# webdl itself editable; tools/ (python -m webdl_tools) on the venv's path by a .pth file
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	echo '$(CURDIR)/tools' > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/webdl_tools.pth"
	touch $(STAMP)

# Pyodide (verified), the webdl wheel, npm packages, Chromium: idempotent
setup: venv
	$(PY) tools/setup_web.py

test: setup
	$(PY) -m pytest -q tests

serve: setup
	$(PY) -m webdl_tools serve --host $(HOST) --port $(PORT)

# a long training session in the notebook page (not part of `make test`): memory stays flat,
# speed steady; prints a line a minute, writes test-output/soak.csv and soak.json
soak: setup
	$(PY) -m webdl_tools soak --minutes $(SOAK_MINUTES)

# the bench for a GPU host without network (tools/gpukit/README.md): pieces under .gpu/
gpu-pack: setup
	bash tools/gpukit/pack.sh .

clean:
	rm -rf $(VENV) build dist src/*.egg-info web/vendor node_modules .cache
