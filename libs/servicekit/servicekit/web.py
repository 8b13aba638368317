"""Flask helpers every service uses: one error shape, health, readiness, metrics, request logs."""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from http import HTTPStatus
from typing import Callable

import pika
import sqlalchemy.exc
from flask import Flask, Response, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from flask_smorest.arguments import ArgumentsMixin
from marshmallow import Schema, fields, validate
from prometheus_client import Gauge
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge, UnsupportedMediaType

from . import safejson
from .db import Database, Doorbell, is_outage
from .logs import configure_logging, correlation_id, dossier_code
from .metrics import CONTENT_TYPE_LATEST, HTTP_DURATION, HTTP_REQUESTS, render_latest
from .topology import connection_parameters

log = logging.getLogger(__name__)


class DomainError(Exception):
    """Raised by use cases; mapped to one HTTP answer here, so use cases never know about HTTP."""

    status = 400

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    status = 422


class Forbidden(DomainError):
    status = 403


class Unauthorized(DomainError):
    status = 401


class Unavailable(DomainError):
    status = 503


_STATUS_TEXT = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
    413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
}


# Seconds a client is told to wait when the database is down or locked (503).
DB_RETRY_AFTER_SECONDS = 5
# What the database driver raises when the database is down, unreachable, locked or out of connections:
# an outage, not a bug, so the answer is a 503 the client may retry, never a 500.
DB_UNAVAILABLE = (
    sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.DisconnectionError, sqlite3.OperationalError, sqlite3.InterfaceError,
)

DEPENDENCY_UP = Gauge(
    "motcua_dependency_up", "1 when the web process last found the dependency reachable (/readyz), else 0",
    ["service", "dependency"], multiprocess_mode="mostrecent",
)


class PageArgs(Schema):
    """The one paging query of every list: bounded, so no page number overflows a database integer."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class KitJSONProvider(DefaultJSONProvider):
    """`request.get_json()` through the kit's bounded loader (depth, size, text a database can store)."""

    ensure_ascii = False

    def loads(self, s, **kwargs):
        return safejson.loads(s, max_bytes=None)  # the size is bounded by MAX_CONTENT_LENGTH already


