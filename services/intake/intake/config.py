"""Settings.from_env(): the only place intake reads the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass

from servicekit.config import ConfigError, KitSettings, dev_secret, env, env_float, env_int, env_list
from servicekit.dvcqg import DvcqgSettings

DEV_TOKEN_SECRET = "dev-only-intake-token-secret-change-me"
# Shared with processing: signs the short-lived link through which intake fetches a dossier's issued result.
DEV_FILE_LINK_SECRET = "dev-only-file-link-secret-change-me"


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
    # Uploads: bytes under this directory (outside the database), at most this size, and removed by the
    # worker when still unattached after this many hours.
    uploads_dir: str = "var/data/intake-uploads"
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_max_age_hours: float = 24.0
    upload_sweep_seconds: float = 300.0
    upload_max_per_client: int = 200  # uploads per client address per INTAKE_FILING_WINDOW_SECONDS; 0 = off
    # Access tokens: the filing's lives this long; each lookup adds one that lives `lookup_token_days`,
    # at most `max_lookup_tokens` live at once per dossier (the oldest lookup token gives way).
    filing_token_days: int = 365
    lookup_token_days: int = 30
    max_lookup_tokens: int = 5
    # Filings per client address and per phone number (or email) in a window; 0 turns a limit off.
    filing_max_per_client: int = 30
    filing_max_per_phone: int = 5
    filing_window_seconds: int = 3600
    # Links printed for citizens (QR codes) point at the citizen portal.
    portal_url: str = "http://127.0.0.1:8000"
    postal_url: str = "http://127.0.0.1:8004"
    postal_timeout_seconds: float = 2.0
    # Where the citizen's result PDF comes from: processing's GET /v1/files/{id} by a signed, expiring link.
    processing_url: str = "http://127.0.0.1:8002"
    processing_timeout_seconds: float = 10.0
    file_link_secret: str = DEV_FILE_LINK_SECRET
    cors_origins: tuple[str, ...] = ()
    # The national catalogue sync (catalogue_sync.py): off while the portal's URL is empty. A scheduled run every
    # `dvcqg_catalogue_interval_seconds` (0: only on an admin's request); the worker looks for requests every
    # `dvcqg_catalogue_poll_seconds`. A run that would withdraw more than the share of the catalogue fails.
    dvcqg: DvcqgSettings = DvcqgSettings(timeout_seconds=30.0)
    dvcqg_catalogue_interval_seconds: float = 86400.0
    dvcqg_catalogue_poll_seconds: float = 10.0
    dvcqg_catalogue_max_withdraw_share: float = 0.5
    dev_defaults: tuple[str, ...] = ()

    @classmethod
    def from_env(cls) -> "Settings":
        token_secret, token_is_dev = dev_secret("INTAKE_TOKEN_SECRET", DEV_TOKEN_SECRET)
        kit = KitSettings.from_env("intake")
        national = DvcqgSettings.from_env("INTAKE", timeout_default=30.0)
        link_secret, link_secret_is_dev = dev_secret("MOTCUA_FILE_LINK_SECRET", DEV_FILE_LINK_SECRET)
        settings = cls(
            kit=kit,
            postal_citizen_price_vnd=env_int("INTAKE_POSTAL_CITIZEN_PRICE_VND", 10000),
            token_secret=token_secret,
            lookup_max_misses=env_int("INTAKE_LOOKUP_MAX_MISSES", 5),
            lookup_window_seconds=env_int("INTAKE_LOOKUP_WINDOW_SECONDS", 600),
            catalogue_cache_seconds=env_float("INTAKE_CATALOGUE_CACHE_SECONDS", 5.0),
            trusted_proxy_hops=env_int("INTAKE_TRUSTED_PROXY_HOPS", 0),
            uploads_dir=env("INTAKE_UPLOADS_DIR", os.path.join(kit.var_dir, "data", "intake-uploads")),
            upload_max_bytes=env_int("INTAKE_UPLOAD_MAX_BYTES", 10 * 1024 * 1024),
            upload_max_age_hours=env_float("INTAKE_UPLOAD_MAX_AGE_HOURS", 24.0),
            upload_sweep_seconds=env_float("INTAKE_UPLOAD_SWEEP_SECONDS", 300.0),
            upload_max_per_client=env_int("INTAKE_UPLOAD_MAX_PER_CLIENT", 200),
            filing_token_days=env_int("INTAKE_FILING_TOKEN_DAYS", 365),
            lookup_token_days=env_int("INTAKE_LOOKUP_TOKEN_DAYS", 30),
            max_lookup_tokens=env_int("INTAKE_MAX_LOOKUP_TOKENS", 5),
            filing_max_per_client=env_int("INTAKE_FILING_MAX_PER_CLIENT", 30),
            filing_max_per_phone=env_int("INTAKE_FILING_MAX_PER_PHONE", 5),
            filing_window_seconds=env_int("INTAKE_FILING_WINDOW_SECONDS", 3600),
            portal_url=(env("MOTCUA_PORTAL_URL", "http://127.0.0.1:8000") or "").rstrip("/"),
            postal_url=(env("INTAKE_POSTAL_URL", "http://127.0.0.1:8004") or "").rstrip("/"),
            postal_timeout_seconds=env_float("INTAKE_POSTAL_TIMEOUT_SECONDS", 2.0),
            processing_url=(env("INTAKE_PROCESSING_URL", "http://127.0.0.1:8002") or "").rstrip("/"),
            processing_timeout_seconds=env_float("INTAKE_PROCESSING_TIMEOUT_SECONDS", 10.0),
            file_link_secret=link_secret,
            cors_origins=tuple(origin.rstrip("/") for origin in env_list("INTAKE_CORS_ORIGINS", "")),
            dvcqg=national,
            dvcqg_catalogue_interval_seconds=env_float("INTAKE_DVCQG_CATALOGUE_INTERVAL_SECONDS", 86400.0),
            dvcqg_catalogue_poll_seconds=env_float("INTAKE_DVCQG_CATALOGUE_POLL_SECONDS", 10.0),
            dvcqg_catalogue_max_withdraw_share=env_float("INTAKE_DVCQG_CATALOGUE_MAX_WITHDRAW_SHARE", 0.5),
            dev_defaults=(("INTAKE_TOKEN_SECRET",) if token_is_dev else ())
            + (("MOTCUA_FILE_LINK_SECRET",) if link_secret_is_dev else ())
            + national.dev_defaults,
        )
        if settings.postal_citizen_price_vnd < 0:
            raise ConfigError("INTAKE_POSTAL_CITIZEN_PRICE_VND must be a whole, non-negative VND amount")
        if settings.lookup_max_misses < 1 or settings.lookup_window_seconds < 1:
            raise ConfigError("INTAKE_LOOKUP_MAX_MISSES and INTAKE_LOOKUP_WINDOW_SECONDS must be positive")
        if settings.upload_max_bytes < 1 or settings.upload_max_age_hours <= 0 or settings.upload_sweep_seconds <= 0:
            raise ConfigError("INTAKE_UPLOAD_MAX_BYTES, INTAKE_UPLOAD_MAX_AGE_HOURS and INTAKE_UPLOAD_SWEEP_SECONDS must be positive")
        if min(settings.filing_token_days, settings.lookup_token_days, settings.max_lookup_tokens) < 1:
            raise ConfigError("INTAKE_FILING_TOKEN_DAYS, INTAKE_LOOKUP_TOKEN_DAYS and INTAKE_MAX_LOOKUP_TOKENS must be positive")
        if min(settings.filing_max_per_client, settings.filing_max_per_phone, settings.upload_max_per_client) < 0 or settings.filing_window_seconds < 1:
            raise ConfigError("INTAKE_FILING_MAX_PER_CLIENT / _PER_PHONE must be >= 0 (0 = off) and "
                              "INTAKE_FILING_WINDOW_SECONDS positive")
        if settings.postal_timeout_seconds <= 0 or settings.processing_timeout_seconds <= 0:
            raise ConfigError("INTAKE_POSTAL_TIMEOUT_SECONDS and INTAKE_PROCESSING_TIMEOUT_SECONDS must be positive")
        for name, url in (("MOTCUA_PORTAL_URL", settings.portal_url), ("INTAKE_POSTAL_URL", settings.postal_url),
                          ("INTAKE_PROCESSING_URL", settings.processing_url)):
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"{name} must be an http(s) URL, got {url!r}")
        if settings.dvcqg_catalogue_poll_seconds <= 0 or settings.dvcqg_catalogue_interval_seconds < 0:
            raise ConfigError("INTAKE_DVCQG_CATALOGUE_POLL_SECONDS must be positive, "
                              "INTAKE_DVCQG_CATALOGUE_INTERVAL_SECONDS 0 (on request only) or more")
        if not 0 < settings.dvcqg_catalogue_max_withdraw_share <= 1:
            raise ConfigError("INTAKE_DVCQG_CATALOGUE_MAX_WITHDRAW_SHARE must be above 0 and at most 1")
        if len(settings.token_secret) < 16:
            raise ConfigError("INTAKE_TOKEN_SECRET must be at least 16 characters")
        if len(settings.file_link_secret) < 16:
            raise ConfigError("MOTCUA_FILE_LINK_SECRET must be at least 16 characters")
        return settings
