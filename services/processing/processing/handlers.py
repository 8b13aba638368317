"""handle_<event>: load the payload, call a use case (the kit supplies the transaction and inbox)."""
from sqlalchemy import Connection

from servicekit.consumer import Subscription

from . import use_cases
from .events import CONSUMES


def handle_dossier_submitted(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.open_case(conn, data, actor=f"system:{envelope['type']}")


def handle_notification_sent(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.record_notification(conn, data, delivered=True, actor=f"system:{envelope['type']}")


def handle_notification_failed(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.record_notification(conn, data, delivered=False, actor=f"system:{envelope['type']}")


SUBSCRIPTION = Subscription(
    CONSUMES,
    {
        "dossier.submitted.v1": handle_dossier_submitted,
        "notification.sent.v1": handle_notification_sent,
        "notification.failed.v1": handle_notification_failed,
    },
)
