# Two commands work on a fresh machine: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint install install-dev migrate seed bench clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# A developer's checkout runs in debug mode: .env (git-ignored, read by the settings) says so once,
# so that plain `manage.py` commands work there too. Deployments set their own environment instead.
.env:
	printf '# Local development only (git-ignored). Production sets DEBUG=0 and SECRET_KEY in its environment.\nDEBUG=1\n' > .env

install: $(VENV)/.runtime .env
install-dev: $(VENV)/.dev

# The receptionist with the demo practice: SQLite, the ORM task broker, the console messaging backend.
run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 PUBLIC_BASE_URL=http://$(HOST):$(PORT) $(PY) manage.py seed_demo
	DEBUG=1 HOST=$(HOST) PORT=$(PORT) PY=$(PY) scripts/dev-server

# The tests: SQLite unless DATABASE_URL is set (CI sets PostgreSQL).
test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles test-output
