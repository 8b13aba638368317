"""create_app(): notify's HTTP composition root."""
from __future__ import annotations

from servicekit.db import Database, Doorbell
from servicekit.logs import configure_logging
from servicekit.web import create_service_app

from .api import messages_blp, providers_blp
from .config import Settings


def create_app(settings: Settings | None = None):
    settings = settings or Settings.from_env()
    configure_logging("notify", settings.kit.log_level)
    settings.warn_dev_defaults()
    # Receipts that fail a message write notification.failed.v1: the doorbell wakes the worker's relay.
    db = Database(settings.kit.database_url, doorbell=Doorbell(settings.kit.relay_doorbell))
    app, api = create_service_app(
        "notify", db=db, settings=settings, amqp_url=settings.kit.amqp_url,
        title="Mot Cua notify (messages and delivery receipts)",
        description="Thông báo cho công dân qua SMS, Zalo và email; biên nhận của nhà cung cấp.",
    )
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    api.register_blueprint(messages_blp)
    api.register_blueprint(providers_blp)
    return app
