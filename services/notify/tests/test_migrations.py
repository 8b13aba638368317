"""Alembic history matches the models: migrations apply from empty and leave nothing to autogenerate."""
from servicekit.migrate import diff_against_models, upgrade

from notify.manage import MIGRATIONS
from notify.models import metadata


def test_migrations_apply_from_empty_and_match_the_models(db, settings):
    assert diff_against_models(settings.kit.database_url, metadata) == []


def test_a_database_already_at_0001_upgrades_to_the_models(settings):
    # The path a running deployment takes: 0001 applied earlier, 0002 (recipients) applied now.
    upgrade(MIGRATIONS, settings.kit.database_url, "0001")
    assert diff_against_models(settings.kit.database_url, metadata) != []
    upgrade(MIGRATIONS, settings.kit.database_url)
    assert diff_against_models(settings.kit.database_url, metadata) == []
