"""handle_<event>: call a use case with the loaded payload (the kit supplies the transaction and inbox)."""
from sqlalchemy import Connection

from servicekit.consumer import Subscription

from . import use_cases
from .events import CONSUMES, PAYMENT_REQUESTED, SHIPMENT_CREATED


def handle_payment_requested(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.record_payment_requested(conn, data)


def handle_shipment_created(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.record_shipment_created(conn, data)


SUBSCRIPTION = Subscription(
    CONSUMES,
    {
        PAYMENT_REQUESTED.name: handle_payment_requested,
        SHIPMENT_CREATED.name: handle_shipment_created,
    },
)
