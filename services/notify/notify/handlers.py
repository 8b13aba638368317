"""handle_event: one handler for every consumed type (the kit supplies the transaction and inbox)."""
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


def handle_event(conn: Connection, envelope: dict, data: dict, *, settings: Settings,
                 wake: Callable[[int], None] | None = None) -> None:
    # Raises RecipientNotKnownYet for an event about a dossier whose dossier.submitted.v1 has not been
    # handled yet: the kit rolls back (the inbox row included) and retries the event after a delay.
    created = use_cases.notify_event(
        conn, envelope["type"], data, event_id=envelope["id"], portal_url=settings.portal_url,
        max_segments=settings.sms_max_segments,
    )
    _wake_after_commit(conn, created, wake)


def build_subscription(settings: Settings, wake: Callable[[int], None] | None = None) -> Subscription:
    """The consumer's handlers; the worker passes its sender's `wake`, manage and tests need none."""
    handler = functools.partial(handle_event, settings=settings, wake=wake)
    return Subscription(CONSUMES, {event_type.name: handler for event_type in CONSUMES})
