"""Alembic environment for notify (the body is the kit's)."""
from notify.models import metadata
from servicekit.migrate import run_env

run_env(metadata)
