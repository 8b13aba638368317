#!/usr/bin/env bash
# scripts/wait-ready.sh: wait until every service's /readyz and every simulator's /healthz answers 200 (make up).
set -euo pipefail
cd "$(dirname "$0")/.."

timeout_s=${WAIT_READY_TIMEOUT:-90}
python=${PYTHON:-.venv/bin/python}
urls=(
  "http://127.0.0.1:${INTAKE_PORT:-8001}/readyz"
  "http://127.0.0.1:${PROCESSING_PORT:-8002}/readyz"
  "http://127.0.0.1:${PAYMENT_PORT:-8003}/readyz"
  "http://127.0.0.1:${POSTAL_PORT:-8004}/readyz"
  "http://127.0.0.1:${NOTIFY_PORT:-8005}/readyz"
  "http://127.0.0.1:${BANK_SIM_PORT:-8101}/healthz"
  "http://127.0.0.1:${POSTAL_SIM_PORT:-8102}/healthz"
  "http://127.0.0.1:${SMS_GATEWAY_PORT:-8103}/healthz"
  "http://127.0.0.1:${DVCQG_SIM_PORT:-8104}/healthz"
  "http://127.0.0.1:${PORTAL_PORT:-8000}/readyz"
)

# Prints the URLs that do not answer 200 yet; no proxy, since an http_proxy must not see 127.0.0.1.
not_ready() {
  "$python" - "$@" <<'PY'
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for url in sys.argv[1:]:
    try:
        with opener.open(url, timeout=2) as r:
            ok = r.status == 200
    except Exception:
        ok = False
    if not ok:
        print(url)
PY
}

deadline=$((SECONDS + timeout_s))
while :; do
  pending=$(not_ready "${urls[@]}")
  if [[ -z $pending ]]; then echo "all services ready"; exit 0; fi
  if [[ -f var/run/suite.pid ]] && ! scripts/suite.sh running; then
    echo "the suite exited while starting" >&2
    break
  fi
  ((SECONDS < deadline)) || { echo "not ready after ${timeout_s} s:" >&2; break; }
  sleep 1
done
sed 's/^/  /' <<<"$pending" >&2
if [[ -f var/log/suite.log ]]; then
  echo "--- last lines of var/log/suite.log (health polls left out) ---" >&2
  grep -v -E '/(healthz|readyz)' var/log/suite.log | tail -n 40 >&2
fi
if scripts/suite.sh running; then echo "(the suite is left running for inspection: make down stops it)" >&2; fi
exit 1
