"""create_app(): payment's HTTP composition root."""
from __future__ import annotations

from servicekit.web import create_service_app

from .api import blp, gateway_blp, reports_blp
from .config import Settings


def create_app(settings: Settings | None = None):
    settings = settings or Settings.from_env()
    app, api = create_service_app(
        settings,
        title="Mot Cua payment (officer API)",
        description=(
            "Thanh toán lệ phí: one payment order per filed dossier, a dynamic VietQR when the fee is due "
            "(before processing, or after it once the result is ready), the bank's signed callbacks, expiry "
            "that asks the bank first, reconciliation, refunds, and the order's status, history and a daily "
            "report for officers of the dossier's agency."
        ),
    )
    for blueprint in (blp, gateway_blp, reports_blp):
        api.register_blueprint(blueprint)
    return app
