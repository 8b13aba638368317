"""create_app(): postal's HTTP composition root."""
from __future__ import annotations

from servicekit.db import Database, Doorbell
from servicekit.logs import configure_logging
from servicekit.web import create_service_app

from .api import quotes_blp, shipments_blp
from .config import Settings


def create_app(settings: Settings | None = None):
    settings = settings or Settings.from_env()
    configure_logging("postal", settings.kit.log_level)
    settings.kit.warn_dev_defaults()
    db = Database(settings.kit.database_url, doorbell=Doorbell(settings.kit.relay_doorbell))
    app, api = create_service_app(
        "postal", db=db, settings=settings, amqp_url=settings.kit.amqp_url,
        title="Mot Cua postal (quotes and shipments)",
        description=(
            "Bưu chính công ích: public quotes from the operator tariff and the citizen price policy in force "
            "on a day, and the return shipment of each dossier whose result goes back by post."
        ),
    )
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    api.register_blueprint(quotes_blp)
    api.register_blueprint(shipments_blp)
    return app
