"""Notify's rules: functions that take a connection, never commit, and record events in the outbox."""
from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from servicekit.db import after_commit
from servicekit.events import rfc3339
from servicekit.logs import mask_digits
from servicekit.outbox import record_event
from servicekit.tables import now
from servicekit.text import normalize_phone

from . import queries
from .events import PUBLISHES
from .metrics import NOTIFICATIONS
from .models import CHANNELS, outbox
from .render import SAMPLE_VALUES, Template, payment_values, render, submitted_values

log = logging.getLogger(__name__)

# Message kinds: the event type without its version.
SUBMITTED = "dossier.submitted"
PAYMENT = "payment.requested"


def _count_after_commit(conn: Connection, channel: str, status: str) -> None:
    # Counted once the state change is durable, so a rolled-back transaction counts nothing.
    after_commit(conn, lambda: NOTIFICATIONS.labels(channel, status).inc())


# ---- templates (reference data) ----------------------------------------------------------------
def load_templates(conn: Connection, items: list[dict]) -> dict:
    """Insert new templates, update changed ones, leave the rest: running the seed twice changes nothing."""
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    for item in items:
        template = Template.from_json(item)
        if template.channel not in CHANNELS:
            raise ValueError(f"template {template.kind}/{template.channel}: unknown channel")
        render(template, SAMPLE_VALUES)  # a placeholder the renderer does not supply fails the seed, not an event
        columns = template.columns()
        row = queries.get_template_row(conn, template.kind, template.channel)
        if row is None:
            queries.insert_template(conn, **columns, updated_at=now())
            counts["inserted"] += 1
        elif any(getattr(row, name) != value for name, value in columns.items()):
            queries.update_template(conn, row.id, **columns, updated_at=now())
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    return counts


# ---- messages ----------------------------------------------------------------------------------
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _address(channel: str, applicant: dict) -> str | None:
    if channel in ("sms", "zalo"):
        return normalize_phone(applicant.get("phone") or "")
    email = (applicant.get("email") or "").strip()
    return email if len(email) <= 254 and _EMAIL.match(email) else None


def remember_recipient(conn: Connection, dossier: dict) -> None:
    """Keep who to tell about this dossier: later events (payment.requested.v1) name only its code.

    Written even when no channel was chosen, so those events find the dossier known and end quietly
    instead of being retried as if it had not arrived yet.
    """
    applicant = dossier["applicant"]
    queries.insert_recipient(
        conn, dossier_code=dossier["code"], agency_code=dossier["agency"]["code"], full_name=applicant["full_name"],
        phone=_address("sms", applicant), email=_address("email", applicant),
        notify_channels=json.dumps(list(dossier.get("notify_channels") or [])), created_at=now(),
    )


def create_submitted_messages(conn: Connection, dossier: dict, *, event_id: str, tracking_url: str) -> list[str]:
    """One `created` message per channel the applicant chose and can receive; no network I/O here.

    Returns the ids of the messages created now (none when the dossier already has them).
    """
    return _create_messages(
        conn, kind=SUBMITTED, code=dossier["code"], agency_code=dossier["agency"]["code"],
        channels=dossier.get("notify_channels") or [], applicant=dossier["applicant"],
        values=submitted_values(dossier, tracking_url), event_id=event_id,
    )


class RecipientNotKnownYet(Exception):
    """An event about a dossier whose dossier.submitted.v1 notify has not handled yet.

    Deliberately an ordinary exception, not MalformedEvent: the event is sound, only early (the
    dossier event may be held by another worker copy, or waiting in a retry queue after a failure),
    so the kit retries it after a delay and, should the dossier event never come, dead-letters it for
    replay instead of dropping the citizen's payment notice.
    """


def create_payment_messages(conn: Connection, payment: dict, *, event_id: str, tracking_url: str) -> list[str]:
    """One `created` message per channel the applicant chose at filing, telling them the fee to pay."""
    recipient = queries.get_recipient(conn, payment["dossier_code"])
    if recipient is None:
        raise RecipientNotKnownYet(payment["dossier_code"])
    return _create_messages(
        conn, kind=PAYMENT, code=payment["dossier_code"], agency_code=recipient.agency_code,
        channels=json.loads(recipient.notify_channels), applicant={"phone": recipient.phone, "email": recipient.email},
        values=payment_values(payment, recipient.full_name, tracking_url), event_id=event_id,
    )


def _create_messages(conn: Connection, *, kind: str, code: str, agency_code: str, channels: list[str],
                     applicant: dict, values: dict[str, str], event_id: str) -> list[str]:
    """The ids of the messages of this kind created now; the unique (dossier, kind, channel) key makes a
    re-published event create none."""
    wanted = [c for c in dict.fromkeys(channels) if c in CHANNELS]
    for unknown in set(channels) - set(CHANNELS):
        log.warning("unknown notification channel skipped", extra={"event": "notify.channel_unknown", "channel": unknown})
    if not wanted:
        return []
    by_channel = {row.channel: Template.from_row(row) for row in queries.list_templates(conn, kind)}
    moment = now()
    created = []
    for channel in wanted:
        to = _address(channel, applicant)
        if to is None:
            log.info("applicant cannot receive on this channel",
                     extra={"event": "notify.no_address", "channel": channel})
            continue
        template = by_channel.get(channel)
        if template is None:
            # Reference data missing is a deployment error: fail the event so it is retried, then
            # dead-lettered for replay once the seed has run; never drop it silently.
            raise LookupError(f"no template for {kind}/{channel}: run `python -m notify.manage seed`")
        rendered = render(template, values)
        message_id = str(uuid.uuid4())
        inserted = queries.insert_message(
            conn, id=message_id, dossier_code=code, agency_code=agency_code, kind=kind,
            channel=channel, to_address=to, subject=rendered.subject, text=rendered.text,
            zalo_template_id=rendered.zalo_template_id,
            params=json.dumps(rendered.params, ensure_ascii=False) if rendered.params is not None else None,
            event_id=event_id, status="created", attempts=0, next_attempt_at=moment,
            created_at=moment, updated_at=moment,
        )
        if inserted:
            created.append(message_id)
            _count_after_commit(conn, channel, "created")
            log.info("message created", extra={"event": "notify.message_created", "message_id": message_id,
                                               "kind": kind, "channel": channel, "to": mask_digits(to)})
    return created


