"""Payment settings from the environment, checked at start."""
import pytest

from servicekit.config import ConfigError

from payment.config import Settings

NAMES = ("PAYMENT_BANK_BIN", "PAYMENT_BANK_ACCOUNT", "PAYMENT_ORDER_TTL_HOURS", "PAYMENT_BANK_URL",
         "BANK_WEBHOOK_SECRET", "BANK_WEBHOOK_SECRET_OLD", "PAYMENT_BANK_TIMEOUT_SECONDS",
         "PAYMENT_EXPIRY_EVERY_SECONDS", "PAYMENT_RECONCILE_EVERY_SECONDS", "PAYMENT_RECONCILE_MIN_AGE_MINUTES",
         "PAYMENT_RECONCILE_MAX_AGE_HOURS", "PAYMENT_REFUND_EVERY_SECONDS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_bank_and_lifetime_defaults_serve_a_one_machine_run():
    settings = Settings.from_env()
    assert (settings.bank_bin, settings.bank_account, settings.order_ttl_hours) == ("970436", "0011001234567", 72)
    assert (settings.bank_url, settings.bank_timeout_seconds) == ("http://127.0.0.1:8101", 3.0)
    assert (settings.reconcile_min_age_minutes, settings.reconcile_max_age_hours) == (30, 72)
    assert settings.webhook_secrets == ["dev-bank-webhook-secret"]
    assert settings.dev_defaults == ("PAYMENT_BANK_ACCOUNT", "BANK_WEBHOOK_SECRET")


def test_bank_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("PAYMENT_BANK_BIN", "970415")
    monkeypatch.setenv("PAYMENT_BANK_ACCOUNT", "113366668888")
    monkeypatch.setenv("PAYMENT_ORDER_TTL_HOURS", "24")
    monkeypatch.setenv("PAYMENT_BANK_URL", "https://bank.example.vn/api/")
    monkeypatch.setenv("BANK_WEBHOOK_SECRET", "new")
    monkeypatch.setenv("BANK_WEBHOOK_SECRET_OLD", "old")
    monkeypatch.setenv("PAYMENT_RECONCILE_MIN_AGE_MINUTES", "45")
    monkeypatch.setenv("PAYMENT_RECONCILE_MAX_AGE_HOURS", "48")
    settings = Settings.from_env()
    assert (settings.bank_bin, settings.bank_account, settings.order_ttl_hours) == ("970415", "113366668888", 24)
    assert settings.bank_url == "https://bank.example.vn/api"
    assert settings.webhook_secrets == ["new", "old"]
    assert (settings.reconcile_min_age_minutes, settings.reconcile_max_age_hours) == (45, 48)
    assert settings.dev_defaults == ()


@pytest.mark.parametrize("name, value", [
    ("PAYMENT_BANK_BIN", "97043"), ("PAYMENT_BANK_ACCOUNT", "1" * 20), ("PAYMENT_ORDER_TTL_HOURS", "0"),
    ("PAYMENT_BANK_URL", "bank:8101"), ("PAYMENT_BANK_TIMEOUT_SECONDS", "0"),
    ("PAYMENT_RECONCILE_MIN_AGE_MINUTES", "5000"), ("PAYMENT_EXPIRY_EVERY_SECONDS", "-1"),
])
def test_a_malformed_payment_setting_stops_the_process_at_start(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        Settings.from_env()
