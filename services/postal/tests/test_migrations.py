"""Alembic history against the models, and the reference data `manage migrate` loads."""
import json

import sqlalchemy as sa

from servicekit.db import normalize_url
from servicekit.migrate import diff_against_models

from postal import manage
from postal.models import citizen_price_policies, metadata, tariff_rates, tariff_versions


def test_migrations_apply_from_empty_and_match_the_models(db, settings):
    assert diff_against_models(settings.kit.database_url, metadata) == []


def test_manage_migrate_seeds_the_tariff_once_however_often_it_runs(db_url, monkeypatch, capsys):
    monkeypatch.setenv("POSTAL_DATABASE_URL", db_url)
    # A closed port: topology declaration fails fast and is skipped, as the command allows.
    monkeypatch.setenv("MOTCUA_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2F")
    assert manage.main(["migrate"]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["seeded"]
    assert manage.main(["migrate"]) == 0 and manage.main(["seed"]) == 0
    runs = [json.loads(line)["seeded"] for line in capsys.readouterr().out.strip().splitlines()]
    assert first == {"tariff_versions": 1, "tariff_rates": 32, "citizen_price_policies": 1}
    assert runs == [{"tariff_versions": 0, "tariff_rates": 0, "citizen_price_policies": 0}] * 2
    engine = sa.create_engine(normalize_url(db_url))
    with engine.connect() as conn:
        counts = [conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                  for t in (tariff_versions, tariff_rates, citizen_price_policies)]
    engine.dispose()
    assert counts == [1, 32, 1]
