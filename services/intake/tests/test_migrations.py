"""Migration head test: the history, applied from empty or step by step, gives exactly the models' tables."""
import sqlalchemy as sa
from alembic import command

from servicekit.db import normalize_url
from servicekit.migrate import alembic_config, diff_against_models, upgrade

from intake.manage import MIGRATIONS
from intake.models import metadata


def test_migrations_apply_from_empty_and_match_the_models(db, settings):
    assert diff_against_models(settings.kit.database_url, metadata) == []


def test_0002_applies_over_a_database_already_at_0001_and_steps_back(db_url):
    # Deployed intakes are at 0001: the read-model tables must arrive beside the existing ones.
    upgrade(MIGRATIONS, db_url, "0001")
    upgrade(MIGRATIONS, db_url)
    assert diff_against_models(db_url, metadata) == []
    command.downgrade(alembic_config(MIGRATIONS, db_url), "0001")
    engine = sa.create_engine(normalize_url(db_url), poolclass=sa.pool.NullPool)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert "dossiers" in tables and not {"dossier_payments", "dossier_shipments"} & tables
