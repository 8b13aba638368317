"""Retention of the kit's tables: inbox rows and sent outbox rows past their age, deleted in short batches."""
from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from .db import Database
from .tables import now

log = logging.getLogger(__name__)

BATCH = 5000  # rows per transaction: SQLite holds its one write lock only this long


def prune(db: Database, *, inbox: sa.Table | None, outbox: sa.Table | None, inbox_hours: int,
          outbox_hours: int) -> dict[str, int]:
    """Delete inbox rows received, and outbox rows sent, longer ago than their retention; unsent rows stay.

    An event redelivered after its inbox row is gone would be handled again: the inbox retention must stay
    far above the longest time a message can wait (a dead letter replayed a week later included).
    """
    removed = {}
    if inbox is not None:
        cutoff = now() - timedelta(hours=inbox_hours)
        key = sa.tuple_(inbox.c.consumer, inbox.c.message_id)
        removed["inbox"] = _delete_in_batches(
            db, inbox, lambda: sa.select(inbox.c.consumer, inbox.c.message_id)
            .where(inbox.c.received_at < cutoff).limit(BATCH), key,
        )
    if outbox is not None:
        cutoff = now() - timedelta(hours=outbox_hours)
        removed["outbox"] = _delete_in_batches(
            db, outbox, lambda: sa.select(outbox.c.id)
            .where(outbox.c.sent_at.is_not(None)).where(outbox.c.sent_at < cutoff).limit(BATCH), outbox.c.id,
        )
    if any(removed.values()):
        log.info("retention pruned the kit's tables", extra={"event": "kit.retention", **removed})
    return removed


def _delete_in_batches(db: Database, table: sa.Table, pick, key) -> int:
    total = 0
    while True:
        with db.transaction() as conn:
            picked = conn.execute(pick()).all()
            if not picked:
                return total
            keys = [tuple(row) if len(row) > 1 else row[0] for row in picked]
            conn.execute(table.delete().where(key.in_(keys)))
        total += len(picked)
        if len(picked) < BATCH:
            return total
