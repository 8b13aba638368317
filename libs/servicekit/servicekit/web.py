"""Flask helpers every service uses: one error shape, health, readiness, metrics, request logs."""
from __future__ import annotations

import logging
import time
import uuid
from typing import Callable

import pika
from flask import Flask, Response, g, jsonify, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, UnsupportedMediaType

from .db import Database, Doorbell
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


def error_response(status: int, message: str, errors: dict | None = None) -> Response:
    body = {"code": status, "status": _STATUS_TEXT.get(status, "Error"), "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


class BrokerProbe:
    """Readiness of the broker, cached briefly so /readyz under frequent probes costs little."""

    def __init__(self, amqp_url: str, ttl: float = 3.0):
        self.amqp_url = amqp_url
        self.ttl = ttl
        self._checked = 0.0
        self._ok = False
        self._error = ""

    def check(self) -> tuple[bool, str]:
        if time.monotonic() - self._checked < self.ttl:
            return self._ok, self._error
        try:
            params = connection_parameters(self.amqp_url, heartbeat=0, name="readyz")
            params.socket_timeout = 2
            conn = pika.BlockingConnection(params)
            conn.close()
            self._ok, self._error = True, ""
        except Exception as exc:
            self._ok, self._error = False, type(exc).__name__
        self._checked = time.monotonic()
        return self._ok, self._error


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
) -> tuple[Flask, Api]:
    """The common Flask + flask-smorest application of a service; it registers its blueprints on `api`.

    `settings` is the service's Settings: its `.kit` names the service, the database and the broker;
    an optional `.dev_defaults` lists the service's own secrets left at their development values.
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
    app.json.ensure_ascii = False
    api = Api(app)
    if officer_auth:
        api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    app.extensions["motcua.db"] = db
    app.extensions["motcua.settings"] = settings
    probe = BrokerProbe(amqp_url)

    @app.before_request
    def _start():
        g.started = time.perf_counter()
        g.correlation_id = request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
        g._log_tokens = (correlation_id.set(g.correlation_id), dossier_code.set(None))
        if (
            request.method in ("POST", "PUT", "PATCH")
            and request.content_length
            and request.endpoint not in multipart_endpoints
            and not request.is_json
        ):
            raise UnsupportedMediaType("send JSON with Content-Type: application/json")

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
        return error_response(exc.status, exc.message, exc.errors)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # flask-smorest's webargs parser raises 422 with field messages in exc.data["messages"].
        data = getattr(exc, "data", None) or {}
        errors = data.get("messages")
        message = data.get("message") or exc.description or _STATUS_TEXT.get(exc.code or 500, "Error")
        response = error_response(exc.code or 500, message, errors)
        for key, value in (data.get("headers") or {}).items():
            response.headers[key] = value
        return response

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
        broker_ok, error = probe.check()
        checks["broker"] = "ok" if broker_ok else f"down: {error}"
        ok = ok and broker_ok
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
