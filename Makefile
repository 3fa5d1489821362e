# Two entry points (see README): `make site` builds the website, `make test` runs the whole suite.
# Each installs what it needs into .venv first, so both work on a fresh machine. `make check` is
# the daily loop (lint and unit tests: no site build, no browser, no nbgrader runs).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install site test check lint browser postgres freeze clean

# The development set includes the instructors' and the students' (see the requirements files).
$(STAMP): requirements.txt requirements-grader.txt requirements-dev.txt constraints.txt \
          pyproject.toml grader/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt 2>&1 | grep -v "is ignored" ; test $${PIPESTATUS[0]} -eq 0
	touch $@

install: $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The HTML is written afresh each time (executed notebooks stay cached in _build): a page that
# left the table of contents must not stay on the published site.
site: install node_modules/.package-lock.json
	$(PY) tools/prepare_site.py
	rm -rf _build/html
	jupyter-book build . -W -n --keep-going

lint: install
	ruff check .

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# The gradebook tests start a throwaway PostgreSQL server of their own (tests/grader/pgserver.py)
# from Debian's server package, installed when missing. Its programs live in
# /usr/lib/postgresql/<version>/bin; a cluster the package itself starts is stopped again.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null && \
	  (pg_lsclusters -h 2>/dev/null | while read -r version name rest; do \
	     pg_ctlcluster "$$version" "$$name" stop 2>/dev/null || true; done))

test: site lint browser postgres
	pytest -n 2 --dist loadfile tests
	pytest -n 2 --dist loadfile --nbval-lax book

check: lint
	pytest -n 2 --dist loadfile -m "not slow and not browser" tests/lossutils

freeze: install
	$(PY) -m pip freeze --exclude-editable | grep -v -E "^(pip|setuptools|wheel)==" > /tmp/frozen.txt
	@echo "review /tmp/frozen.txt, then merge it into constraints.txt"

clean:
	rm -rf _build

# The public course repository (students and readers): `make student-repo DEST=<folder>` writes it
# into <folder> as a git repository, or refreshes one it wrote before (see README).
.PHONY: student-repo
student-repo: install
	@test -n "$(DEST)" || { echo "usage: make student-repo DEST=<folder> (new, empty, or the" \
	  "student repository written there before)" >&2; exit 2; }
	$(PY) tools/student_repo.py "$(DEST)"
