#!/usr/bin/env bash
# scripts/test.sh: what `make test` runs: the import contracts, then the whole pytest suite (PYTEST_ARGS passed on).
set -euo pipefail
cd "$(dirname "$0")/.."

# Tests make throwaway databases on a reachable PostgreSQL; a real connection (not just
# pg_isready) proves the trust login they rely on works. Unreachable: they skip that run.
pg_url=postgresql://postgres@127.0.0.1:5432/postgres
if [[ -z ${TEST_DATABASE_URL:-} && -z ${MOTCUA_TEST_PG_URL:-} ]]; then
  if .venv/bin/python -c "import psycopg2, sys; psycopg2.connect(sys.argv[1], connect_timeout=3).close()" "$pg_url" 2>/dev/null; then
    export MOTCUA_TEST_PG_URL=$pg_url
    echo "PostgreSQL reachable: tests also run on $pg_url"
  else
    echo "PostgreSQL not reachable at 127.0.0.1:5432: tests run on SQLite only"
  fi
fi

echo "== import contracts"
.venv/bin/lint-imports

# Two phases. The fast tests run on both cores (pytest-xdist, one file per worker so a file's fixtures
# stay together); the slow ones (a whole suite of processes, a private RabbitMQ node killed under load,
# browsers) run one at a time after them, since each already keeps both cores busy and some measure
# time. `PYTEST_ARGS` goes to both phases; `SKIP_SLOW=1` runs only the first (CI runs both).
read -r -a pytest_args <<<"${PYTEST_ARGS:-}"
workers=${PYTEST_WORKERS:-2}
echo "== pytest: fast tests on $workers workers"
rc=0
.venv/bin/pytest -m "not slow" -n "$workers" --dist loadfile "${pytest_args[@]}" || rc=$?
if [[ ${SKIP_SLOW:-0} != 1 ]]; then
  echo "== pytest: slow tests, one at a time"
  slow_rc=0
  .venv/bin/pytest -m slow "${pytest_args[@]}" || slow_rc=$?
  # No test selected (exit 5) is not a failure of this phase.
  [[ $slow_rc -eq 5 ]] && slow_rc=0
  [[ $rc -eq 0 ]] && rc=$slow_rc
fi
exit $rc
