"""create_app(): notify's HTTP composition root."""
from __future__ import annotations

from servicekit.web import create_service_app

from .api import notifications_blp, providers_blp, templates_blp
from .config import Settings


def create_app(settings: Settings | None = None):
    settings = settings or Settings.from_env()
    app, api = create_service_app(
        settings,
        title="Mot Cua notify (notifications, templates and delivery receipts)",
        description="Thông báo cho công dân qua SMS, Zalo và email; biên nhận của nhà cung cấp.",
    )
    api.register_blueprint(notifications_blp)
    api.register_blueprint(templates_blp)
    api.register_blueprint(providers_blp)
    return app
