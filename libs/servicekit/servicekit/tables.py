"""The kit's own tables (outbox, inbox, idempotency keys), added to each service's metadata."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC on every backend, returned timezone-aware (SQLite keeps no offset)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only


def now() -> datetime:
    return datetime.now(timezone.utc)


def add_kit_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table, sa.Table]:
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("exchange", sa.String(100), nullable=False),
        sa.Column("routing_key", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(100)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("headers", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", UTCDateTime),
        sa.Column("last_error", sa.Text),
        # When the broker first returned the row unroutable (no queue bound): the give-up counts from here,
        # never from the row's creation, so an outage or a fresh broker does not age a backlog into loss.
        sa.Column("first_returned_at", UTCDateTime),
        # The relay only ever looks for unsent rows: keep that index small on both backends.
        sa.Index(
            "ix_outbox_unsent",
            "id",
            sqlite_where=sa.text("sent_at IS NULL"),
            postgresql_where=sa.text("sent_at IS NULL"),
        ),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )
    idempotency = sa.Table(
        "idempotency_keys",
        metadata,
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response_body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    return outbox, inbox, idempotency


def create_kit_tables(op) -> None:
    """Alembic: create the kit tables in a service's first migration.

    The definitions live once, above; a later change to them ships as a kit migration helper of its
    own, and each service's "migrations match the models" test catches a service that missed it.
    """
    metadata = sa.MetaData()
    add_kit_tables(metadata)
    metadata.create_all(op.get_bind())


def add_outbox_first_returned() -> None:
    """Alembic (each service's k0002): the outbox's `first_returned_at` column, added by kit issue 5.

    A database created from empty has it already (`create_kit_tables` builds today's definitions in 0001);
    one migrated before the kit added it gets it here.
    """
    from alembic import op

    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("outbox")}
    if "first_returned_at" not in columns:
        op.add_column("outbox", sa.Column("first_returned_at", UTCDateTime, nullable=True))


def drop_outbox_first_returned() -> None:
    from alembic import op

    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("first_returned_at")
