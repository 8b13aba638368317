"""Alembic environment for postal (the body is the kit's)."""
from postal.models import metadata
from servicekit.migrate import run_env

run_env(metadata)
