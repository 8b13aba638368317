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
from servicekit.web import Invalid, NotFound

from . import queries
from .events import CONSUMES, PUBLISHES
from .metrics import NOTIFICATIONS
from .models import outbox
from .render import (CHANNELS, Rendered, Template, TemplateInvalid, Unsendable, Who, check, render,
                     values_for)

log = logging.getLogger(__name__)

# Message kinds: the event type without its version.
SUBMITTED = "dossier.submitted"
PAYMENT = "payment.requested"
KINDS = {event_type.name: event_type.name.rsplit(".", 1)[0] for event_type in CONSUMES}

# Dossier statuses after which a notice about the dossier's progress no longer matters.
FINISHED = ("refused", "withdrawn", "stopped", "result_ready", "returned")
CLOSED = ("refused", "withdrawn", "stopped")
# Notices that are only worth sending while the dossier is still open (or awaiting its result).
ONLY_WHILE_OPEN = {"dossier.overdue": FINISHED, "dossier.apology_issued": FINISHED,
                   "payment.requested": CLOSED, "payment.expired": CLOSED}

# A stand-in applicant for rendering a template against its event's example (at save time).
SAMPLE_WHO = Who(full_name="Đặng Thị Ngọc Ánh", procedure_name="Đăng ký khai sinh",
                 agency_name="UBND phường Phúc Yên", agency_code="000.00.06.H56")


def _count_after_commit(conn: Connection, channel: str, status: str) -> None:
    # Counted once the state change is durable, so a rolled-back transaction counts nothing.
    after_commit(conn, lambda: NOTIFICATIONS.labels(channel, status).inc())


# ---- templates (reference data, changed by admins) --------------------------------------------------
def event_type_of(kind: str) -> str:
    for name, known in KINDS.items():
        if known == kind:
            return name
    raise NotFound(f"no event kind {kind!r}; known: {', '.join(sorted(KINDS.values()))}")


def example_values(kind: str, portal_url: str) -> dict[str, str]:
    """The placeholder values of `kind` for its event's registered example: what a template must render."""
    event_type = CONSUMES[event_type_of(kind)]
    return values_for(kind, event_type.load(event_type.example), SAMPLE_WHO, portal_url)


def checked(template: Template, *, portal_url: str, max_segments: int) -> Template:
    """The template when it renders against its event's example; TemplateInvalid otherwise."""
    if template.channel not in CHANNELS:
        raise TemplateInvalid({"channel": [f"must be one of {', '.join(CHANNELS)}"]})
    check(template, example_values(template.kind, portal_url), max_segments=max_segments)
    return template


def _store_version(conn: Connection, template: Template, *, version: int, by: str, moment: datetime) -> None:
    columns = template.columns()
    columns.pop("limits")
    queries.insert_template_version(conn, **columns, version=version, created_at=moment, created_by=by)


def load_templates(conn: Connection, items: list[dict], *, portal_url: str, max_segments: int) -> dict:
    """Insert new templates, update changed ones (a new version), leave the rest: running the seed twice
    changes nothing, and a template an admin changed is kept (every deploy seeds; it must not undo their
    work). Every template is checked first, so a bad seed file fails the seed, not an event."""
    counts = {"inserted": 0, "updated": 0, "unchanged": 0, "kept": 0}
    moment = now()
    for item in items:
        try:
            template = checked(Template.from_json(item), portal_url=portal_url, max_segments=max_segments)
        except (TemplateInvalid, NotFound) as exc:
            raise ValueError(f"template {item.get('kind')}/{item.get('channel')}: {exc}") from None
        columns = template.columns()
        row = queries.get_template_row(conn, template.kind, template.channel)
        if row is None:
            queries.insert_template(conn, **columns, version=1, updated_by="seed", updated_at=moment)
            _store_version(conn, template, version=1, by="seed", moment=moment)
            counts["inserted"] += 1
        elif row.updated_by not in (None, "seed"):
            counts["kept"] += 1
        elif any(getattr(row, name) != value for name, value in columns.items()):
            queries.update_template(conn, row.id, **columns, version=row.version + 1, updated_by="seed",
                                    updated_at=moment)
            _store_version(conn, template, version=row.version + 1, by="seed", moment=moment)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    return counts


