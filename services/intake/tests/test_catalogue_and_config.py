"""The in-process procedure catalogue and intake's settings from the environment."""
import time

import pytest

from servicekit.config import ConfigError

from intake.catalogue import ProcedureCatalogue
from intake.config import DEV_TOKEN_SECRET, Settings
from intake.models import procedures


def set_fee(db, code, fee):
    with db.transaction() as conn:
        conn.execute(procedures.update().where(procedures.c.code == code).values(fee_vnd=fee))


def fee_seen(db, catalogue, code):
    with db.transaction(readonly=True) as conn:
        return catalogue.get(conn, code).fee_vnd


def test_catalogue_serves_its_snapshot_until_the_ttl_ends(db):
    catalogue = ProcedureCatalogue(ttl_seconds=0.2)
    assert fee_seen(db, catalogue, "2.000488.H56") == 200000
    set_fee(db, "2.000488.H56", 100000)
    assert fee_seen(db, catalogue, "2.000488.H56") == 200000
    time.sleep(0.25)
    assert fee_seen(db, catalogue, "2.000488.H56") == 100000


def test_catalogue_without_a_ttl_reads_the_database_every_time(db):
    catalogue = ProcedureCatalogue(ttl_seconds=0)
    fee_seen(db, catalogue, "2.000488.H56")
    set_fee(db, "2.000488.H56", 100000)
    assert fee_seen(db, catalogue, "2.000488.H56") == 100000
    with db.transaction(readonly=True) as conn:
        assert catalogue.get(conn, "9.999999.H56") is None


def test_procedure_knows_its_required_documents(db):
    with db.transaction(readonly=True) as conn:
        birth = ProcedureCatalogue(ttl_seconds=5).get(conn, "1.001193.H56")
    assert birth.required_documents == ("TK_KHAI_SINH", "GIAY_CHUNG_SINH")
    assert {"VB_UY_QUYEN", "GCN_KET_HON_CHA_ME"} <= birth.document_codes
    assert birth.agency_name == "UBND phường Phúc Yên"


def test_settings_come_from_intake_variables(monkeypatch):
    monkeypatch.setenv("INTAKE_POSTAL_CITIZEN_PRICE_VND", "12000")
    monkeypatch.setenv("INTAKE_TOKEN_SECRET", "a-real-secret-of-some-length")
    monkeypatch.setenv("MOTCUA_FILE_LINK_SECRET", "a-real-link-secret-of-some-length")
    monkeypatch.setenv("INTAKE_PROCESSING_URL", "http://processing:8002/")
    monkeypatch.setenv("INTAKE_LOOKUP_MAX_MISSES", "3")
    monkeypatch.setenv("INTAKE_LOOKUP_WINDOW_SECONDS", "60")
    monkeypatch.setenv("INTAKE_CATALOGUE_CACHE_SECONDS", "0.5")
    monkeypatch.setenv("INTAKE_TRUSTED_PROXY_HOPS", "1")
    settings = Settings.from_env()
    assert (settings.postal_citizen_price_vnd, settings.lookup_max_misses, settings.lookup_window_seconds,
            settings.catalogue_cache_seconds, settings.trusted_proxy_hops) == (12000, 3, 60, 0.5, 1)
    assert settings.dev_defaults == () and settings.processing_url == "http://processing:8002"


def test_default_token_secret_is_flagged_for_a_warning(monkeypatch):
    for name in ("INTAKE_TOKEN_SECRET", "INTAKE_POSTAL_CITIZEN_PRICE_VND", "INTAKE_LOOKUP_MAX_MISSES",
                 "MOTCUA_FILE_LINK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert settings.token_secret == DEV_TOKEN_SECRET
    assert settings.dev_defaults == ("INTAKE_TOKEN_SECRET", "MOTCUA_FILE_LINK_SECRET")
    assert settings.postal_citizen_price_vnd == 10000 and settings.lookup_max_misses == 5


@pytest.mark.parametrize("name, value", [
    ("INTAKE_POSTAL_CITIZEN_PRICE_VND", "-1"),
    ("INTAKE_POSTAL_CITIZEN_PRICE_VND", "ten thousand"),
    ("INTAKE_LOOKUP_MAX_MISSES", "0"),
    ("INTAKE_TOKEN_SECRET", "short"),
    ("MOTCUA_FILE_LINK_SECRET", "short"),
    ("INTAKE_PROCESSING_URL", "processing:8002"),
])
def test_malformed_settings_stop_the_process_at_start(name, value, monkeypatch):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        Settings.from_env()


def test_lookup_limit_trusts_forwarded_for_only_behind_configured_proxies(settings, db, file_dossier):
    from dataclasses import replace

    from intake.app import create_app

    code = file_dossier().get_json()["code"]
    behind_proxy = create_app(replace(settings, trusted_proxy_hops=1)).test_client()
    miss = {"code": code, "id_number": "001190099999"}
    for _ in range(5):
        behind_proxy.post("/v1/dossiers/lookup", json=miss, headers={"X-Forwarded-For": "203.0.113.7"})
    other_citizen = behind_proxy.post("/v1/dossiers/lookup", json={"code": code, "id_number": "001190012345"},
                                      headers={"X-Forwarded-For": "203.0.113.8"})
    blocked = behind_proxy.post("/v1/dossiers/lookup", json={"code": code, "id_number": "001190012345"},
                                headers={"X-Forwarded-For": "203.0.113.7"})
    assert (other_citizen.status_code, blocked.status_code) == (200, 429)
