#!/usr/bin/env bash
# deploy/postgres/init.sh: one role and one database per service; the postgres image runs it once, on an empty data directory.
set -euo pipefail

for svc in intake processing payment postal notify; do
  pw_var="${svc^^}_DB_PASSWORD"
  # psql variables (:"name", :'literal') quote the values, so a password cannot break the SQL.
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v svc="$svc" -v pw="${!pw_var:-$svc-dev}" <<'SQL'
CREATE ROLE :"svc" LOGIN PASSWORD :'pw';
CREATE DATABASE :"svc" OWNER :"svc";
-- No service reads another's tables: only the owner may connect.
REVOKE ALL ON DATABASE :"svc" FROM PUBLIC;
SQL
done
