"""create_app(): intake's HTTP composition root."""
from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

from servicekit.web import create_service_app, error_response

from .api import dossiers_blp, procedures_blp
from .catalogue import ProcedureCatalogue
from .config import Settings
from .use_cases import RateLimited


def create_app(settings: Settings | None = None):
    settings = settings or Settings.from_env()
    app, api = create_service_app(
        settings,
        officer_auth=False,  # citizens carry the access token of their dossier, declared below
        title="Mot Cua intake (citizen API)",
        description="Dịch vụ công trực tuyến: the procedure catalogue, filing a dossier and following it.",
    )
    if settings.trusted_proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_hops)
    app.extensions["intake.catalogue"] = ProcedureCatalogue(settings.catalogue_cache_seconds)

    @app.errorhandler(RateLimited)
    def _rate_limited(exc: RateLimited):
        response = error_response(exc.status, exc.message)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    api.spec.components.security_scheme(
        "citizenToken", {"type": "http", "scheme": "bearer", "description": "access_token from filing or lookup"})
    api.register_blueprint(procedures_blp)
    api.register_blueprint(dossiers_blp)
    return app
