# The two commands a newcomer needs: `make demo` and `make test`.
# Both install what is missing first (scripts/setup.sh is idempotent).
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo demo-stop test bench reference clean

setup:
	@scripts/setup.sh

demo: setup
	@$(VENV)/bin/jailgen demo

test: setup
	$(VENV)/bin/ruff check generator tests bench scripts
	$(VENV)/bin/ruff format --check generator tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

bench: setup
	$(PY) bench/render.py
	$(PY) bench/switch.py
	$(PY) bench/fanout.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

reference: setup
	$(PY) scripts/render_reference.py

demo-stop: setup
	@$(VENV)/bin/jailgen demo --stop
