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

echo "== pytest"
read -r -a pytest_args <<<"${PYTEST_ARGS:-}"
.venv/bin/pytest "${pytest_args[@]}"
