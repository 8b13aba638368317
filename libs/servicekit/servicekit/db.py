"""Database setup: SQLite (WAL) by default, PostgreSQL through DATABASE_URL; one transaction at the edge."""
from __future__ import annotations

import logging
import os
import random
import sqlite3
import time
import socket
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy import Connection, Engine, create_engine, event, exc as sa_exc, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 to SQLAlchemy 2.1; the suite ships psycopg2."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


# Every wait on the database is bounded well under the AMQP heartbeat (MOTCUA_AMQP_HEARTBEAT_SECONDS, 30 s):
# the relay does its database work on pika's I/O loop, and a call blocked past the heartbeat would cost the
# connection. SQLite: the lock wait below (10 s). PostgreSQL: connect 5 s, and the relay's statements 10 s.
# Both: waiting for a pooled connection 10 s.
POOL_TIMEOUT_SECONDS = 10
PG_CONNECT_TIMEOUT_SECONDS = 5
PG_STATEMENT_TIMEOUT_MS = 10_000


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
        # hide_parameters: a database error's text never carries the row's values (ID numbers, phones).
        engine = create_engine(url, pool_size=pool_size, max_overflow=10, pool_timeout=POOL_TIMEOUT_SECONDS,
                               connect_args={"timeout": 30}, hide_parameters=True)
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_timeout=POOL_TIMEOUT_SECONDS,
                         pool_pre_ping=True, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_SECONDS}, future=True,
                         hide_parameters=True)


def is_outage(exc: BaseException) -> bool:
    """The database is down, unreachable or locked: wait and try the same work again, it is not a bug.

    OperationalError (connection refused or lost, server shutting down, lock timeout, SQLite busy or locked),
    InterfaceError (a connection that is already closed), DisconnectionError, and a pool that gave no
    connection in time. An IntegrityError or a ProgrammingError is the work's own fault and is not one.
    """
    message = str(exc)
    if any(sign in message for sign in _SQLITE_MISTAKES):
        return False  # SQLite files schema and syntax mistakes under OperationalError too: the work's own fault
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                        sa_exc.TimeoutError, sqlite3.OperationalError)):
        return True
    return "database is locked" in message


_SQLITE_MISTAKES = ("no such table", "no such column", "has no column", "syntax error")


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" hook below issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY at once, whatever
        # busy_timeout says (the lock upgrade would deadlock). Writers take the lock up front instead.
        if conn.get_execution_options().get("readonly"):
            conn.exec_driver_sql("BEGIN DEFERRED")  # WAL readers never wait for the writer
            return
        try:
            _begin_immediate(conn.connection.dbapi_connection)
        except sqlite3.Error as exc:
            # Raised from an event hook, the driver's error would reach callers raw (SQLAlchemy wraps only the
            # statements it runs): the relay's `except SQLAlchemyError` missed it and its thread ended, and the
            # web answered 500. Callers see the same exception type as for any other statement.
            raise sa_exc.DBAPIError.instance("BEGIN IMMEDIATE", None, exc, sqlite3.Error) from exc


# SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ms... between tries: far longer than a
# filing transaction holds the write lock (~0.3 ms), so several gunicorn workers spent most of their
# time asleep. Taking the lock, we try again after a short randomised pause instead; every other
# statement keeps the normal busy_timeout.
_BUSY_TIMEOUT_MS = 10000


def _begin_immediate(dbapi_conn) -> None:
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    pause = 0.0001
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 1.5, 0.005)
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")


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

    RESOLVE_EVERY = 5.0  # seconds between lookups of a host name that did not resolve (or changed)

    def __init__(self, address: str | None):
        self.local: list[Callable[[], None]] = []
        self._host: str | None = None
        self._port = 0
        self._resolved: tuple[str, int] | None = None
        self._resolved_at = 0.0
        if address:
            host, _, port = address.rpartition(":")
            self._host, self._port = host or "127.0.0.1", int(port)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setblocking(False)

    def _target(self) -> tuple[str, int] | None:
        """The relay's address, its host name looked up once rather than on every commit.

        In docker compose the address is a container name: a DNS query per filing would sit in the
        request path. A name that does not resolve yet (the worker not started) is tried again later.
        """
        if self._resolved is None and time.monotonic() - self._resolved_at >= self.RESOLVE_EVERY:
            self._resolved_at = time.monotonic()
            try:
                info = socket.getaddrinfo(self._host, self._port, socket.AF_INET, socket.SOCK_DGRAM)
                self._resolved = info[0][4]
            except OSError:
                self._resolved = None
        return self._resolved

    def ring(self) -> None:
        for callback in self.local:
            callback()
        if self._host is None:
            return
        target = self._target()
        if target is None:
            return  # the relay's one-second sweep picks the rows up
        try:
            self._sock.sendto(b"!", target)
        except OSError:
            self._resolved = None  # look the name up again next time; the sweep covers this ring


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
