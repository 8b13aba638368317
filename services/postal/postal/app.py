"""create_app(): postal's HTTP composition root."""
from __future__ import annotations

from servicekit.web import create_service_app

from .api import carrier_blp, places_blp, quotes_blp, shipments_blp, statements_blp
from .config import Settings


def create_app(settings: Settings | None = None):
    settings = settings or Settings.from_env()
    app, api = create_service_app(
        settings,
        title="Mot Cua postal (quotes and shipments)",
        description=(
            "Bưu chính công ích: public quotes from the agency's and the citizen's addresses (zones of the "
            "34-province map), the operator tariff and the citizen price policy in force on a day; the return "
            "shipment of each dossier whose result goes back by post, its dispatch order to the operator "
            "(docs/postal-dispatch.md), the operator's signed status reports, and each agency's monthly statement."
        ),
    )
    api.register_blueprint(quotes_blp)
    api.register_blueprint(places_blp)
    api.register_blueprint(shipments_blp)
    api.register_blueprint(carrier_blp)
    api.register_blueprint(statements_blp)
    return app
