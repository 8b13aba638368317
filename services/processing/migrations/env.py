"""Alembic environment for processing (the body is the kit's)."""
from processing.models import metadata
from servicekit.migrate import run_env

run_env(metadata)
