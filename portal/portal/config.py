"""The portal's settings, from the environment (docs/configuration.md, section "portal")."""
from __future__ import annotations

from dataclasses import dataclass, field

from servicekit.auth import ROLES
from servicekit.config import ConfigError, KitSettings, dev_secret, env, env_float, env_int

from .oidc import OidcSettings

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
    oidc: OidcSettings | None = None  # the province's identity provider; None: no OpenID Connect sign-in

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
            oidc=oidc_from_env(),
        )


def oidc_from_env() -> OidcSettings | None:
    """PORTAL_OIDC_*: off without an issuer; with one, the client id and secret are required."""
    issuer = env("PORTAL_OIDC_ISSUER", "").strip()
    if not issuer:
        return None
    if not issuer.startswith(("https://", "http://")):
        raise ConfigError("PORTAL_OIDC_ISSUER must be an http(s) URL")
    client_id, secret = env("PORTAL_OIDC_CLIENT_ID", "").strip(), env("PORTAL_OIDC_CLIENT_SECRET", "")
    if not client_id or not secret:
        raise ConfigError("PORTAL_OIDC_CLIENT_ID and PORTAL_OIDC_CLIENT_SECRET are required with PORTAL_OIDC_ISSUER")
    role_map = []
    for pair in filter(None, (p.strip() for p in env("PORTAL_OIDC_ROLE_MAP", "").split(","))):
        source, sep, role = pair.partition("=")
        if not sep or not source.strip() or role.strip() not in ROLES:
            raise ConfigError(f"PORTAL_OIDC_ROLE_MAP: {pair!r} is not <IdP value>=<{'|'.join(ROLES)}>")
        role_map.append((source.strip(), role.strip()))
    algorithms = tuple(a.strip() for a in env("PORTAL_OIDC_ALGORITHMS", "RS256").split(",") if a.strip())
    if not algorithms or any(a not in ("RS256", "RS384", "RS512", "PS256", "ES256") for a in algorithms):
        raise ConfigError("PORTAL_OIDC_ALGORITHMS: asymmetric algorithms only (RS256, RS384, RS512, PS256, ES256)")
    scopes = env("PORTAL_OIDC_SCOPES", "openid profile")
    if "openid" not in scopes.split():
        raise ConfigError("PORTAL_OIDC_SCOPES must include openid")
    return OidcSettings(issuer=issuer, client_id=client_id, client_secret=secret,
                        discovery_url=env("PORTAL_OIDC_DISCOVERY_URL", "").strip(), scopes=scopes,
                        role_claim=env("PORTAL_OIDC_ROLE_CLAIM", "role"), agency_claim=env("PORTAL_OIDC_AGENCY_CLAIM", "agency"),
                        role_map=tuple(role_map), algorithms=algorithms,
                        timeout=env_float("PORTAL_OIDC_TIMEOUT", 5.0))
