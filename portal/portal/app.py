"""The portal's composition root: settings, sessions, CSRF, the Content Security Policy, error pages, health."""
from __future__ import annotations

import logging
import secrets
import time
import uuid

from flask import Flask, g, render_template, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import pass_context, ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.exceptions import HTTPException

from servicekit.logs import configure_logging, correlation_id

from . import formats, oidc
from .api import ApiDown, Apis
from .config import Settings
from .sessions import SqliteSessionInterface

log = logging.getLogger(__name__)
MAX_UPLOAD = 10 * 1024 * 1024  # intake and processing take files up to 10 MiB


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    configure_logging("portal", settings.log_level)
    for name in settings.dev_defaults:
        log.warning("secret left at its development default", extra={"event": "config.dev_secret", "setting": name})
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_UPLOAD * 3 + 64 * 1024,
        SESSION_COOKIE_NAME="motcua_portal",
        SESSION_COOKIE_SECURE=not settings.development,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=False,
    )
    app.extensions["portal.settings"] = settings
    app.extensions["portal.apis"] = Apis(settings)
    app.extensions["portal.oidc"] = oidc.Provider(settings.oidc) if settings.oidc else None
    if not settings.development and not settings.oidc:
        log.warning("no officer sign-in: PORTAL_OIDC_ISSUER is not set", extra={"event": "config.no_oidc"})
    app.session_interface = SqliteSessionInterface(settings.session_db, settings.session_hours * 3600)
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(app.root_path + "/templates"),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ])
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    formats.install(app)
    CSRFProtect(app)

    @app.before_request
    def _start():
        g.started = time.perf_counter()
        g.csp_nonce = secrets.token_urlsafe(16)
        g.correlation_id = request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
        g._log_token = correlation_id.set(g.correlation_id)

    @app.after_request
    def _headers(response):
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{g.get('csp_nonce', '')}'; "
            "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        if request.endpoint not in ("static", "healthz", "readyz"):
            log.info("request", extra={
                "event": "http.request", "method": request.method,
                "path": request.url_rule.rule if request.url_rule else "unmatched",
                "status": response.status_code, "ms": round((time.perf_counter() - g.get("started", 0)) * 1000, 2)})
        return response

    @app.teardown_request
    def _reset(_exc):
        token = g.pop("_log_token", None)
        if token:
            correlation_id.reset(token)

    @pass_context
    def error_for(context, name):
        message = (context.get("errors") or {}).get(name)
        return {"text": message, "visuallyHiddenText": "Lỗi"} if message else None

    def nav_items():
        if session.get("officer"):
            return [("officer.queue", "Hồ sơ cần xử lý"), ("officer.stats", "Chỉ số 766"), ("officer.sign_out_page", "Đăng xuất")]
        items = [("citizen.start", "Tìm thủ tục"), ("tracking.lookup", "Tra cứu hồ sơ")]
        if settings.development:
            items.append(("officer.sign_in", "Cán bộ đăng nhập"))
        elif settings.oidc:
            items.append(("oidc.start", "Cán bộ đăng nhập"))
        return items

    app.jinja_env.globals.update(error_for=error_for, nav_items=nav_items,
                                  now_vn=lambda: formats.datetime.now(formats.VN).strftime("%H:%M, %d/%m/%Y"))

    @app.context_processor
    def _globals():
        return {"cspNonce": g.get("csp_nonce"), "province": settings.province, "settings": settings,
                "officer": _officer_from_session(),
                "flash_message": session.pop("flash", None) if request.method == "GET" else None}

    @app.errorhandler(ApiDown)
    def _api_down(exc: ApiDown):
        return render_template("errors/busy.html"), 503

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return render_template("errors/csrf.html"), 400

    @app.errorhandler(413)
    def _too_large(exc):
        return render_template("errors/too_large.html"), 413

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.code == 404:
            return render_template("errors/not_found.html"), 404
        if exc.code == 405:
            return render_template("errors/not_found.html"), 405
        return render_template("errors/problem.html"), exc.code or 500

    @app.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unhandled error", extra={"event": "http.unhandled"})
        return render_template("errors/problem.html"), 500

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "service": "portal"}

    @app.get("/readyz")
    def readyz():
        apis = app.extensions["portal.apis"]
        checks, ok = {}, True
        for service in (apis.intake, apis.processing):
            try:
                service.get("/healthz")
                checks[service.name] = "ok"
            except Exception as exc:  # ApiDown, or a 4xx from something that is not our service
                checks[service.name], ok = f"down: {type(exc).__name__}", False
        return {"status": "ready" if ok else "not ready", "checks": checks}, 200 if ok else 503

    from . import citizen, filing, officer, tracking

    app.register_blueprint(citizen.bp)
    app.register_blueprint(filing.bp)
    app.register_blueprint(tracking.bp)
    app.register_blueprint(officer.bp)
    app.register_blueprint(oidc.bp)
    app.extensions["csrf"].exempt("portal.app.healthz")
    return app


def _officer_from_session():
    from flask import session

    return session.get("officer")
