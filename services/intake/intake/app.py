"""create_app(): intake's HTTP composition root."""
from __future__ import annotations

from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix

from servicekit.files import FileStore
from servicekit.web import create_service_app, error_response

from .admin_api import admin_blp
from .api import UPLOAD_ENDPOINT, dossiers_blp, postal_blp, procedures_blp, uploads_blp
from .catalogue import ProcedureCatalogue
from .config import Settings
from .use_cases import RateLimited

# What a browser front end may send and read across origins.
_CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Correlation-ID"
_CORS_EXPOSE = "Location, Retry-After, X-Correlation-ID, Content-Disposition"
_MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around a file at the size limit


def create_app(settings: Settings | None = None):
    settings = settings or Settings.from_env()
    app, api = create_service_app(
        settings,
        officer_auth=False,  # citizens carry the access token of their dossier, declared below
        title="Mot Cua intake (citizen API)",
        description="Dịch vụ công trực tuyến: the procedure catalogue, uploads, filing a dossier, following it "
                    "and the citizen's actions on it.",
        multipart_endpoints=(UPLOAD_ENDPOINT,),
    )
    if settings.trusted_proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_hops)
    app.extensions["intake.catalogue"] = ProcedureCatalogue(settings.catalogue_cache_seconds)
    app.extensions["intake.files"] = FileStore(settings.uploads_dir)

    @app.before_request
    def _upload_size_limit():
        # JSON bodies keep the kit's 1 MiB limit; only the upload endpoint takes a file up to the upload limit.
        if request.endpoint == UPLOAD_ENDPOINT:
            request.max_content_length = settings.upload_max_bytes + _MULTIPART_OVERHEAD

    @app.errorhandler(RateLimited)
    def _rate_limited(exc: RateLimited):
        response = error_response(exc.status, exc.message)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    if settings.cors_origins:
        allowed = frozenset(settings.cors_origins)

        @app.after_request
        def _cors(response):
            origin = request.headers.get("Origin", "").rstrip("/")
            response.vary.add("Origin")
            if origin and (origin in allowed or "*" in allowed):
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Access-Control-Expose-Headers"] = _CORS_EXPOSE
                if request.method == "OPTIONS":
                    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                    response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
                    response.headers["Access-Control-Max-Age"] = "600"
            return response

    api.spec.components.security_scheme(
        "citizenToken", {"type": "http", "scheme": "bearer", "description": "access_token from filing or lookup"})
    api.spec.components.security_scheme(
        "officerJWT", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                       "description": "a clerk's JWT, for channel=counter filings"})
    api.register_blueprint(procedures_blp)
    api.register_blueprint(uploads_blp)
    api.register_blueprint(dossiers_blp)
    api.register_blueprint(postal_blp)
    # The catalogue sync's admin routes carry the kit's officer security ("bearer", as processing's do).
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    api.register_blueprint(admin_blp)
    return app
