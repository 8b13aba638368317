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


def handle_dossier_submitted(conn: Connection, envelope: dict, data: dict, *, tracking_url: str,
                             wake: Callable[[int], None] | None = None) -> None:
    created = use_cases.create_submitted_messages(conn, data, event_id=envelope["id"], tracking_url=tracking_url)
    if created and wake is not None:
        # The sender is woken only once the rows are committed (it could not see them before), and the
        # handler itself never waits on the network.
        after_commit(conn, functools.partial(wake, len(created)))


def build_subscription(settings: Settings, wake: Callable[[int], None] | None = None) -> Subscription:
    """The consumer's handlers; the worker passes its sender's `wake`, manage and tests need none."""
    return Subscription(CONSUMES, {
        "dossier.submitted.v1": functools.partial(
            handle_dossier_submitted, tracking_url=settings.tracking_url, wake=wake),
    })
