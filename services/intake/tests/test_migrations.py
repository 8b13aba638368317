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


def test_0003_carries_each_dossiers_token_over_so_citizens_keep_access(db_url):
    from datetime import datetime, timezone

    from servicekit.db import Database

    from intake.use_cases import find_dossier_by_token, hash_token

    upgrade(MIGRATIONS, db_url, "0002")
    engine = sa.create_engine(normalize_url(db_url), poolclass=sa.pool.NullPool)
    moment = datetime(2026, 11, 24, 2, 0)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO dossiers (code, procedure_code, procedure_name, agency_code, applicant_type, applicant_name, "
            "id_number, applicant_address, documents, delivery_method, notify_channels, channel, status, "
            "access_token_hash, fee_procedure_vnd, fee_postal_vnd, submitted_at, updated_at) VALUES "
            "('000.00.06.H56-261124-0001', '1.001193.H56', 'Đăng ký khai sinh', '000.00.06.H56', 'citizen', 'A', "
            "'001190012345', 'x', '[]', 'counter', '[\"sms\"]', 'online', 'submitted', :hash, 0, 0, :at, :at)"),
            {"hash": hash_token("old-token"), "at": moment})
    engine.dispose()
    upgrade(MIGRATIONS, db_url)
    database = Database(db_url)
    try:
        with database.transaction(readonly=True) as conn:
            found = find_dossier_by_token(conn, "000.00.06.H56-261124-0001", "old-token")
            assert found is not None and found.last_seq == 0 and found.received_at is None
    finally:
        database.dispose()
    assert diff_against_models(db_url, metadata) == []
    command.downgrade(alembic_config(MIGRATIONS, db_url), "0002")
    engine = sa.create_engine(normalize_url(db_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT access_token_hash FROM dossiers")).scalar_one() == hash_token("old-token")
    finally:
        engine.dispose()
