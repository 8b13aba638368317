"""handle_<event>: load the payload, call a use case (the kit supplies the transaction and inbox)."""
from sqlalchemy import Connection

from servicekit.consumer import Subscription

from . import use_cases
from .events import CONSUMES


def handle_dossier_submitted(conn: Connection, envelope: dict, data: dict) -> None:
    use_cases.open_return_shipment(conn, data)


SUBSCRIPTION = Subscription(CONSUMES, {"dossier.submitted.v1": handle_dossier_submitted})
