# The two commands of the README. Everything else is a step they call.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
DEMO_PASSWORD ?= portal demo pass phrase
HOST ?= 127.0.0.1:8000
# Links in emails, texts and slips, and the hosts served, follow HOST unless set (issue 13).
DEV_URLS = PORTAL_BASE_URL="$${PORTAL_BASE_URL:-http://$(HOST)}" \
	ALLOWED_HOSTS="$${ALLOWED_HOSTS:-127.0.0.1,localhost,$(firstword $(subst :, ,$(HOST)))}"

.PHONY: run test install install-dev lint check deploy-check browser

## run: install, migrate SQLite, seed the demo, serve on http://$(HOST)
run: install
	mkdir -p var
	.venv/bin/python manage.py migrate --noinput -v0
	$(DEV_URLS) .venv/bin/python manage.py seed_demo --password "$(DEMO_PASSWORD)"
	$(DEV_URLS) .venv/bin/python manage.py runserver $(HOST)

## test: install the test dependencies and run the whole suite (DATABASE_URL picks the database)
test: install-dev browser
	.venv/bin/pytest -n 2 --dist loadfile

# Browser tests drive Debian's Chromium: Playwright cannot download a browser on this network.
browser:
	@command -v chromium >/dev/null || apt-get install -y -q chromium >/dev/null \
		|| { apt-get update -q && apt-get install -y -q chromium >/dev/null; }

install: $(UV)
	$(UV) sync --no-dev --frozen

install-dev: $(UV)
	$(UV) sync --frozen

lint: install-dev
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python manage.py makemigrations --check --dry-run

## deploy-check: Django's deployment checklist on the production settings, warnings included.
## Values come from the environment when set; otherwise stand-ins. The providers must be real: the
## production settings refuse to start (so this check too) with a mailer that sends nothing (mail.E001,
## registration.E003), an anymail mailer without its webhook secret (registration.E001), or texts to
## the outbox (registration.E002). It reads no credentials.
deploy-check: install-dev
	DJANGO_SETTINGS_MODULE=portalreg.settings.production \
	SECRET_KEY="$${SECRET_KEY:-$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')}" \
	ALLOWED_HOSTS="$${ALLOWED_HOSTS:-portal.example.org}" \
	DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portalreg}" \
	MAIL_BACKEND="$${MAIL_BACKEND:-anymail.backends.postmark.EmailBackend}" \
	SMS_BACKEND="$${SMS_BACKEND:-registration.messaging.sms.TwilioSmsBackend}" \
	ANYMAIL="$${ANYMAIL:-{\"WEBHOOK_SECRET\": \"stand-in:not-a-secret\"}}" \
	TRUSTED_PROXIES="$${TRUSTED_PROXIES:-10.0.0.0/24}" \
	.venv/bin/python manage.py check --deploy --fail-level WARNING

$(UV):
	python3 -m pip install --quiet --user uv

## loadtest: a bounded load test (about 3 minutes) on 127.0.0.1: fresh PostgreSQL database, gunicorn with
## 2 workers, a task worker, an email provider down for a third of the run; prints the figures. Not in `test`.
LOADTEST_SECONDS ?= 60
LOADTEST_USERS ?= 20
.PHONY: loadtest
loadtest: install-dev
	.venv/bin/python loadtest/run.py --seconds $(LOADTEST_SECONDS) --users $(LOADTEST_USERS)

## hl7-load: 10,000 HL7 v2 messages over 4 MLLP connections to `hl7_listen` on a fresh PostgreSQL
## database, the listener killed and restarted twice mid-run; prints messages/s, ACK latency, lost and
## applied twice (targets: >= 200/s, p95 <= 50 ms, 0, 0). Not in `test`.
HL7_LOAD_MESSAGES ?= 10000
.PHONY: hl7-load
hl7-load: install-dev
	.venv/bin/python loadtest/hl7_load.py --messages $(HL7_LOAD_MESSAGES) --kill

## bench: staff pages, a floor (a signed-in view drawing a tiny template) and a bare Django view, at 10,000
## and 100,000 patients on PostgreSQL (127.0.0.1, user postgres), against issues 6 and 17's targets (the
## floor at most 10x the bare view), each round in a new order. One run at a time: a second waits for the
## first's lock. Seeds the two databases the first time, then reuses them (BENCH_FRESH=1: drop and seed
## anew). Prints a table and writes bench/results.json (rows, seed seconds, the commit). Not part of `test`.
BENCH_REQUESTS ?= 80
.PHONY: bench bench-server bench-statistics
bench: install-dev
	.venv/bin/python bench/run.py --requests $(BENCH_REQUESTS) $(if $(BENCH_FRESH),--fresh)

## bench-statistics: on each database `make bench` made, the daily full recount of the registration counts,
## and the counts read from the counters the services keep (queries and median ms: the same at each size).
bench-statistics: install-dev
	@for size in 10k 100k; do \
		DATABASE_URL=postgres://postgres@127.0.0.1:5432/portalreg_bench_$$size .venv/bin/python bench/statistics_scale.py; \
	done

## bench-server: gunicorn (2 workers) and wrk against the 100,000-patient database `make bench` made: each
## page's requests a second, its cost in floors against its in-process target, and the floor's share of a
## bare view's (at least 1/4). Exits 1 on a miss. Not part of `test`.
bench-server: install-dev
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null \
		|| { apt-get update -q && apt-get install -y -q wrk >/dev/null; }
	.venv/bin/python bench/serve.py
