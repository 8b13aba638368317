"""Notify's tables: recipients, templates, messages, delivery attempts and receipts, plus the kit's outbox and inbox."""
import sqlalchemy as sa

from servicekit.tables import UTCDateTime, add_kit_tables

metadata = sa.MetaData()
outbox, inbox, idempotency_keys = add_kit_tables(metadata)

# Message statuses: created -> sending -> sent -> delivered | failed; sending -> created on a retryable
# error (next_attempt_at set) or when the lease runs out; sending -> failed on a permanent error.
# `skipped`: recorded, never sent, because the event no longer mattered when it arrived (skip_reason says why).
STATUSES = ("created", "sending", "sent", "delivered", "failed", "skipped")
CHANNELS = ("sms", "zalo", "email")

# Who to tell about a dossier, as dossier.submitted.v1 named them. Later events (payment.requested.v1)
# carry only the dossier code, so notify keeps the applicant's contact here instead of asking intake.
recipients = sa.Table(
    "recipients",
    metadata,
    sa.Column("dossier_code", sa.String(40), primary_key=True),
    sa.Column("agency_code", sa.String(40), nullable=False),  # messages carry it: the admin list filters by it
    sa.Column("full_name", sa.Text, nullable=False),
    # Only addresses a message can go to: the phone in 84... form, a well-formed email; else NULL.
    sa.Column("phone", sa.String(15)),
    sa.Column("email", sa.String(254)),
    sa.Column("notify_channels", sa.Text, nullable=False),  # JSON list, as the applicant chose them
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Later events name only codes: the names the messages show are kept from dossier.submitted.v1.
    sa.Column("procedure_name", sa.Text),
    sa.Column("agency_name", sa.Text),
    # The dossier as processing last told us: the highest `seq` applied and the status after it. An
    # event with a lower seq arrives late and is skipped; an overdue notice after the result is skipped.
    sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(30)),
    sa.Column("status_at", UTCDateTime),
)

templates = sa.Table(
    "templates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(60), nullable=False),  # event type without its version: dossier.submitted
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("subject", sa.Text),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("zalo_template_id", sa.String(64)),
    sa.Column("params", sa.Text),  # JSON list: the Zalo template's parameter names, in order
    sa.Column("limits", sa.Text),  # JSON object: placeholder -> maximum length
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("html", sa.Text),  # email only: the HTML body (autoescaped); NULL = the text body as paragraphs
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("updated_by", sa.String(100)),  # officer sub of the admin, or "seed"
    sa.UniqueConstraint("kind", "channel", name="uq_templates_kind_channel"),
)

# Every version a template ever had, the current one included: what a message said can be traced to
# the words an admin saved.
template_versions = sa.Table(
    "template_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("subject", sa.Text),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("html", sa.Text),
    sa.Column("zalo_template_id", sa.String(64)),
    sa.Column("params", sa.Text),
    sa.Column("limits", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.UniqueConstraint("kind", "channel", "version", name="uq_template_versions_kind_channel_version"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # uuid; the gateway's message_id, stable across retries
    sa.Column("dossier_code", sa.String(40), nullable=False),
    sa.Column("agency_code", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("to_address", sa.String(254), nullable=False),  # 84... phone, or an email address
    sa.Column("subject", sa.Text),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("zalo_template_id", sa.String(64)),
    sa.Column("params", sa.Text),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("provider_status", sa.String(40)),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("failed_at", UTCDateTime),
    # Which occurrence of the kind: "" for what happens once per dossier, the request number of a
    # supplement request, the payment reference, the tracking number.
    sa.Column("occurrence", sa.String(40), nullable=False, server_default=""),
    sa.Column("segments", sa.Integer),  # SMS: GSM-7 segments of the text
    sa.Column("html", sa.Text),  # email: the HTML alternative
    sa.Column("template_version", sa.Integer),
    sa.Column("skip_reason", sa.Text),
    # A re-published event (new event id, same dossier) must never make a second message.
    sa.UniqueConstraint("dossier_code", "kind", "channel", "occurrence", name="uq_messages_dossier_kind_channel_occurrence"),
    sa.Index("ix_messages_status_next_attempt_at", "status", "next_attempt_at"),
)

delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id"), nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("sender", sa.String(64), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(12), nullable=False),  # sent | retry | failed
    sa.Column("status_code", sa.Integer),
    sa.Column("response", sa.Text),
    sa.Column("error", sa.Text),
)

receipts = sa.Table(
    "receipts",
    metadata,
    sa.Column("event_id", sa.String(100), primary_key=True),  # the gateway's id: a repeated receipt is a no-op
    sa.Column("message_id", sa.String(100), nullable=False, index=True),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(12), nullable=False),  # applied | ignored
)
