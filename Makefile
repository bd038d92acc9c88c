# The two commands of the README. Everything else is a step they call.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
DEMO_PASSWORD ?= portal demo pass phrase
HOST ?= 127.0.0.1:8000

.PHONY: run test install install-dev lint check

## run: install, migrate SQLite, seed the demo, serve on http://$(HOST)
run: install
	mkdir -p var
	.venv/bin/python manage.py migrate --noinput -v0
	.venv/bin/python manage.py seed_demo --password "$(DEMO_PASSWORD)"
	.venv/bin/python manage.py runserver $(HOST)

## test: install the test dependencies and run the whole suite (DATABASE_URL picks the database)
test: install-dev
	.venv/bin/pytest -n 2 --dist loadfile

install: $(UV)
	$(UV) sync --no-dev --frozen

install-dev: $(UV)
	$(UV) sync --frozen

lint: install-dev
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python manage.py makemigrations --check --dry-run

$(UV):
	python3 -m pip install --quiet --user uv
