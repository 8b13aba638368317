"""What the three simulators share: SQLite store, signed callbacks, JSON errors and logs, health, and the server loop."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import queue
import signal
import sqlite3
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import requests
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import make_server

SIGNATURE_HEADER = "X-Motcua-Signature"
# Callbacks are retried on what a later attempt can fix; a 4xx is the receiver's final word.
RETRYABLE_STATUS = {429, 500, 502, 503, 504}


def utc_now() -> str:
    """RFC 3339 UTC with milliseconds, so reports a few ms apart still sort."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        sys.exit(f"{name} must be an integer, got {raw!r}")


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        sys.exit(f"{name} must be a number, got {raw!r}")


def mask_phone(phone: Any) -> str:
    text = str(phone or "")
    return "*" * max(len(text) - 3, 0) + text[-3:]


# --- logs -------------------------------------------------------------------

class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.Handler):
    # Looks sys.stderr up at each record, so pytest's capture and redirections see every line.
    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def _configure_logging() -> None:
    root = logging.getLogger("motcua_sims")
    if root.handlers:
        return
    handler = _StderrHandler()
    handler.setFormatter(_JsonFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    # Werkzeug's own request lines are plain text and carry query strings (phone numbers); we log requests ourselves.
    werkzeug_logger = logging.getLogger("werkzeug")
    werkzeug_logger.addHandler(handler)
    werkzeug_logger.setLevel(logging.ERROR)
    werkzeug_logger.propagate = False


class EventLog:
    """One JSON object per line on stderr: time, level, service, event and the given fields."""

    def __init__(self, service: str):
        _configure_logging()
        self.service = service
        self._logger = logging.getLogger(f"motcua_sims.{service}")

    def _log(self, level: int, event: str, exc_info: bool, fields: dict) -> None:
        self._logger.log(level, event, exc_info=exc_info, extra={"fields": {"service": self.service, **fields}})

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, False, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, False, fields)

    def error(self, event: str, exc_info: bool = False, **fields: Any) -> None:
        self._log(logging.ERROR, event, exc_info, fields)


# --- storage ----------------------------------------------------------------

class Store:
    """A SQLite file in WAL mode with one connection per thread (sqlite3 connections are not shareable)."""

    def __init__(self, path: str | os.PathLike, schema: str):
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = self.connection()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(schema)

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit mode: transactions are opened explicitly, BEGIN IMMEDIATE, so a writer waits on
            # busy_timeout instead of failing when it upgrades a read lock.
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        with self.transaction() as conn:
            return conn.execute(sql, params)

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        return [dict(row) for row in self.connection().execute(sql, params)]

    def query_one(self, sql: str, params: tuple | dict = ()) -> dict | None:
        row = self.connection().execute(sql, params).fetchone()
        return dict(row) if row else None


# --- signed callbacks -------------------------------------------------------

def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `X-Motcua-Signature` value: HMAC-SHA256 of "<t>.<raw body>" (CONTRACT.md, "Signatures on callbacks")."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def post_signed(url: str, payload: dict, secret: str, attempts: int = 1, backoff_s: float = 0.5,
                timeout_s: float = 5.0) -> dict:
    """POST a signed JSON callback; returns what happened instead of raising, since the receiver may not be up."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    outcome: dict = {"url": url, "delivered": False, "status_code": None, "error": None, "attempts": 0}
    for attempt in range(1, attempts + 1):
        outcome["attempts"] = attempt
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
        try:
            response = requests.post(url, data=body, headers=headers, timeout=timeout_s)
        except requests.RequestException as exc:
            outcome.update(status_code=None, error=f"{type(exc).__name__}: {exc}")
        else:
            outcome.update(status_code=response.status_code, error=None if response.ok else response.text[:200])
            if response.ok:
                outcome["delivered"] = True
                return outcome
            if response.status_code not in RETRYABLE_STATUS:
                return outcome
        if attempt < attempts:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    return outcome


class BackgroundJobs:
    """A few daemon threads running delayed jobs, so callbacks never hold up the HTTP answer."""

    def __init__(self, log: EventLog, threads: int = 4, max_pending: int = 10_000):
        self._log = log
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        for n in range(threads):
            threading.Thread(target=self._work, name=f"{log.service}-jobs-{n}", daemon=True).start()

    def submit(self, job: Callable[[], Any], delay_s: float = 0.0) -> None:
        try:
            self._queue.put_nowait((time.monotonic() + delay_s, job))
        except queue.Full:
            self._log.warning("background.job_dropped", reason="queue full")

    def _work(self) -> None:
        while True:
            due, job = self._queue.get()
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                job()
            except Exception:
                self._log.error("background.job_failed", exc_info=True)


# --- HTTP -------------------------------------------------------------------

def error(code: int, message: str, errors: dict | None = None) -> tuple[Response, int]:
    """The suite's one error shape: {"code", "status", "message"} plus "errors" for field errors."""
    body: dict = {"code": code, "status": HTTP_STATUS_CODES.get(code, "Error"), "message": message}
    if errors:
        body["errors"] = {"json": errors}
    return jsonify(body), code


def json_body() -> dict | tuple[Response, int]:
    """The request's JSON object, or the error answer to return instead."""
    if not request.is_json:
        return error(415, "Content-Type must be application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "Request body must be a JSON object")
    return body


def create_app(name: str, log: EventLog) -> Flask:
    """A Flask app with /healthz, JSON errors for everything, and one JSON log line per request."""
    app = Flask(name)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error(exc.code or 500, exc.description or "")

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        log.error("request.failed", exc_info=True, method=request.method, path=request.path)
        return error(500, "Internal error")

    @app.before_request
    def start_clock():
        request.environ["motcua.started"] = time.perf_counter()

    @app.after_request
    def log_request(response: Response):
        # The path only: query strings may carry phone numbers.
        started = request.environ.get("motcua.started", time.perf_counter())
        log.info("http.request", method=request.method, path=request.path, status=response.status_code,
                 duration_ms=round((time.perf_counter() - started) * 1000, 1))
        return response

    return app


def warn_default_secret(log: EventLog, name: str, value: str, default: str) -> None:
    if value == default:
        log.warning("config.default_secret", variable=name, hint="set it outside development")


def serve(app: Flask, log: EventLog, port: int, on_stop: Callable[[], None] | None = None) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then stop background work and exit cleanly."""
    host = os.environ.get("MOTCUA_SIM_HOST", "127.0.0.1")
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        log.error("server.start_failed", host=host, port=port, error=str(exc))
        sys.exit(1)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    log.info("server.started", url=f"http://{host}:{port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if on_stop:
            on_stop()
        log.info("server.stopped")
