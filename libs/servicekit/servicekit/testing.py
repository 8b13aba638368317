"""Test helpers: throwaway databases (SQLite or PostgreSQL) and RabbitMQ vhosts, and waiting for effects."""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from contextlib import contextmanager
from typing import Callable, Iterator
from urllib.parse import quote

import sqlalchemy as sa

from .db import normalize_url

PG_ENV = "MOTCUA_TEST_PG_URL"


def backends() -> list[str]:
    """SQLite always; PostgreSQL too when `make test` found one reachable (or TEST_DATABASE_URL is set)."""
    return ["sqlite", "postgresql"] if (os.environ.get(PG_ENV) or os.environ.get("TEST_DATABASE_URL")) else ["sqlite"]


@contextmanager
def throwaway_database(backend: str, tmp_dir: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir}/test-{uuid.uuid4().hex[:8]}.db"
        return
    admin_url = normalize_url(os.environ.get(PG_ENV) or os.environ["TEST_DATABASE_URL"])
    name = f"motcua_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(admin_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def rabbitmqctl(*args: str, node: str | None = None) -> str:
    cmd = ["rabbitmqctl"] + (["-n", node] if node else []) + list(args)
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout


@contextmanager
def throwaway_vhost(base_url: str = "amqp://guest:guest@127.0.0.1:5672/", node: str | None = None) -> Iterator[str]:
    """A vhost of its own for one test, deleted after: queues and bindings never leak between tests."""
    vhost = f"motcua-test-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", vhost, node=node)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*", node=node)
    try:
        yield base_url.rstrip("/") + "/" + quote(vhost, safe="")
    finally:
        rabbitmqctl("delete_vhost", vhost, node=node)


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05, message: str = ""):
    """Poll until `predicate()` is truthy; returns its value, or fails the test with `message`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout} s (last value: {last!r})")


def migrated_database(db_url: str, migrations_dir: str):
    """A service database at its migration head, as `manage migrate` leaves it (without seeding)."""
    from .db import Database
    from .migrate import upgrade

    upgrade(migrations_dir, db_url)
    return Database(db_url)


def deliver_event(db, inbox, subscription, consumer: str, type_: str, data: dict, *, event_id: str | None = None,
                  subject: str | None = None) -> str:
    """Run a handler exactly as the consumer does (inbox + one transaction), without a broker."""
    from .consumer import handle_once
    from .events import make_envelope

    envelope = make_envelope(type_, "test", data, subject=subject)
    if event_id:
        envelope["id"] = event_id
    loaded = subscription.catalog[type_].load(data)
    return handle_once(db, inbox, consumer, subscription.handlers[type_], envelope, loaded)


def kit_settings_for_tests(service: str, db_url: str):
    """The service's KitSettings on a test database, with no doorbell (no relay listens in unit tests)."""
    from dataclasses import replace

    from .config import KitSettings

    return replace(KitSettings.from_env(service), database_url=db_url, relay_doorbell=None)
