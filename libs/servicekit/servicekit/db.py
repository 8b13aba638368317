"""Database setup: SQLite (WAL) by default, PostgreSQL through DATABASE_URL; one transaction at the edge."""
from __future__ import annotations

import logging
import os
import socket
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 to SQLAlchemy 2.1; the suite ships psycopg2."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
        engine = create_engine(url, pool_size=pool_size, max_overflow=10, connect_args={"timeout": 30})
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, future=True)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" hook below issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY at once, whatever
        # busy_timeout says (the lock upgrade would deadlock). Writers take the lock up front instead.
        mode = "DEFERRED" if conn.get_execution_options().get("readonly") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")


def after_commit(conn: Connection, callback: Callable[[], None]) -> None:
    """Run `callback` once the transaction that `conn` is in has committed (never on rollback)."""
    conn.info.setdefault("after_commit", []).append(callback)


def is_sqlite(engine_or_conn) -> bool:
    return engine_or_conn.dialect.name == "sqlite"


class Doorbell:
    """Wakes the outbox relay (in the worker process) right after a commit that wrote outbox rows.

    A UDP datagram to the relay's address: fire-and-forget, a few microseconds, and harmless when
    nobody listens (the relay also sweeps on a timer, so a lost ring only delays, never loses).
    """

    def __init__(self, address: str | None):
        self.local: list[Callable[[], None]] = []
        self._addr = None
        if address:
            host, _, port = address.rpartition(":")
            self._addr = (host or "127.0.0.1", int(port))
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setblocking(False)

    def ring(self) -> None:
        for callback in self.local:
            callback()
        if self._addr:
            try:
                self._sock.sendto(b"!", self._addr)
            except OSError:
                pass  # the relay's timer sweep picks the rows up


class Database:
    """One per process: the engine plus the after-commit doorbell."""

    def __init__(self, url: str, *, doorbell: Doorbell | None = None, pool_size: int = 5):
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.doorbell = doorbell or Doorbell(None)
        self._local = threading.local()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Connection]:
        """The one transaction of an entry point: commits on success, rolls back on any exception."""
        with self.engine.connect() as conn:
            if readonly:
                conn = conn.execution_options(readonly=True)
            with conn.begin():
                conn.info["outbox_rows"] = 0
                conn.info["after_commit"] = []
                yield conn
            if conn.info.get("outbox_rows"):
                self.doorbell.ring()
            for callback in conn.info.pop("after_commit", []):
                callback()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
