"""handle_<event>: call a use case with the loaded payload (the kit supplies the transaction and inbox)."""
from sqlalchemy import Connection

from servicekit.consumer import Subscription

from . import use_cases
from .events import CONSUMES, PAYMENT_AND_SHIPMENT_EVENTS, PAYMENT_REQUESTED, PROCESSING_EVENTS, SHIPMENT_CREATED


def handle_payment_requested(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.record_payment_requested(conn, data)


def handle_shipment_created(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.record_shipment_created(conn, data)


def handle_processing_event(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.apply_processing_event(conn, envelope["type"], data)


def handle_payment_completed(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.apply_payment_event(conn, "paid", data, data["paid_at"])


def handle_payment_failed(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.note_payment_failed(conn, data)


def handle_payment_expired(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.apply_payment_event(conn, "expired", data, data["expired_at"])


def handle_payment_cancelled(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.apply_payment_event(conn, "cancelled", data, data["cancelled_at"])


def handle_payment_refunded(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.apply_payment_event(conn, "refunded", data, data["refunded_at"])


def handle_shipment_dispatched(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.apply_shipment_event(conn, "dispatched", data, data["dispatched_at"])


def handle_shipment_progressed(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.apply_shipment_event(conn, data["status"], data, data["at"])


def handle_shipment_delivered(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.apply_shipment_event(conn, "delivered", data, data["delivered_at"])


def handle_shipment_failed(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.apply_shipment_event(conn, "returned_to_sender", data, data["at"])


def handle_shipment_cancelled(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.apply_shipment_event(conn, "cancelled", data, data["cancelled_at"])


_PAYMENT_AND_SHIPMENT_HANDLERS = {
    "payment.completed.v1": handle_payment_completed,
    "payment.failed.v1": handle_payment_failed,
    "payment.expired.v1": handle_payment_expired,
    "payment.cancelled.v1": handle_payment_cancelled,
    "payment.refunded.v1": handle_payment_refunded,
    "shipment.dispatched.v1": handle_shipment_dispatched,
    "shipment.progressed.v1": handle_shipment_progressed,
    "shipment.delivered.v1": handle_shipment_delivered,
    "shipment.failed.v1": handle_shipment_failed,
    "shipment.cancelled.v1": handle_shipment_cancelled,
}
assert set(_PAYMENT_AND_SHIPMENT_HANDLERS) == set(PAYMENT_AND_SHIPMENT_EVENTS)

SUBSCRIPTION = Subscription(
    CONSUMES,
    {
        PAYMENT_REQUESTED.name: handle_payment_requested,
        SHIPMENT_CREATED.name: handle_shipment_created,
        **{name: handle_processing_event for name in PROCESSING_EVENTS},
        **_PAYMENT_AND_SHIPMENT_HANDLERS,
    },
)
