"""handle_<event>: load the payload, call a use case (the kit supplies the transaction and inbox)."""
from __future__ import annotations

from sqlalchemy import Connection

from servicekit.consumer import Subscription

from . import use_cases
from .config import Settings
from .events import CONSUMES

_settings: Settings | None = None


def configure(settings: Settings) -> None:
    """The worker (and tests) give the handlers their settings; otherwise they are read from the environment."""
    global _settings
    _settings = settings


def settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def handle_dossier_submitted(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.open_return_shipment(conn, settings(), data)


def handle_result_ready(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.result_ready(conn, settings(), data)


def handle_refused(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.dossier_closed(conn, data, "refused")


def handle_withdrawn(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.dossier_closed(conn, data, "withdrawn")


def handle_stopped(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.dossier_closed(conn, data, "stopped")


def handle_payment_completed(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.payment_completed(conn, settings(), data)


SUBSCRIPTION = Subscription(CONSUMES, {
    "dossier.submitted.v1": handle_dossier_submitted,
    "dossier.result_ready.v1": handle_result_ready,
    "dossier.refused.v1": handle_refused,
    "dossier.withdrawn.v1": handle_withdrawn,
    "dossier.stopped.v1": handle_stopped,
    "payment.completed.v1": handle_payment_completed,
})
