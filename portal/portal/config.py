"""The portal's settings, from the environment (docs/configuration.md, section "portal")."""
from __future__ import annotations

from dataclasses import dataclass, field

from servicekit.config import ConfigError, KitSettings, dev_secret, env, env_float, env_int

DEV_SECRET_KEY = "dev-only-portal-secret-change-me-before-production"


@dataclass(frozen=True)
class Settings:
    env: str  # development | production: the development sign-in exists only in development
    secret_key: str
    intake_url: str
    processing_url: str
    public_url: str
    province: str
    connect_timeout: float
    read_timeout: float
    session_db: str
    session_hours: int
    log_level: str
    kit: KitSettings
    dev_defaults: tuple[str, ...] = field(default=())

    @property
    def development(self) -> bool:
        return self.env == "development"

    @classmethod
    def from_env(cls) -> "Settings":
        mode = env("PORTAL_ENV", "production")
        if mode not in ("development", "production"):
            raise ConfigError(f"PORTAL_ENV must be development or production, got {mode!r}")
        secret, default_secret = dev_secret("PORTAL_SECRET_KEY", DEV_SECRET_KEY)
        if default_secret and mode == "production":
            raise ConfigError("PORTAL_SECRET_KEY is required when PORTAL_ENV=production")
        kit = KitSettings.from_env("portal")
        var_dir = env("MOTCUA_VAR_DIR", "var")
        return cls(
            env=mode,
            secret_key=secret,
            intake_url=env("PORTAL_INTAKE_URL", "http://127.0.0.1:8001").rstrip("/"),
            processing_url=env("PORTAL_PROCESSING_URL", "http://127.0.0.1:8002").rstrip("/"),
            public_url=env("MOTCUA_PORTAL_URL", "http://127.0.0.1:8000").rstrip("/"),
            province=env("PORTAL_PROVINCE", "Phú Thọ"),
            connect_timeout=env_float("PORTAL_API_CONNECT_TIMEOUT", 2.0),
            read_timeout=env_float("PORTAL_API_READ_TIMEOUT", 8.0),
            session_db=env("PORTAL_SESSION_DB", f"{var_dir}/data/portal-sessions.db"),
            session_hours=env_int("PORTAL_SESSION_HOURS", 8),
            log_level=env("MOTCUA_LOG_LEVEL", "INFO"),
            kit=kit,
            dev_defaults=("PORTAL_SECRET_KEY",) if default_secret else (),
        )
