"""The kit's outbox remembers when a row was first returned unroutable (issue 5: count the give-up from it).

Revision ID: k0002
Revises: 0002
"""
from servicekit.tables import add_outbox_first_returned, drop_outbox_first_returned

revision = "k0002"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    add_outbox_first_returned()


def downgrade():
    drop_outbox_first_returned()
