"""Payment settings from the environment, checked at start."""
import pytest

from servicekit.config import ConfigError

from payment.config import Settings


def test_bank_and_lifetime_defaults_serve_a_one_machine_run(monkeypatch):
    for name in ("PAYMENT_BANK_BIN", "PAYMENT_BANK_ACCOUNT", "PAYMENT_ORDER_TTL_HOURS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert (settings.bank_bin, settings.bank_account, settings.order_ttl_hours) == ("970436", "0011001234567", 72)
    assert settings.dev_defaults == ("PAYMENT_BANK_ACCOUNT",)


def test_bank_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("PAYMENT_BANK_BIN", "970415")
    monkeypatch.setenv("PAYMENT_BANK_ACCOUNT", "113366668888")
    monkeypatch.setenv("PAYMENT_ORDER_TTL_HOURS", "24")
    settings = Settings.from_env()
    assert (settings.bank_bin, settings.bank_account, settings.order_ttl_hours) == ("970415", "113366668888", 24)
    assert settings.dev_defaults == ()


@pytest.mark.parametrize("name, value", [
    ("PAYMENT_BANK_BIN", "97043"), ("PAYMENT_BANK_ACCOUNT", "1" * 20), ("PAYMENT_ORDER_TTL_HOURS", "0"),
])
def test_a_malformed_bank_setting_stops_the_process_at_start(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        Settings.from_env()