class KitParser(FlaskParser):
    """webargs (flask-smorest's `@blp.arguments`) reads JSON bodies through the same bounded loader."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        data = req.get_data(cache=True)
        if not data:
            return webargs_core.missing
        return safejson.loads(data, max_bytes=None)

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        abort(400, exc=error, messages={"json": [f"Invalid JSON body: {error}"]})


# Every Blueprint built after the kit is imported parses with KitParser: services import the kit
# before they declare their routes, so none of them can reach webargs' unbounded json.loads.
ArgumentsMixin.ARGUMENTS_PARSER = KitParser()


def _reason(status: int) -> str:
    try:
        return _STATUS_TEXT.get(status) or HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(status: int, message: str, errors: dict | None = None) -> Response:
    body = {"code": status, "status": _reason(status), "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


class BrokerProbe:
    """Reachability of the broker for /readyz: one connection per process, kept open and polled.

    A probe every few seconds from each web process used to open and close a connection each time
    (a TCP and AMQP handshake, and churn in the broker's connection table). The connection is now
    opened once and checked with a non-blocking poll; only a lost connection is opened again, and
    results are cached for `ttl` seconds so frequent probes cost nothing.
    """

    HEARTBEAT = 60  # the broker drops the connection of a process nobody probes for 2 minutes; reopened then

    def __init__(self, amqp_url: str, ttl: float = 3.0):
        self.amqp_url = amqp_url
        self.ttl = ttl
        self._checked = 0.0
        self._ok = False
        self._error = ""
        self._conn: pika.BlockingConnection | None = None
        self._lock = threading.Lock()

    def _poll(self) -> None:
        conn = self._conn
        if conn is not None and conn.is_open:
            try:
                conn.process_data_events(time_limit=0)  # reads what the broker sent; raises when it is gone
                if conn.is_open:
                    return
            except Exception:
                pass
            self._discard()
        params = connection_parameters(self.amqp_url, heartbeat=self.HEARTBEAT, name="readyz")
        params.socket_timeout = 2
        params.connection_attempts = 1
        params.retry_delay = 0
        self._conn = pika.BlockingConnection(params)

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def check(self) -> tuple[bool, str]:
        with self._lock:
            if time.monotonic() - self._checked < self.ttl:
                return self._ok, self._error
            try:
                self._poll()
                self._ok, self._error = True, ""
            except Exception as exc:
                self._discard()
                self._ok, self._error = False, type(exc).__name__
            self._checked = time.monotonic()
            return self._ok, self._error

    def close(self) -> None:
        with self._lock:
            self._discard()


def create_service_app(
    settings,
    *,
    title: str,
    version: str = "1",
    description: str = "",
    officer_auth: bool = True,
    max_content_length: int = 1024 * 1024,
    multipart_endpoints: tuple[str, ...] = (),
    extra_ready_checks: dict[str, Callable[[], None]] | None = None,
    broker_required: bool = False,
) -> tuple[Flask, Api]:
    """The common Flask + flask-smorest application of a service; it registers its blueprints on `api`.

    `settings` is the service's Settings: its `.kit` names the service, the database and the broker;
    an optional `.dev_defaults` lists the service's own secrets left at their development values.

    `broker_required`: whether a broker outage makes the web not ready. No service's web needs the
    broker (what it publishes goes through the outbox, which keeps it until the broker is back), so
    by default the broker is reported in /readyz's checks and in `motcua_dependency_up`, and the
    service stays in rotation.
    """
    kit = settings.kit
    name = kit.service
    configure_logging(name, kit.log_level)
    kit.warn_dev_defaults(getattr(settings, "dev_defaults", ()))
    # The doorbell wakes the worker's relay after a commit that wrote outbox rows.
    db = Database(kit.database_url, doorbell=Doorbell(kit.relay_doorbell))
    amqp_url = kit.amqp_url
    app = Flask(name)
    app.config.update(
        API_TITLE=title,
        API_VERSION=version,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        API_SPEC_OPTIONS={"info": {"description": description}},
        MAX_CONTENT_LENGTH=max_content_length,
        JSON_AS_ASCII=False,
    )
    app.json = KitJSONProvider(app)
    api = Api(app)
    if officer_auth:
        api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    app.extensions["motcua.db"] = db
    app.extensions["motcua.settings"] = settings
    probe = BrokerProbe(amqp_url)
    app.extensions["motcua.broker_probe"] = probe

    @app.before_request
    def _start():
        g.started = time.perf_counter()
        g.correlation_id = request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
        g._log_tokens = (correlation_id.set(g.correlation_id), dossier_code.set(None))
        if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
            raise BadRequest("the URL contains a NUL character")
        if request.method not in ("POST", "PUT", "PATCH"):
            return
        chunked = request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        if chunked:
            # Werkzeug stops reading a chunked body at MAX_CONTENT_LENGTH without saying so: the
            # truncated body then fails as malformed (400). A body that fills the limit is too large.
            limit = app.config["MAX_CONTENT_LENGTH"]
            if limit is not None and len(request.get_data(cache=True)) >= limit:
                raise RequestEntityTooLarge()
        if (request.content_length or chunked) and request.endpoint not in multipart_endpoints and not request.is_json:
            raise UnsupportedMediaType("send JSON with Content-Type: application/json")
        if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            # Text PostgreSQL cannot store (a NUL) in a form field or an upload's file name: a 400, not a 500.
            texts = [*request.form.keys(), *request.form.values(), *(f.filename or "" for f in request.files.values())]
            if any("\x00" in text for text in texts):
                raise BadRequest("a form field or file name contains a NUL character")

    @app.after_request
    def _finish(response: Response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        HTTP_REQUESTS.labels(name, endpoint, request.method, str(response.status_code)).inc()
        HTTP_DURATION.labels(name, endpoint).observe(elapsed)
        response.headers["X-Correlation-ID"] = g.get("correlation_id", "")
        if endpoint not in ("/healthz", "/readyz", "/metrics"):
            log.info(
                "request",
                extra={
                    "event": "http.request", "method": request.method, "path": endpoint,
                    "status": response.status_code, "ms": round(elapsed * 1000, 2),
                },
            )
        return response

    @app.teardown_request
    def _reset(_exc):
        tokens = g.pop("_log_tokens", None)
        if tokens:
            correlation_id.reset(tokens[0])
            dossier_code.reset(tokens[1])

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        response = error_response(exc.status, exc.message, exc.errors)
        if exc.status == 503:  # a dependency is down: tell the client when to try again
            response.headers["Retry-After"] = str(getattr(exc, "retry_after", None) or DB_RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # flask-smorest's webargs parser raises 422 with field messages in exc.data["messages"].
        data = getattr(exc, "data", None) or {}
        errors = data.get("messages")
        message = data.get("message") or exc.description or _STATUS_TEXT.get(exc.code or 500, "Error")
        response = error_response(exc.code or 500, message, errors)
        # Werkzeug's own headers of the answer: Allow on a 405, WWW-Authenticate, Retry-After.
        for key, value in exc.get_headers():
            if key.lower() != "content-type":
                response.headers[key] = value
        for key, value in (data.get("headers") or {}).items():
            response.headers[key] = value
        return response

    def _database_unavailable(exc: Exception):
        if not is_outage(exc):  # "no such table", a syntax error: the code's own fault, a 500
            return _unexpected(exc)
        # Logged without the statement's parameters (engines hide them) and scrubbed by the formatter.
        log.error("database unavailable", exc_info=exc, extra={"event": "http.db_unavailable", "error": type(exc).__name__})
        DEPENDENCY_UP.labels(name, "database").set(0)
        response = error_response(503, "Cơ sở dữ liệu tạm thời không sẵn sàng, vui lòng thử lại sau (database unavailable).")
        response.headers["Retry-After"] = str(DB_RETRY_AFTER_SECONDS)
        return response

    for exc_type in DB_UNAVAILABLE:
        app.register_error_handler(exc_type, _database_unavailable)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error", extra={"event": "http.unhandled"})
        return error_response(500, "Lỗi hệ thống, vui lòng thử lại sau (internal error).")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "service": name}

    @app.get("/readyz")
    def readyz():
        checks, ok = {}, True
        try:
            db.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"], ok = f"down: {type(exc).__name__}", False
        DEPENDENCY_UP.labels(name, "database").set(1 if checks["database"] == "ok" else 0)
        broker_ok, error = probe.check()
        DEPENDENCY_UP.labels(name, "broker").set(1 if broker_ok else 0)
        if broker_ok:
            checks["broker"] = "ok"
        elif broker_required:
            checks["broker"], ok = f"down: {error}", False
        else:
            checks["broker"] = f"down: {error} (not required: the outbox keeps events until it is back)"
        for check_name, check in (extra_ready_checks or {}).items():
            try:
                check()
                checks[check_name] = "ok"
            except Exception as exc:
                checks[check_name], ok = f"down: {type(exc).__name__}", False
        return {"status": "ready" if ok else "not ready", "checks": checks}, 200 if ok else 503

    @app.get("/metrics")
    def metrics():
        return Response(render_latest(), mimetype=CONTENT_TYPE_LATEST)

    return app, api


def current_db() -> Database:
    from flask import current_app

    return current_app.extensions["motcua.db"]


def current_settings():
    from flask import current_app

    return current_app.extensions["motcua.settings"]
