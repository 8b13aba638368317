"""Every read and write of notify's tables, as plain functions taking a connection."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from .models import delivery_attempts, messages, receipts, recipients, template_versions, templates

# A receipt means something only while the gateway may hold the message: being sent, sent, or waiting
# to be retried after an attempt whose answer never came (a timeout: the gateway may have stored it, and
# its receipt then spares the citizen a second copy).
IN_FLIGHT = sa.or_(
    messages.c.status.in_(("sending", "sent")),
    sa.and_(messages.c.status == "created", messages.c.attempts > 0),
)


def _insert(conn: Connection, table: sa.Table):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


# ---- recipients --------------------------------------------------------------------------------
def insert_recipient(conn: Connection, **values) -> bool:
    """False when the dossier's recipient is already known: the first dossier.submitted.v1 wins, as it
    does for the messages."""
    result = conn.execute(
        _insert(conn, recipients).values(**values).on_conflict_do_nothing(index_elements=["dossier_code"])
    )
    return result.rowcount == 1


def get_recipient(conn: Connection, dossier_code: str):
    return conn.execute(sa.select(recipients).where(recipients.c.dossier_code == dossier_code)).first()


def update_dossier_state(conn: Connection, dossier_code: str, *, seq: int, status: str, at: datetime) -> bool:
    """Move the dossier's state forward; the seq condition keeps a racing older event from moving it back."""
    return conn.execute(
        recipients.update()
        .where(recipients.c.dossier_code == dossier_code, recipients.c.last_seq < seq)
        .values(last_seq=seq, status=status[:30], status_at=at)
    ).rowcount == 1


# ---- templates ---------------------------------------------------------------------------------
def list_templates(conn: Connection, kind: str | None = None, channel: str | None = None):
    query = sa.select(templates).order_by(templates.c.kind, templates.c.channel)
    if kind:
        query = query.where(templates.c.kind == kind)
    if channel:
        query = query.where(templates.c.channel == channel)
    return conn.execute(query).all()


def insert_template_version(conn: Connection, **values) -> None:
    conn.execute(template_versions.insert().values(**values))


def list_template_versions(conn: Connection, kind: str, channel: str):
    return conn.execute(
        sa.select(template_versions)
        .where(template_versions.c.kind == kind, template_versions.c.channel == channel)
        .order_by(template_versions.c.version.desc())
    ).all()


def get_template_row(conn: Connection, kind: str, channel: str):
    return conn.execute(
        sa.select(templates).where(templates.c.kind == kind, templates.c.channel == channel)
    ).first()


def insert_template(conn: Connection, **values) -> None:
    conn.execute(templates.insert().values(**values))


def update_template(conn: Connection, template_id: int, **values) -> None:
    conn.execute(templates.update().where(templates.c.id == template_id).values(**values))


# ---- messages ----------------------------------------------------------------------------------
def insert_message(conn: Connection, **values) -> bool:
    """False when the dossier already has this kind of message on this channel (the unique key decides,
    so two consumers racing on a re-published event still make one message)."""
    result = conn.execute(
        _insert(conn, messages).values(**values)
        .on_conflict_do_nothing(index_elements=["dossier_code", "kind", "channel", "occurrence"])
    )
    return result.rowcount == 1


def get_message(conn: Connection, message_id: str):
    return conn.execute(sa.select(messages).where(messages.c.id == message_id)).first()


def list_messages(conn: Connection, dossier_code: str, agency: str):
    return conn.execute(
        sa.select(messages)
        .where(messages.c.dossier_code == dossier_code, messages.c.agency_code == agency)
        .order_by(messages.c.created_at, messages.c.channel)
    ).all()


def _claim_statement(postgresql: bool):
    """The claim, built once per dialect: an alias and its column proxies built per call cost more CPU than the
    query itself (py-spy on notify's worker under load: Column._make_proxy was the top function)."""
    # In order per dossier and channel: a message waits while an older one of its dossier is still to be sent
    # (a retry after a gateway outage must not be overtaken by the notice that followed it).
    older = messages.alias("older")
    overtaking = sa.exists().where(
        older.c.dossier_code == messages.c.dossier_code, older.c.channel == messages.c.channel,
        older.c.status.in_(("created", "sending")), older.c.created_at < messages.c.created_at)
    pick = (
        sa.select(messages.c.id)
        .where(messages.c.status == "created", messages.c.next_attempt_at <= sa.bindparam("moment"), ~overtaking)
        .order_by(messages.c.next_attempt_at)
        .limit(1)
    )
    if postgresql:
        pick = pick.with_for_update(skip_locked=True)
    # `id = (scalar subquery)`, not `id IN (subquery)`: PostgreSQL may run an IN subquery once per
    # candidate row, and with SKIP LOCKED each run can pick a different row, claiming several at once.
    return (
        messages.update()
        .where(messages.c.id == pick.scalar_subquery(), messages.c.status == "created")
        .values(status="sending", claimed_by=sa.bindparam("sender_id"), lease_until=sa.bindparam("lease_until"),
                attempts=messages.c.attempts + 1, updated_at=sa.bindparam("moment"))
        .returning(
            messages.c.id, messages.c.dossier_code, messages.c.kind, messages.c.channel, messages.c.to_address,
            messages.c.subject, messages.c.text, messages.c.zalo_template_id, messages.c.params,
            messages.c.attempts, messages.c.html,
        )
    )


