"""create_app(): postal's HTTP composition root."""
from __future__ import annotations

from servicekit.web import create_service_app

from .api import quotes_blp, shipments_blp
from .config import Settings


def create_app(settings: Settings | None = None):
    settings = settings or Settings.from_env()
    app, api = create_service_app(
        settings,
        title="Mot Cua postal (quotes and shipments)",
        description=(
            "Bưu chính công ích: public quotes from the operator tariff and the citizen price policy in force "
            "on a day, and the return shipment of each dossier whose result goes back by post."
        ),
    )
    api.register_blueprint(quotes_blp)
    api.register_blueprint(shipments_blp)
    return app
