"""create_app(): payment's HTTP composition root."""
from __future__ import annotations

from servicekit.db import Database, Doorbell
from servicekit.logs import configure_logging
from servicekit.web import create_service_app

from .api import blp
from .config import Settings


def create_app(settings: Settings | None = None):
    settings = settings or Settings.from_env()
    configure_logging("payment", settings.kit.log_level)
    settings.kit.warn_dev_defaults(settings.dev_defaults)
    db = Database(settings.kit.database_url, doorbell=Doorbell(settings.kit.relay_doorbell))
    app, api = create_service_app(
        "payment", db=db, settings=settings, amqp_url=settings.kit.amqp_url,
        title="Mot Cua payment (officer API)",
        description=(
            "Thanh toán lệ phí: one payment order per filed dossier, a dynamic VietQR for fees due before "
            "processing, the order's status for officers of the dossier's agency."
        ),
    )
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    api.register_blueprint(blp)
    return app
