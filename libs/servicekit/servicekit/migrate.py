"""Alembic per service: the shared env.py body and a programmatic upgrade used by `manage migrate`."""
from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from .db import normalize_url


def alembic_config(migrations_dir: str, database_url: str) -> Config:
    database_url = normalize_url(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", migrations_dir)
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(migrations_dir: str, database_url: str, revision: str = "head") -> None:
    url = sa.engine.make_url(normalize_url(database_url))
    if url.get_backend_name() == "sqlite" and url.database:
        os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
    command.upgrade(alembic_config(migrations_dir, database_url), revision)


def run_env(target_metadata: sa.MetaData) -> None:
    """Body of every service's migrations/env.py (online mode; SQLite gets batch mode for ALTERs)."""
    from alembic import context

    config = context.config
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def diff_against_models(database_url: str, target_metadata: sa.MetaData) -> list:
    """What the migrated database lacks or has beyond the models (empty when they match)."""
    from alembic.migration import MigrationContext
    from alembic.autogenerate import compare_metadata

    engine = sa.create_engine(normalize_url(database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            return [d for d in compare_metadata(ctx, target_metadata) if not _is_noise(d)]
    finally:
        engine.dispose()


def _is_noise(diff) -> bool:
    # alembic's own version table is not in the models.
    return isinstance(diff, tuple) and diff[0] == "remove_table" and diff[1].name == "alembic_version"
