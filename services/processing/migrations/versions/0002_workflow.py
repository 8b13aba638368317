"""The workflow: version and event sequence on cases, what the national sync needs, deadlines, supplements,
results, payment and delivery flags; result files and the calendar's extra days.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from servicekit.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = [
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("applicant_id_number", sa.String(20)),
    sa.Column("applicant_phone", sa.String(20)),
    sa.Column("applicant_email", sa.Text),
    sa.Column("applicant_address", sa.Text),
    sa.Column("delivery_address", sa.Text),
    sa.Column("documents", sa.Text),
    sa.Column("procedure_documents", sa.Text),
    sa.Column("procedure_level", sa.String(20)),
    sa.Column("fee_mode", sa.String(10), nullable=False, server_default="none"),
    sa.Column("result_is_paper", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("filed_by", sa.String(64)),
    sa.Column("received_at", UTCDateTime),
    sa.Column("received_by", sa.String(64)),
    sa.Column("due_at", UTCDateTime),
    sa.Column("paused_at", UTCDateTime),
    sa.Column("paused_seconds", sa.Integer, nullable=False, server_default="0"),
    sa.Column("supplement_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("supplement_from_status", sa.String(30)),
    sa.Column("supplement_reason", sa.Text),
    sa.Column("supplement_documents", sa.Text),
    sa.Column("supplement_deadline", sa.Date),
    sa.Column("approval", sa.String(20)),
    sa.Column("approval_summary", sa.Text),
    sa.Column("result_file_id", sa.String(64)),
    sa.Column("result_sha256", sa.String(64)),
    sa.Column("paper_original", sa.Boolean),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("returned_at", UTCDateTime),
    sa.Column("returned_via", sa.String(20)),
    sa.Column("fee_paid", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("paid_online", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("payment_reference", sa.String(40)),
    sa.Column("apologized_at", UTCDateTime),
    sa.Column("due_soon_sent_at", UTCDateTime),
    sa.Column("overdue_sent_at", UTCDateTime),
    sa.Column("delivery_failed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("rating_score", sa.Integer),
]


def upgrade():
    for column in COLUMNS:
        op.add_column("cases", column)
    op.create_index("ix_cases_agency_status_due", "cases", ["agency_code", "status", "due_at"])
    op.create_table(
        "result_files",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("agency_code", sa.String(40), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("content_type", sa.String(60), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def downgrade():
    op.drop_table("calendar_days")
    op.drop_table("result_files")
    op.drop_index("ix_cases_agency_status_due", "cases")
    with op.batch_alter_table("cases") as batch:
        for column in COLUMNS:
            batch.drop_column(column.name)
