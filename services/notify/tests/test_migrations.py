"""Alembic history matches the models: migrations apply from empty and leave nothing to autogenerate."""
from servicekit.migrate import diff_against_models

from notify.models import metadata


def test_migrations_apply_from_empty_and_match_the_models(db, settings):
    assert diff_against_models(settings.kit.database_url, metadata) == []
