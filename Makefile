# Kefu — the two commands of the README, and helpers.
#   make run    build and start `kefu serve` on Rules/shop; prints the URL, token and a curl example
#   make test   install what is missing, build, run every test
SWIFT ?= swift
VENV  := .venv
PY    := $(VENV)/bin/python

.PHONY: run test samples bench deps venv build release bench-wechat bench-rules bench-webhook soak eval-intents clean

deps:
	@scripts/install-deps

# The wechatpy peer of the interop tests, in a local virtualenv.
$(VENV)/.ready: Tests/Interop/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r Tests/Interop/requirements.txt
	touch $@

venv: $(VENV)/.ready

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product kefu

# The store contract suites (they talk to PostgreSQL from inside the test process, under query deadlines) and the
# API client's (an in-process client against the stand-in, on its clock) run in a second invocation: in the first,
# the suites that drive real processes block the few threads of the concurrency pool for minutes, and an in-process
# client starved that long times out (see docs/testing.md).
IN_PROCESS_STORES := KefuStoreTests|KefuPostgresTests|KefuWeChatAPITests
test: deps venv
	$(SWIFT) build --build-tests
	KEFU_PYTHON=$(CURDIR)/$(PY) $(SWIFT) test --skip-build --skip '$(IN_PROCESS_STORES)'
	KEFU_PYTHON=$(CURDIR)/$(PY) $(SWIFT) test --skip-build --filter '$(IN_PROCESS_STORES)'
	scripts/check-samples

# Each sample rule set: kefu lint --strict, and kefu test --min-coverage 100 on Corpora/NAME.
samples: build
	scripts/check-samples

run: deps
	scripts/run

# Kefu beside its peers, one run, the table of docs/performance.md (about 7 minutes).
bench: deps
	scripts/bench

# XML reader (ours vs FoundationXML) and the secure-mode path, per message; release build.
bench-wechat: deps
	$(SWIFT) run -c release WeChatBench Tests/KefuWeChatTests/Fixtures/vectors

# Keyword automaton and rule matching on ../shared/bench-data (or BENCH_DATA=folder).
BENCH_DATA ?= ../shared/bench-data
bench-rules: deps
	$(SWIFT) run -c release RulesBench $(BENCH_DATA)

# The webhook under wrk (release build, Rules/shop): requests/s and latency.
bench-webhook: deps
	scripts/bench-webhook

# Steady load at 80% of capacity for SOAK_MINUTES (default 10): errors, RSS, p99 per minute, DB size.
SOAK_MINUTES ?= 10
soak: deps
	scripts/soak $(SOAK_MINUTES)

# Intent accuracy vs a scikit-learn baseline, 5-fold cross-validation on Corpora/intents.
eval-intents: deps
	scripts/eval-intents

clean:
	rm -rf .build $(VENV)
