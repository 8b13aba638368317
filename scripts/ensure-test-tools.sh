#!/usr/bin/env bash
# scripts/ensure-test-tools.sh: the programs `make test` checks the deployment files with, installed from
# Debian's packages when missing (a fresh machine has none of them): promtool (package prometheus) for the
# alert rules and their unit tests (installing the package does not start a Prometheus server), and Chromium for
# the portal's browser tests (Playwright drives Debian's /usr/bin/chromium; it never downloads a browser).
set -euo pipefail

sudo=
[[ $(id -u) -eq 0 ]] || sudo=sudo
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ ${#missing[@]} -eq 0 ]] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "missing test tools (${missing[*]}) and no apt-get to install them" >&2
  exit 1
fi
echo "installing test tools: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
