"""Uploads, several access tokens per dossier, the live citizen's view, supplements, ratings, filing limits.

Revision ID: 0003
Revises: k0002
"""
import sqlalchemy as sa
from alembic import op

from servicekit.tables import BigId, UTCDateTime

revision = "0003"
down_revision = "k0002"
branch_labels = None
depends_on = None

# Tokens that existed before 0003 were the filing's or the last lookup's; they keep working for this long.
_CARRIED_TOKEN_DAYS = 365


def upgrade():
    op.create_table(
        "access_tokens",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime),
    )
    op.create_index("ix_access_tokens_dossier_code", "access_tokens", ["dossier_code"])
    # The one token each dossier had moves over; UTCDateTime stores ISO text on SQLite, timestamptz on PG.
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT code, access_token_hash, updated_at FROM dossiers")).all()
    if rows:
        from datetime import datetime, timedelta, timezone

        tokens = sa.table("access_tokens", sa.column("dossier_code"), sa.column("token_hash"), sa.column("kind"),
                          sa.column("created_at", UTCDateTime), sa.column("expires_at", UTCDateTime))
        moment = datetime.now(timezone.utc)
        op.bulk_insert(tokens, [{"dossier_code": code, "token_hash": token_hash, "kind": "filing", "created_at": moment,
                                 "expires_at": moment + timedelta(days=_CARRIED_TOKEN_DAYS)}
                                for code, token_hash, _updated in rows])
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("access_token_hash")
        batch.add_column(sa.Column("agency_name", sa.Text))
        batch.add_column(sa.Column("processing_days", sa.Integer))
        batch.add_column(sa.Column("fee_mode", sa.String(10)))
        batch.add_column(sa.Column("filed_by", sa.String(100)))
        batch.add_column(sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("received_at", UTCDateTime))
        batch.add_column(sa.Column("due_at", UTCDateTime))
        batch.add_column(sa.Column("completed_at", UTCDateTime))
        batch.add_column(sa.Column("withdrawal_status", sa.String(20)))
        batch.add_column(sa.Column("withdrawal_reason", sa.Text))
        batch.add_column(sa.Column("withdrawal_requested_at", UTCDateTime))
        batch.add_column(sa.Column("withdrawal_answer", sa.Text))
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("dossier_code", sa.String(40)),
            sa.Column("attached_at", UTCDateTime),
    )
    op.create_index("ix_uploads_created_at", "uploads", ["created_at"])
    op.create_index("ix_uploads_dossier_code", "uploads", ["dossier_code"])
    op.create_table(
        "supplement_requests",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False),
        sa.Column("request_no", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("documents", sa.JSON, nullable=False),
        sa.Column("deadline", sa.String(10), nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("answered_at", UTCDateTime),
        sa.Column("closed_at", UTCDateTime),
        sa.UniqueConstraint("dossier_code", "request_no", name="uq_supplement_requests_dossier_no"),
    )
    op.create_table(
        "ratings",
        sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), primary_key=True),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("rated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.String(120), primary_key=True),
        sa.Column("window_started_at", UTCDateTime, nullable=False),
        sa.Column("hits", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("dossier_timeline") as batch:
        batch.add_column(sa.Column("event_key", sa.String(120)))
        batch.create_unique_constraint("uq_dossier_timeline_event", ["dossier_code", "event_key"])
    with op.batch_alter_table("dossier_payments") as batch:
        batch.add_column(sa.Column("paid_at", UTCDateTime))
        batch.add_column(sa.Column("refunded_at", UTCDateTime))
    with op.batch_alter_table("dossier_shipments") as batch:
        batch.add_column(sa.Column("last_event_at", UTCDateTime))


def downgrade():
    with op.batch_alter_table("dossier_shipments") as batch:
        batch.drop_column("last_event_at")
    with op.batch_alter_table("dossier_payments") as batch:
        batch.drop_column("refunded_at")
        batch.drop_column("paid_at")
    with op.batch_alter_table("dossier_timeline") as batch:
        batch.drop_constraint("uq_dossier_timeline_event", type_="unique")
        batch.drop_column("event_key")
    op.drop_table("rate_limits")
    op.drop_table("ratings")
    op.drop_table("supplement_requests")
    op.drop_table("uploads")
    with op.batch_alter_table("dossiers") as batch:
        for column in ("withdrawal_answer", "withdrawal_requested_at", "withdrawal_reason", "withdrawal_status",
                       "completed_at", "due_at", "received_at", "last_seq", "filed_by", "fee_mode",
                       "processing_days", "agency_name"):
            batch.drop_column(column)
        batch.add_column(sa.Column("access_token_hash", sa.String(64), nullable=False, server_default="0" * 64))
    # The newest live token of each dossier goes back into the column.
    op.execute("UPDATE dossiers SET access_token_hash = COALESCE((SELECT t.token_hash FROM access_tokens t "
               "WHERE t.dossier_code = dossiers.code ORDER BY t.id DESC LIMIT 1), access_token_hash)")
    op.drop_table("access_tokens")
