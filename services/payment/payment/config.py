"""Settings.from_env(): the only place payment reads the environment."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from servicekit.config import ConfigError, KitSettings, dev_secret, env, env_float, env_int

DEV_BANK_ACCOUNT = "0011001234567"
DEV_BANK_WEBHOOK_SECRET = "dev-bank-webhook-secret"  # the bank simulator's default too


def _positive(name: str, value: float) -> float:
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    kit: KitSettings
    bank_bin: str = "970436"  # NAPAS BIN of the bank holding the agencies' collection account
    bank_account: str = DEV_BANK_ACCOUNT
    order_ttl_hours: float = 72  # fractional hours allowed (tests run expiry in seconds)
    bank_url: str = "http://127.0.0.1:8101"
    # Shared with the bank: checks its callbacks, signs our refund requests. Two during a rotation.
    bank_webhook_secret: str = DEV_BANK_WEBHOOK_SECRET
    bank_webhook_secret_old: str | None = None
    bank_timeout_seconds: float = 3.0
    expiry_every_seconds: float = 60.0
    reconcile_every_seconds: float = 300.0
    reconcile_min_age_minutes: int = 30
    reconcile_max_age_hours: int = 72
    refund_every_seconds: float = 10.0
    job_batch: int = 200
    dev_secret_names: tuple[str, ...] = field(default=())

    @classmethod
    def from_env(cls) -> "Settings":
        bank_bin = env("PAYMENT_BANK_BIN", "970436")
        if not re.fullmatch(r"\d{6}", bank_bin):
            raise ConfigError(f"PAYMENT_BANK_BIN must be a 6-digit NAPAS bank BIN, got {bank_bin!r}")
        account = env("PAYMENT_BANK_ACCOUNT", DEV_BANK_ACCOUNT)
        # VietQR tag 38.01.01 holds at most 19 characters.
        if not re.fullmatch(r"[0-9A-Za-z]{1,19}", account):
            raise ConfigError(f"PAYMENT_BANK_ACCOUNT must be 1 to 19 letters or digits, got {account!r}")
        ttl = env_float("PAYMENT_ORDER_TTL_HOURS", 72.0)
        if ttl <= 0:
            raise ConfigError(f"PAYMENT_ORDER_TTL_HOURS must be a positive number of hours, got {ttl}")
        bank_url = env("PAYMENT_BANK_URL", "http://127.0.0.1:8101").rstrip("/")
        if not re.match(r"^https?://", bank_url):
            raise ConfigError(f"PAYMENT_BANK_URL must be an http(s) URL, got {bank_url!r}")
        secret, secret_is_default = dev_secret("BANK_WEBHOOK_SECRET", DEV_BANK_WEBHOOK_SECRET)
        min_age = env_int("PAYMENT_RECONCILE_MIN_AGE_MINUTES", 30)
        max_age = env_int("PAYMENT_RECONCILE_MAX_AGE_HOURS", 72)
        if min_age <= 0 or max_age * 60 <= min_age:
            raise ConfigError("PAYMENT_RECONCILE_MIN_AGE_MINUTES must be positive and below "
                              f"PAYMENT_RECONCILE_MAX_AGE_HOURS, got {min_age} min and {max_age} h")
        return cls(
            kit=KitSettings.from_env("payment"),
            bank_bin=bank_bin,
            bank_account=account,
            order_ttl_hours=ttl,
            bank_url=bank_url,
            bank_webhook_secret=secret,
            bank_webhook_secret_old=env("BANK_WEBHOOK_SECRET_OLD"),
            bank_timeout_seconds=_positive("PAYMENT_BANK_TIMEOUT_SECONDS", env_float("PAYMENT_BANK_TIMEOUT_SECONDS", 3.0)),
            expiry_every_seconds=_positive("PAYMENT_EXPIRY_EVERY_SECONDS", env_float("PAYMENT_EXPIRY_EVERY_SECONDS", 60.0)),
            reconcile_every_seconds=_positive(
                "PAYMENT_RECONCILE_EVERY_SECONDS", env_float("PAYMENT_RECONCILE_EVERY_SECONDS", 300.0)),
            reconcile_min_age_minutes=min_age,
            reconcile_max_age_hours=max_age,
            refund_every_seconds=_positive("PAYMENT_REFUND_EVERY_SECONDS", env_float("PAYMENT_REFUND_EVERY_SECONDS", 10.0)),
            dev_secret_names=("BANK_WEBHOOK_SECRET",) if secret_is_default else (),
        )

    @property
    def webhook_secrets(self) -> list[str]:
        """The current key first, then the previous one while the bank rotates."""
        return [self.bank_webhook_secret] + ([self.bank_webhook_secret_old] if self.bank_webhook_secret_old else [])

    @property
    def dev_defaults(self) -> tuple[str, ...]:
        """Settings that would send citizens' money to the placeholder account, or trust forged callbacks."""
        placeholder = ("PAYMENT_BANK_ACCOUNT",) if self.bank_account == DEV_BANK_ACCOUNT else ()
        return placeholder + self.dev_secret_names