_CLAIM = {False: _claim_statement(False), True: _claim_statement(True)}


def claim_next(conn: Connection, *, sender_id: str, moment: datetime, lease_until: datetime):
    """Take one due message for this sender, or None. The status condition in the UPDATE is what makes
    two senders safe: only one of them turns a given row from created to sending."""
    statement = _CLAIM[conn.dialect.name == "postgresql"]
    return conn.execute(statement, {"sender_id": sender_id, "moment": moment, "lease_until": lease_until}).first()


def _ours(message_id: str, sender_id: str):
    return (messages.c.id == message_id, messages.c.claimed_by == sender_id)


def mark_sent(conn: Connection, message_id: str, sender_id: str, *, moment: datetime, provider_status: str | None) -> str:
    """'sent'; 'overtaken' when the gateway's receipt arrived before we recorded its 202; 'lost' when the
    lease ran out and the message went back to the queue."""
    values = dict(claimed_by=None, lease_until=None, sent_at=moment, updated_at=moment,
                  provider_status=provider_status, last_error=None)
    done = conn.execute(
        messages.update().where(*_ours(message_id, sender_id), messages.c.status == "sending")
        .values(status="sent", **values)
    ).rowcount
    if done:
        return "sent"
    overtaken = conn.execute(
        messages.update().where(*_ours(message_id, sender_id), messages.c.status.in_(("delivered", "failed")))
        .values(**values)
    ).rowcount
    return "overtaken" if overtaken else "lost"


def schedule_retry(conn: Connection, message_id: str, sender_id: str, *, moment: datetime, next_attempt_at: datetime,
                   error: str) -> bool:
    return conn.execute(
        messages.update().where(*_ours(message_id, sender_id), messages.c.status == "sending")
        .values(status="created", claimed_by=None, lease_until=None, next_attempt_at=next_attempt_at,
                last_error=error, updated_at=moment)
    ).rowcount == 1


def mark_failed(conn: Connection, message_id: str, *, moment: datetime, error: str, sender_id: str | None = None,
                from_statuses: tuple[str, ...] = ("sending",)) -> bool:
    where = [messages.c.id == message_id, messages.c.status.in_(from_statuses)]
    if sender_id is not None:
        where.append(messages.c.claimed_by == sender_id)
    return conn.execute(
        messages.update().where(*where)
        .values(status="failed", claimed_by=None, lease_until=None, failed_at=moment, last_error=error,
                updated_at=moment)
    ).rowcount == 1


def find_expired_leases(conn: Connection, moment: datetime):
    return conn.execute(
        sa.select(messages.c.id, messages.c.dossier_code, messages.c.kind, messages.c.channel,
                  messages.c.attempts, messages.c.claimed_by)
        .where(messages.c.status == "sending", messages.c.lease_until < moment)
    ).all()


def release_lease(conn: Connection, message_id: str, claimed_by: str, *, moment: datetime) -> bool:
    return conn.execute(
        messages.update().where(*_ours(message_id, claimed_by), messages.c.status == "sending")
        .values(status="created", claimed_by=None, lease_until=None, next_attempt_at=moment,
                last_error="lease expired: the sender stopped before recording an answer", updated_at=moment)
    ).rowcount == 1


def count_pending(conn: Connection) -> tuple[int, datetime | None]:
    return tuple(conn.execute(
        sa.select(sa.func.count(), sa.func.min(messages.c.created_at))
        .where(messages.c.status.in_(("created", "sending")))
    ).one())


def set_receipt_status(conn: Connection, message_id: str, status: str, *, moment: datetime) -> bool:
    values = {"status": status, "updated_at": moment}
    values["delivered_at" if status == "delivered" else "failed_at"] = moment
    if status == "failed":
        values["last_error"] = "the gateway reported the message undeliverable"
    return conn.execute(
        messages.update().where(messages.c.id == message_id, IN_FLIGHT).values(**values)
    ).rowcount == 1


# ---- attempts and receipts --------------------------------------------------------------------
def insert_attempt(conn: Connection, **values) -> None:
    conn.execute(delivery_attempts.insert().values(**values))


def list_attempts(conn: Connection, message_id: str):
    return conn.execute(
        sa.select(delivery_attempts).where(delivery_attempts.c.message_id == message_id)
        .order_by(delivery_attempts.c.id)
    ).all()


def list_receipts(conn: Connection, message_ids: list[str]):
    if not message_ids:
        return []
    return conn.execute(
        sa.select(receipts).where(receipts.c.message_id.in_(message_ids)).order_by(receipts.c.received_at)
    ).all()


def list_attempts_of(conn: Connection, message_ids: list[str]):
    if not message_ids:
        return []
    return conn.execute(
        sa.select(delivery_attempts).where(delivery_attempts.c.message_id.in_(message_ids))
        .order_by(delivery_attempts.c.id)
    ).all()


def insert_receipt(conn: Connection, **values) -> bool:
    """False when this receipt (by the gateway's event id) was seen before."""
    result = conn.execute(_insert(conn, receipts).values(**values).on_conflict_do_nothing(index_elements=["event_id"]))
    return result.rowcount == 1


def set_receipt_outcome(conn: Connection, event_id: str, outcome: str) -> None:
    conn.execute(receipts.update().where(receipts.c.event_id == event_id).values(outcome=outcome))
