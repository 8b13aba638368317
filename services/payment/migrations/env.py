"""Alembic environment for payment (the body is the kit's)."""
from payment.models import metadata
from servicekit.migrate import run_env

run_env(metadata)
