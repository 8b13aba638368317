"""handle_<event>: load the payload, call a use case (the kit supplies the transaction and inbox)."""
from sqlalchemy import Connection

from servicekit.consumer import Subscription

from . import use_cases
from .config import Settings
from .events import CONSUMES


def _actor(envelope: dict) -> str:
    return f"system:{envelope['type']}"


def handle_dossier_submitted(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.open_case(conn, data, actor=_actor(envelope))


def handle_dossier_supplemented(conn: Connection, envelope: dict, data: dict) -> None:
    # Working hours are configuration; the admin's extra days come from the table, read in this transaction.
    calendar = use_cases.load_calendar(conn, _working_hours())
    use_cases.supplement_arrived(conn, data, actor=_actor(envelope), calendar=calendar)


def handle_withdrawal_requested(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.withdrawal_requested(conn, data, actor=_actor(envelope))


def handle_dossier_rated(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.dossier_rated(conn, data, actor=_actor(envelope))


def handle_payment_completed(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.payment_completed(conn, data, actor=_actor(envelope))


def handle_payment_expired(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.payment_expired(conn, data, actor=_actor(envelope))


def handle_shipment_delivered(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.shipment_delivered(conn, data, actor=_actor(envelope))


def handle_shipment_failed(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.shipment_failed(conn, data, actor=_actor(envelope))


def handle_notification_sent(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.record_notification(conn, data, delivered=True, actor=_actor(envelope))


def handle_notification_failed(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.record_notification(conn, data, delivered=False, actor=_actor(envelope))


_HOURS: list[str] = []


def _working_hours() -> str:
    if not _HOURS:
        _HOURS.append(Settings.from_env().working_hours)
    return _HOURS[0]


SUBSCRIPTION = Subscription(
    CONSUMES,
    {
        "dossier.submitted.v1": handle_dossier_submitted,
        "dossier.supplemented.v1": handle_dossier_supplemented,
        "dossier.withdrawal_requested.v1": handle_withdrawal_requested,
        "dossier.rated.v1": handle_dossier_rated,
        "payment.completed.v1": handle_payment_completed,
        "payment.expired.v1": handle_payment_expired,
        "shipment.delivered.v1": handle_shipment_delivered,
        "shipment.failed.v1": handle_shipment_failed,
        "notification.sent.v1": handle_notification_sent,
        "notification.failed.v1": handle_notification_failed,
    },
)
