"""Every citizen-facing event: dossier state, template versions, message occurrence/segments/HTML/skips.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from servicekit.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("recipients") as batch:
        batch.add_column(sa.Column("procedure_name", sa.Text))
        batch.add_column(sa.Column("agency_name", sa.Text))
        batch.add_column(sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("status", sa.String(30)))
        batch.add_column(sa.Column("status_at", UTCDateTime))
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("html", sa.Text))
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("updated_by", sa.String(100)))
    op.create_table(
        "template_versions",
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
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("occurrence", sa.String(40), nullable=False, server_default=""))
        batch.add_column(sa.Column("segments", sa.Integer))
        batch.add_column(sa.Column("html", sa.Text))
        batch.add_column(sa.Column("template_version", sa.Integer))
        batch.add_column(sa.Column("skip_reason", sa.Text))
        batch.drop_constraint("uq_messages_dossier_kind_channel", type_="unique")
        batch.create_unique_constraint("uq_messages_dossier_kind_channel_occurrence",
                                       ["dossier_code", "kind", "channel", "occurrence"])


def downgrade():
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("uq_messages_dossier_kind_channel_occurrence", type_="unique")
        batch.create_unique_constraint("uq_messages_dossier_kind_channel", ["dossier_code", "kind", "channel"])
        for name in ("skip_reason", "template_version", "html", "segments", "occurrence"):
            batch.drop_column(name)
    op.drop_table("template_versions")
    with op.batch_alter_table("templates") as batch:
        for name in ("updated_by", "version", "html"):
            batch.drop_column(name)
    with op.batch_alter_table("recipients") as batch:
        for name in ("status_at", "status", "last_seq", "agency_name", "procedure_name"):
            batch.drop_column(name)
