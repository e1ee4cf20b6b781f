# xcdesk — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench model compare system-deps migrate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: install into .venv, load the demo registry and serve on SQLite (http://127.0.0.1:8080)
run: $(STAMP)
	$(BIN)/xcdesk demo
	$(BIN)/xcdesk serve

## system-deps: Debian packages the test suite needs (PostgreSQL server for the storage tests,
## Dovecot IMAP server for the e-mail channel tests, Chromium and its driver for the browser test)
system-deps:
	@if ! command -v pg_ctlcluster >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends postgresql; \
	fi
	@if ! command -v dovecot >/dev/null 2>&1 && ! test -x /usr/sbin/dovecot; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends dovecot-imapd; \
	fi
	@if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium chromium-driver; \
	fi

## test: lint and run the whole suite on SQLite and PostgreSQL
test: $(STAMP) system-deps
	$(BIN)/ruff check --no-cache .
	$(BIN)/pytest

## bench: intake throughput against a bare insert; classifier speed against TF-IDF; WeChat
## webhook requests/s and latency against a bare aiohttp handler; e-mail intake against no-op
## SMTP/IMAP handlers; CDR import against csv.reader; an SLA watcher pass and a care-reminder
## pass against bare selects
bench: $(STAMP)
	$(BIN)/python -m bench.intake
	$(BIN)/python -m bench.classifier
	$(BIN)/python -m bench.wechat
	$(BIN)/python -m bench.email
	$(BIN)/python -m bench.calls
	$(BIN)/python -m bench.sla
	$(BIN)/python -m bench.care

## model: retrain the shipped triage pipeline from classifier/corpus/train.jsonl (fixed seed)
model: $(STAMP)
	$(BIN)/python -m classifier.train

## compare: keyword rules vs TF-IDF + logistic regression vs the pipeline, on the test split
compare: $(STAMP)
	$(BIN)/python -m classifier.compare

migrate: $(STAMP)
	$(BIN)/xcdesk migrate

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache data
