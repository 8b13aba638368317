"""Throwaway PostgreSQL databases on 127.0.0.1:5432 (BENCH_PG_URL), created and dropped by the bench."""
from __future__ import annotations

import contextlib
import os
import uuid

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg2

        psycopg2.connect(PG_ADMIN_URL, connect_timeout=3).close()
        return None
    except Exception as exc:  # noqa: BLE001 - any reason means "skip the PostgreSQL side"
        return f"{type(exc).__name__}: {str(exc).strip()[:200]}"


@contextlib.contextmanager
def throwaway_database(prefix: str = "bench"):
    """Yields the URL of a fresh database; drops it (and its connections) afterwards."""
    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def count(url: str, sql: str) -> int:
    import psycopg2

    with contextlib.closing(psycopg2.connect(url, connect_timeout=5)) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def server_pids() -> list[int]:
    """The postmaster (its backends are its children): PostgreSQL's CPU belongs to the DB side of a round."""
    import subprocess

    try:
        out = subprocess.run(["pgrep", "-x", "-o", "postgres"], capture_output=True, text=True, timeout=5).stdout
        return [int(x) for x in out.split()]
    except (OSError, ValueError):
        return []
