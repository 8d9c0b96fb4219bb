# openrisk -- top-level Makefile.
#
# The two commands a user needs are `make run` and `make test`; both do
# their own set-up (Debian packages, build, install, cluster) on a fresh
# Debian 12 machine as root, and both are idempotent.  Everything else is
# a building block or a benchmark.  Scripts live in tools/, one per concern.

SHELL := /bin/bash
.DEFAULT_GOAL := help
# PGBIN (and so PG_CONFIG) may name another copy of PostgreSQL 15, e.g. a
# relocated one, so a second stack with its own installed extension can run
# beside this one; tools/common.sh reads the same variable.
PGBIN ?= /usr/lib/postgresql/15/bin
PG_CONFIG ?= $(PGBIN)/pg_config
export PGBIN PG_CONFIG
export PATH := $(PGBIN):$(PATH)

.PHONY: help root deps build install run stop env token test test-long test-asan \
	bench-sql bench-http bench-replicas bench load monitoring format format-check clean

help:
	@echo "make run      build, install and start everything (PostgreSQL + extension + gateway)"
	@echo "              REPLICAS=N adds N hot standbys (0..6; fewer than last time removes the extra ones)"
	@echo "make test     run every test suite; ends with 'N passed, N failed'"
	@echo "make stop     stop what 'make run' started"
	@echo "make env      print export lines for psql and curl (eval \"\$$(make -s env)\")"
	@echo "make bench-sql | bench-http | bench | bench-replicas   benchmarks (see docs/)"
	@echo "make format   lay out the C of extension/ and gateway/ as their .clang-format says"
	@echo "make format-check   list the C files that 'make format' would change (part of make test)"

# One clear message instead of a permission error halfway through.
root:
	@if [ "$$(id -u)" != 0 ]; then \
		echo "error: this installs Debian packages and the extension, and runs PostgreSQL as the postgres user;"; \
		echo "       run it as root: sudo make $(firstword $(MAKECMDGOALS))"; exit 1; fi

deps: root
	@tools/deps.sh

build: deps
	@$(MAKE) -s -C extension
	@if [ -f gateway/Makefile ]; then $(MAKE) -s -C gateway; fi

install: build
	@$(MAKE) -s -C extension install >/dev/null

run: install
	@tools/run.sh

stop:
	@tools/stop.sh

env:
	@tools/env.sh

token:
	@tools/token.sh "$(ROLE)" "$(TENANT)"

test: install
	@tools/run-tests.sh

test-long: install
	@tools/run-tests.sh --long

test-asan: deps
	@tools/test-asan.sh

bench-sql: install
	@tools/bench-sql.sh

bench-http: install
	@tools/bench-http.sh

bench-replicas: install
	@tools/bench-replicas.sh

bench load: install
	@tools/bench.sh $(SCENARIO)

monitoring:
	@tools/monitoring.sh start

# clang-format with extension/.clang-format and gateway/.clang-format;
# tools/format.py keeps pgindent's alignment in extension/ (see there).
format:
	@tools/format.py fix

format-check:
	@tools/format.py check

clean:
	@$(MAKE) -s -C extension clean
	@if [ -f gateway/Makefile ]; then $(MAKE) -s -C gateway clean; fi