def save_template(conn: Connection, kind: str, channel: str, fields: dict, *, by: str, portal_url: str,
                  max_segments: int):
    """An admin's change: checked against the event's example (Invalid 422 naming the field), then stored
    as the next version. Returns the templates row."""
    row = queries.get_template_row(conn, kind, channel)
    if row is None:
        event_type_of(kind)  # NotFound names the known kinds
        raise NotFound(f"no {channel} template for {kind}")
    template = Template(kind=kind, channel=channel, body=fields["body"], subject=fields.get("subject"),
                        html=fields.get("html"), zalo_template_id=fields.get("zalo_template_id"),
                        params=tuple(fields.get("params") or ()))
    try:
        checked(template, portal_url=portal_url, max_segments=max_segments)
    except TemplateInvalid as exc:
        raise Invalid("the template does not render against the event's example", errors={"json": exc.errors}) from None
    moment = now()
    version = row.version + 1
    queries.update_template(conn, row.id, **template.columns(), version=version, updated_by=by, updated_at=moment)
    _store_version(conn, template, version=version, by=by, moment=moment)
    log.info("template changed", extra={"event": "notify.template_changed", "kind": kind, "channel": channel,
                                        "version": version})
    return queries.get_template_row(conn, kind, channel)


# ---- recipients and the dossier's state ---------------------------------------------------------------
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _address(channel: str, applicant: dict) -> str | None:
    if channel in ("sms", "zalo"):
        return normalize_phone(applicant.get("phone") or "")
    email = (applicant.get("email") or "").strip()
    return email if len(email) <= 254 and _EMAIL.match(email) else None


def remember_recipient(conn: Connection, dossier: dict) -> None:
    """Keep who to tell about this dossier: later events name only its code.

    Written even when no channel was chosen, so those events find the dossier known and end quietly
    instead of being retried as if it had not arrived yet.
    """
    applicant = dossier["applicant"]
    queries.insert_recipient(
        conn, dossier_code=dossier["code"], agency_code=dossier["agency"]["code"], full_name=applicant["full_name"],
        phone=_address("sms", applicant), email=_address("email", applicant),
        notify_channels=json.dumps(list(dossier.get("notify_channels") or [])), created_at=now(),
        procedure_name=dossier["procedure"]["name"], agency_name=dossier["agency"].get("name") or None,
        last_seq=0, status="submitted", status_at=dossier["submitted_at"],
    )


class RecipientNotKnownYet(Exception):
    """An event about a dossier whose dossier.submitted.v1 notify has not handled yet.

    Deliberately an ordinary exception, not MalformedEvent: the event is sound, only early (the
    dossier event may be held by another worker copy, or waiting in a retry queue after a failure),
    so the kit retries it after a delay and, should the dossier event never come, dead-letters it for
    replay instead of dropping the citizen's notice.
    """


def _occurrence(kind: str, data: dict) -> str:
    """Which occurrence of `kind` the event is: what happens once per dossier is "", a supplement request
    is its number, a payment its reference (a refund its id), a shipment its tracking number."""
    if kind == "dossier.supplement_requested":
        return str(data.get("request_no") or 1)
    if kind == "payment.refunded":
        return data["refund_id"]
    if kind.startswith("payment."):
        return data["reference"]
    if kind.startswith("shipment."):
        return data["tracking_no"]
    return ""


def _skip_reason(kind: str, data: dict, recipient) -> str | None:
    """Why this event no longer deserves a message, judged on the dossier's state before it; None to send."""
    if "seq" in data and data["seq"] <= recipient.last_seq:
        return (f"arrived after a later event: seq {data['seq']} <= {recipient.last_seq} "
                f"(dossier {recipient.status})")
    closed_by = ONLY_WHILE_OPEN.get(kind)
    if closed_by:
        for status in (recipient.status, data.get("status")):
            if status in closed_by:
                return f"no longer matters: the dossier is {status}"
    if kind == "dossier.returned" and data.get("via") == "post":
        return "returned by post: the shipment.delivered notice tells the applicant"
    return None


