"""Alembic history matches the models: migrations apply from empty and leave nothing to autogenerate."""
import pytest

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


def test_a_database_at_0002_with_messages_upgrades_keeping_them_as_first_occurrences(settings):
    import sqlalchemy as sa

    upgrade(MIGRATIONS, settings.kit.database_url, "0002")
    engine = sa.create_engine(settings.kit.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO messages (id, dossier_code, agency_code, kind, channel, to_address, text, event_id,"
                " status, attempts, next_attempt_at, created_at, updated_at) VALUES ('m-1', 'D-1', 'A', "
                "'dossier.submitted', 'sms', '84912345678', 'Ho so D-1', 'e-1', 'sent', 1, "
                "'2026-11-24 02:00:00', '2026-11-24 02:00:00', '2026-11-24 02:00:00')"))
        upgrade(MIGRATIONS, settings.kit.database_url)
        assert diff_against_models(settings.kit.database_url, metadata) == []
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT occurrence, status FROM messages")).all() == [("", "sent")]
            duplicate = sa.text(
                "INSERT INTO messages (id, dossier_code, agency_code, kind, channel, to_address, text, event_id,"
                " status, attempts, next_attempt_at, created_at, updated_at, occurrence) VALUES ('m-2', 'D-1', "
                "'A', 'dossier.submitted', 'sms', '84912345678', 'x', 'e-2', 'created', 0, '2026-11-24 02:00:00',"
                " '2026-11-24 02:00:00', '2026-11-24 02:00:00', :occurrence)")
            conn.execute(duplicate, {"occurrence": "2"})  # another occurrence of the kind: allowed
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(str(duplicate).replace("m-2", "m-3")), {"occurrence": ""})
    finally:
        engine.dispose()
