"""handle_<event>: load the payload, call a use case (the kit supplies the transaction and inbox)."""
from __future__ import annotations

import functools
from typing import Callable

from sqlalchemy import Connection

from servicekit.consumer import Subscription
from servicekit.db import after_commit

from . import use_cases
from .config import Settings
from .events import CONSUMES


def _wake_after_commit(conn: Connection, created: list[str], wake: Callable[[int], None] | None) -> None:
    if created and wake is not None:
        # The sender is woken only once the rows are committed (it could not see them before), and the
        # handler itself never waits on the network.
        after_commit(conn, functools.partial(wake, len(created)))


def handle_dossier_submitted(conn: Connection, envelope: dict, data: dict, *, tracking_url: str,
                             wake: Callable[[int], None] | None = None) -> None:
    use_cases.remember_recipient(conn, data)
    created = use_cases.create_submitted_messages(conn, data, event_id=envelope["id"], tracking_url=tracking_url)
    _wake_after_commit(conn, created, wake)


def handle_payment_requested(conn: Connection, envelope: dict, data: dict, *, tracking_url: str,
                             wake: Callable[[int], None] | None = None) -> None:
    # Raises RecipientNotKnownYet when the dossier's own event has not been handled yet: the kit rolls
    # back (nothing is written, the inbox row included) and retries the event after a delay.
    created = use_cases.create_payment_messages(conn, data, event_id=envelope["id"], tracking_url=tracking_url)
    _wake_after_commit(conn, created, wake)


def build_subscription(settings: Settings, wake: Callable[[int], None] | None = None) -> Subscription:
    """The consumer's handlers; the worker passes its sender's `wake`, manage and tests need none."""
    return Subscription(CONSUMES, {
        "dossier.submitted.v1": functools.partial(
            handle_dossier_submitted, tracking_url=settings.tracking_url, wake=wake),
        "payment.requested.v1": functools.partial(
            handle_payment_requested, tracking_url=settings.tracking_url, wake=wake),
    })