def notify_event(conn: Connection, event_type: str, data: dict, *, event_id: str, portal_url: str,
                 max_segments: int) -> list[str]:
    """The messages one event makes, one per channel the applicant chose and can receive; no network
    I/O here. A message for an event that no longer matters is stored `skipped`, with the reason.

    Returns the ids of the messages created now for sending (none when the dossier already has them).
    """
    kind = KINDS[event_type]
    code = data.get("code") or data["dossier_code"]
    if kind == SUBMITTED:
        remember_recipient(conn, data)
    recipient = queries.get_recipient(conn, code)
    if recipient is None:
        raise RecipientNotKnownYet(code)
    skip = _skip_reason(kind, data, recipient)
    if "seq" in data and data["seq"] > recipient.last_seq:
        queries.update_dossier_state(conn, code, seq=data["seq"], status=data["status"], at=data["at"])
    if skip:
        log.info("event no longer matters; its messages are recorded as skipped",
                 extra={"event": "notify.skipped", "kind": kind, "reason": skip})
    who = Who(full_name=recipient.full_name, procedure_name=recipient.procedure_name,
              agency_name=recipient.agency_name, agency_code=recipient.agency_code)
    return _create_messages(
        conn, kind=kind, code=code, agency_code=recipient.agency_code, occurrence=_occurrence(kind, data),
        channels=json.loads(recipient.notify_channels), applicant={"phone": recipient.phone, "email": recipient.email},
        values=values_for(kind, data, who, portal_url), event_id=event_id, skip=skip, max_segments=max_segments,
    )


def _create_messages(conn: Connection, *, kind: str, code: str, agency_code: str, occurrence: str,
                     channels: list[str], applicant: dict, values: dict[str, str], event_id: str,
                     skip: str | None, max_segments: int) -> list[str]:
    """The ids of the messages of this kind created now for sending; the unique (dossier, kind, channel,
    occurrence) key makes a re-published event create none."""
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
        reason = skip
        try:
            rendered = render(template, values, max_segments=max_segments)
        except Unsendable as exc:
            rendered, reason = Rendered(text=""), f"cannot go by {channel}: {exc}"
        message_id = str(uuid.uuid4())
        inserted = queries.insert_message(
            conn, id=message_id, dossier_code=code, agency_code=agency_code, kind=kind, occurrence=occurrence,
            channel=channel, to_address=to, subject=rendered.subject, text=rendered.text, html=rendered.html,
            zalo_template_id=rendered.zalo_template_id, segments=rendered.segments,
            params=json.dumps(rendered.params, ensure_ascii=False) if rendered.params is not None else None,
            template_version=template.version, event_id=event_id, status="skipped" if reason else "created",
            skip_reason=reason, attempts=0, next_attempt_at=moment, created_at=moment, updated_at=moment,
        )
        if not inserted:
            continue
        if reason:
            _count_after_commit(conn, channel, "skipped")
            continue
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
    html: str | None = None

    @classmethod
    def from_row(cls, row) -> "Claimed":
        return cls(
            id=row.id, dossier_code=row.dossier_code, kind=row.kind, channel=row.channel,
            to_address=row.to_address, subject=row.subject, text=row.text,
            zalo_template_id=row.zalo_template_id, params=json.loads(row.params) if row.params else None,
            attempts=row.attempts, html=getattr(row, "html", None),
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
                 error: str, max_attempts: int | None) -> str:
    """Back to `created` for a later attempt, or `failed` once the attempts are used up (never with
    max_attempts None: the gateway could not be reached, the message waits for it)."""
    if max_attempts is not None and message.attempts >= max_attempts:
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
