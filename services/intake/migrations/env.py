"""Alembic environment for intake (the body is the kit's)."""
from intake.models import metadata
from servicekit.migrate import run_env

run_env(metadata)
