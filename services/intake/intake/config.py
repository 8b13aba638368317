"""Settings.from_env(): the only place intake reads the environment."""
from __future__ import annotations

from dataclasses import dataclass

from servicekit.config import ConfigError, KitSettings, dev_secret, env_float, env_int

DEV_TOKEN_SECRET = "dev-only-intake-token-secret-change-me"


@dataclass(frozen=True)
class Settings:
    kit: KitSettings
    # Citizen price of public-post delivery, per direction (Hà Tĩnh's policy: 10,000 VND whatever the
    # operator charges; the agency pays the difference). Postal owns the real tariff; this is the quote at filing.
    postal_citizen_price_vnd: int = 10000
    # Seals the access token inside the stored idempotent answer, so a replay can hand the token back
    # while the database never holds it in clear.
    token_secret: str = DEV_TOKEN_SECRET
    lookup_max_misses: int = 5
    lookup_window_seconds: int = 600
    catalogue_cache_seconds: float = 5.0
    # Proxies in front of gunicorn whose X-Forwarded-For we believe (the lookup limit is per client IP).
    trusted_proxy_hops: int = 0
    dev_defaults: tuple[str, ...] = ()

    @classmethod
    def from_env(cls) -> "Settings":
        token_secret, token_is_dev = dev_secret("INTAKE_TOKEN_SECRET", DEV_TOKEN_SECRET)
        settings = cls(
            kit=KitSettings.from_env("intake"),
            postal_citizen_price_vnd=env_int("INTAKE_POSTAL_CITIZEN_PRICE_VND", 10000),
            token_secret=token_secret,
            lookup_max_misses=env_int("INTAKE_LOOKUP_MAX_MISSES", 5),
            lookup_window_seconds=env_int("INTAKE_LOOKUP_WINDOW_SECONDS", 600),
            catalogue_cache_seconds=env_float("INTAKE_CATALOGUE_CACHE_SECONDS", 5.0),
            trusted_proxy_hops=env_int("INTAKE_TRUSTED_PROXY_HOPS", 0),
            dev_defaults=("INTAKE_TOKEN_SECRET",) if token_is_dev else (),
        )
        if settings.postal_citizen_price_vnd < 0:
            raise ConfigError("INTAKE_POSTAL_CITIZEN_PRICE_VND must be a whole, non-negative VND amount")
        if settings.lookup_max_misses < 1 or settings.lookup_window_seconds < 1:
            raise ConfigError("INTAKE_LOOKUP_MAX_MISSES and INTAKE_LOOKUP_WINDOW_SECONDS must be positive")
        if len(settings.token_secret) < 16:
            raise ConfigError("INTAKE_TOKEN_SECRET must be at least 16 characters")
        return settings
