# Two commands on a fresh machine: `make demo`, then `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: install demo test bench clean

# (Re)install when pyproject.toml changes; the stamp keeps repeated `make test` fast. The dask and s3
# extras too, so that tests/test_dask.py and tests/test_s3.py run (a user's `pip install augcli` has it only on request).
# Editable in "compat" mode: a plain path entry, not setuptools' import-hook finder, which
# costs ~20 ms at every start of `augcli` (a user's regular install has neither).
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check --config-settings editable_mode=compat -e
$(VENV)/.installed: pyproject.toml setup.py augcli/_planes.c
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) '.[test,dask,s3]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/augcli run examples/image.yaml --overwrite
	$(VENV)/bin/augcli run examples/audio.yaml --overwrite
	$(VENV)/bin/augcli run examples/text.yaml --overwrite
	$(VENV)/bin/augcli run examples/tabular.yaml --overwrite
	$(VENV)/bin/augcli run examples/detection.yaml --overwrite
	@echo
	@echo "Look at out/images/ and out/audio/ (train/<class>/*__aug<k>.*, val/<class>/), out/text/train.csv,"
	@echo "out/tabular/wine_balanced.csv (+ .summary.json), out/detection/ (images/ + labels/, YOLO), and each manifest.csv"

test: install
	$(PY) -m pytest -q

bench: install
	$(PIP_INSTALL) '.[bench]'
	$(PY) benchmarks/bench_image.py
	$(PY) benchmarks/bench_audio.py
	$(PY) benchmarks/bench_text.py
	$(PY) benchmarks/bench_tabular.py
	$(PY) benchmarks/bench_detection.py

clean:
	rm -rf out .pytest_cache build *.egg-info
