"""create_app(): payment's HTTP composition root."""
from __future__ import annotations

from servicekit.web import create_service_app

from .api import blp
from .config import Settings


def create_app(settings: Settings | None = None):
    settings = settings or Settings.from_env()
    app, api = create_service_app(
        settings,
        title="Mot Cua payment (officer API)",
        description=(
            "Thanh toán lệ phí: one payment order per filed dossier, a dynamic VietQR for fees due before "
            "processing, the order's status for officers of the dossier's agency."
        ),
    )
    api.register_blueprint(blp)
    return app
