"""Settings.from_env(): the only place payment reads the environment."""
from __future__ import annotations

import re
from dataclasses import dataclass

from servicekit.config import ConfigError, KitSettings, env, env_int

DEV_BANK_ACCOUNT = "0011001234567"


@dataclass(frozen=True)
class Settings:
    kit: KitSettings
    bank_bin: str = "970436"  # NAPAS BIN of the bank holding the agencies' collection account
    bank_account: str = DEV_BANK_ACCOUNT
    order_ttl_hours: int = 72

    @classmethod
    def from_env(cls) -> "Settings":
        bank_bin = env("PAYMENT_BANK_BIN", "970436")
        if not re.fullmatch(r"\d{6}", bank_bin):
            raise ConfigError(f"PAYMENT_BANK_BIN must be a 6-digit NAPAS bank BIN, got {bank_bin!r}")
        account = env("PAYMENT_BANK_ACCOUNT", DEV_BANK_ACCOUNT)
        # VietQR tag 38.01.01 holds at most 19 characters.
        if not re.fullmatch(r"[0-9A-Za-z]{1,19}", account):
            raise ConfigError(f"PAYMENT_BANK_ACCOUNT must be 1 to 19 letters or digits, got {account!r}")
        ttl = env_int("PAYMENT_ORDER_TTL_HOURS", 72)
        if ttl <= 0:
            raise ConfigError(f"PAYMENT_ORDER_TTL_HOURS must be a positive number of hours, got {ttl}")
        return cls(kit=KitSettings.from_env("payment"), bank_bin=bank_bin, bank_account=account, order_ttl_hours=ttl)

    @property
    def dev_defaults(self) -> tuple[str, ...]:
        """Settings that would send citizens' money to the placeholder account if left as they are."""
        return ("PAYMENT_BANK_ACCOUNT",) if self.bank_account == DEV_BANK_ACCOUNT else ()
