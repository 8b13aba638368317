"""handle_<event>: load the payload, call a use case (the kit supplies the transaction and inbox)."""
from functools import partial

from sqlalchemy import Connection

from servicekit.consumer import Subscription

from . import use_cases
from .config import Settings
from .events import CONSUMES


def handle_dossier_submitted(conn: Connection, envelope: dict, data: dict, *, settings: Settings) -> None:
    use_cases.open_payment_order(conn, data, settings=settings)


def handle_dossier_result_ready(conn: Connection, envelope: dict, data: dict, *, settings: Settings) -> None:
    use_cases.activate_deferred_order(conn, data, settings=settings)


def handle_dossier_closed(conn: Connection, envelope: dict, data: dict) -> None:
    """dossier.refused / dossier.withdrawn / dossier.stopped."""
    use_cases.close_for_dossier(conn, envelope["type"], data)


def create_subscription(settings: Settings) -> Subscription:
    """Handlers bound to the settings (bank account, order lifetime) they need; the kit calls (conn, envelope, data)."""
    return Subscription(CONSUMES, {
        "dossier.submitted.v1": partial(handle_dossier_submitted, settings=settings),
        "dossier.result_ready.v1": partial(handle_dossier_result_ready, settings=settings),
        "dossier.refused.v1": handle_dossier_closed,
        "dossier.withdrawn.v1": handle_dossier_closed,
        "dossier.stopped.v1": handle_dossier_closed,
    })
