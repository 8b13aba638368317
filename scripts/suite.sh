#!/usr/bin/env bash
# scripts/suite.sh: start/stop the honcho process set in the background for `make up` / `make down`.
set -euo pipefail
cd "$(dirname "$0")/.."

PIDFILE=var/run/suite.pid
LOG=var/log/suite.log

pid() { [[ -s $PIDFILE ]] && cat "$PIDFILE"; }
running() { local p; p=$(pid) && kill -0 "$p" 2>/dev/null; }

urls() {
  echo "Portal (citizens; officers sign in at /can-bo/dang-nhap in development):"
  printf '  %-16s http://127.0.0.1:%s/\n' portal "${PORTAL_PORT:-8000}"
  echo "Mot Cua services (OpenAPI at /docs):"
  local s p
  for s in intake:${INTAKE_PORT:-8001} processing:${PROCESSING_PORT:-8002} payment:${PAYMENT_PORT:-8003} \
           postal:${POSTAL_PORT:-8004} notify:${NOTIFY_PORT:-8005}; do
    printf '  %-16s http://127.0.0.1:%s/docs\n' "${s%%:*}" "${s#*:}"
  done
  echo "Simulators:"
  for s in bank:${BANK_SIM_PORT:-8101} postal-operator:${POSTAL_SIM_PORT:-8102} sms-gateway:${SMS_GATEWAY_PORT:-8103} \
           dvcqg:${DVCQG_SIM_PORT:-8104}; do
    printf '  %-16s http://127.0.0.1:%s/healthz\n' "${s%%:*}" "${s#*:}"
  done
}

start() {
  if running; then echo "suite already running (pid $(pid))"; return; fi
  mkdir -p var/run var/log
  # setsid: its own session, so closing the terminal or Ctrl-C in it does not reach the suite.
  setsid nohup .venv/bin/honcho -f deploy/Procfile start >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  echo "suite started (pid $!, log $LOG)"
  urls
}

stop() {
  if ! running; then rm -f "$PIDFILE"; echo "suite not running"; return; fi
  local p children i
  p=$(pid)
  # honcho starts each process in its own session; remember them for the SIGKILL fallback.
  children=$(ps -o pid= --ppid "$p" 2>/dev/null || true)
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p"
  for ((i = 0; i < 30; i++)); do
    running || break
    sleep 0.5
  done
  if running; then
    echo "suite did not stop within 15 s; killing it"
    kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
    for c in $children; do kill -KILL -- "-$c" 2>/dev/null || true; done
  fi
  rm -f "$PIDFILE"
  echo "suite stopped"
}

case "${1:-}" in
  start | stop | urls) "$1" ;;
  running) running ;;
  *) echo "usage: $0 start|stop|running|urls" >&2; exit 2 ;;
esac
