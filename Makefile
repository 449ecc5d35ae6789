# Two commands on a fresh machine: `make demo`, then `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: install demo test bench clean

# (Re)install when pyproject.toml changes; the stamp keeps repeated `make test` fast.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/augcli run examples/image.yaml --overwrite
	$(VENV)/bin/augcli run examples/audio.yaml --overwrite
	$(VENV)/bin/augcli run examples/text.yaml --overwrite
	$(VENV)/bin/augcli run examples/tabular.yaml --overwrite
	@echo
	@echo "Look at out/images/ and out/audio/ (train/<class>/*__aug<k>.*, val/<class>/), out/text/train.csv,"
	@echo "out/tabular/wine_balanced.csv (+ .summary.json), and each manifest.csv"

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(PY) benchmarks/bench_image.py
	$(PY) benchmarks/bench_audio.py
	$(PY) benchmarks/bench_text.py
	$(PY) benchmarks/bench_tabular.py

clean:
	rm -rf out .pytest_cache build *.egg-info