# ---- outcomes of a send ------------------------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    """A message a sender holds while it talks to the provider."""

    id: str
    dossier_code: str
    kind: str
    channel: str
    to_address: str
    subject: str | None
    text: str
    zalo_template_id: str | None
    params: dict | None
    attempts: int

    @classmethod
    def from_row(cls, row) -> "Claimed":
        return cls(
            id=row.id, dossier_code=row.dossier_code, kind=row.kind, channel=row.channel,
            to_address=row.to_address, subject=row.subject, text=row.text,
            zalo_template_id=row.zalo_template_id, params=json.loads(row.params) if row.params else None,
            attempts=row.attempts,
        )


def _publish_failed(conn: Connection, message, *, attempts: int, reason: str, moment: datetime) -> None:
    record_event(
        conn, outbox, PUBLISHES["notification.failed.v1"],
        {"message_id": message.id, "dossier_code": message.dossier_code, "kind": message.kind,
         "channel": message.channel, "attempts": attempts, "reason": reason[:500], "failed_at": rfc3339(moment)},
        source="notify", subject=message.dossier_code,
    )
    _count_after_commit(conn, message.channel, "failed")


def record_sent(conn: Connection, message: Claimed, *, sender_id: str, moment: datetime,
                provider_status: str | None) -> str:
    state = queries.mark_sent(conn, message.id, sender_id, moment=moment, provider_status=provider_status)
    if state == "lost":
        # Our lease ran out mid-send and the message is queued again: whoever sends it next reports it.
        log.warning("send answered after the lease expired", extra={"event": "notify.lease_lost", "message_id": message.id})
        return state
    record_event(
        conn, outbox, PUBLISHES["notification.sent.v1"],
        {"message_id": message.id, "dossier_code": message.dossier_code, "kind": message.kind,
         "channel": message.channel, "attempts": message.attempts, "sent_at": rfc3339(moment)},
        source="notify", subject=message.dossier_code,
    )
    _count_after_commit(conn, message.channel, "sent")
    return state


def record_retry(conn: Connection, message: Claimed, *, sender_id: str, moment: datetime, next_attempt_at: datetime,
                 error: str, max_attempts: int) -> str:
    """Back to `created` for a later attempt, or `failed` once the attempts are used up."""
    if message.attempts >= max_attempts:
        return record_failure(conn, message, sender_id=sender_id, moment=moment,
                              reason=f"gave up after {message.attempts} attempts: {error}")
    if queries.schedule_retry(conn, message.id, sender_id, moment=moment, next_attempt_at=next_attempt_at, error=error):
        _count_after_commit(conn, message.channel, "retried")
        return "retry"
    return "lost"


def record_failure(conn: Connection, message: Claimed, *, sender_id: str, moment: datetime, reason: str) -> str:
    if not queries.mark_failed(conn, message.id, moment=moment, error=reason, sender_id=sender_id):
        return "lost"
    _publish_failed(conn, message, attempts=message.attempts, reason=reason, moment=moment)
    log.warning("message failed", extra={"event": "notify.message_failed", "message_id": message.id,
                                         "channel": message.channel, "reason": reason[:300]})
    return "failed"


def release_expired_leases(conn: Connection, *, moment: datetime, max_attempts: int) -> int:
    """A sender that died mid-send leaves its messages `sending`: put them back (or fail them when they
    have used up their attempts, so a message that kills its sender cannot loop forever)."""
    released = 0
    for row in queries.find_expired_leases(conn, moment):
        if row.attempts >= max_attempts:
            reason = f"gave up after {row.attempts} attempts: the sender stopped before recording an answer"
            if queries.mark_failed(conn, row.id, moment=moment, error=reason, sender_id=row.claimed_by):
                _publish_failed(conn, row, attempts=row.attempts, reason=reason, moment=moment)
        elif queries.release_lease(conn, row.id, row.claimed_by, moment=moment):
            released += 1
            log.warning("message lease expired; queued again", extra={"event": "notify.lease_expired", "message_id": row.id})
    return released


# ---- receipts ----------------------------------------------------------------------------------
def apply_receipt(conn: Connection, receipt: dict) -> str:
    """'applied', 'duplicate' (this receipt was seen before) or 'ignored' (the message is not in flight)."""
    moment = now()
    if not queries.insert_receipt(
        conn, event_id=receipt["event_id"], message_id=receipt["message_id"], status=receipt["status"],
        at=receipt["at"], received_at=moment, outcome="applied",
    ):
        return "duplicate"
    message = queries.get_message(conn, receipt["message_id"])
    if message is None or not queries.set_receipt_status(conn, message.id, receipt["status"], moment=moment):
        queries.set_receipt_outcome(conn, receipt["event_id"], "ignored")
        log.info("receipt for a message not in flight ignored", extra={
            "event": "notify.receipt_ignored", "message_id": receipt["message_id"],
            "receipt_status": receipt["status"], "message_status": message.status if message else None,
        })
        return "ignored"
    if receipt["status"] == "failed":
        _publish_failed(conn, message, attempts=message.attempts, reason="the gateway reported the message undeliverable",
                        moment=moment)
    else:
        _count_after_commit(conn, message.channel, "delivered")
    return "applied"
