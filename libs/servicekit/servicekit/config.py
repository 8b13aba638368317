"""Settings from the environment: the kit's part of every service's configuration."""
from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"intake": 8001, "processing": 8002, "payment": 8003, "postal": 8004, "notify": 8005}
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-before-production"
ENVIRONMENTS = ("development", "staging", "production")


class ConfigError(SystemExit):
    """A missing or malformed setting: the process stops at start with this message."""

    def __init__(self, message: str):
        super().__init__(f"configuration error: {message}")


def env(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ConfigError(f"{name} is required but not set")
        return default
    return value


def env_int(name: str, default: int) -> int:
    raw = env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = env(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in (env(name, default) or "").split(",") if part.strip()]


@dataclass(frozen=True)
class KitSettings:
    """What the kit needs to run one service; each service's Settings carries one of these as `.kit`."""

    service: str
    database_url: str
    amqp_url: str
    port: int
    jwt_secret: str
    jwt_algorithm: str = "HS256"
    jwt_public_key: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # The key being rotated out (an HS256 secret or an RS256 public key): accepted beside the current one.
    jwt_previous_key: str | None = None
    # RS256 keys published by the identity provider (its JWKS), chosen by a token's `kid`; instead of a fixed PEM.
    jwt_jwks_url: str | None = None
    environment: str = "development"
    log_level: str = "INFO"
    prefetch: int = 100
    retry_delays_ms: tuple[int, ...] = (1000, 5000, 30000)
    delivery_limit: int = 20
    relay_doorbell: str | None = None
    relay_window: int = 1000
    relay_batch: int = 500
    relay_lease_seconds: int = 60
    relay_stuck_seconds: int = 60
    reconnect_max_seconds: float = 3.0
    heartbeat_seconds: int = 30
    var_dir: str = "var"
    dev_defaults: tuple[str, ...] = field(default=())
    # Reliability knobs (docs/operations-queues.md, docs/configuration.md "Reliability knobs").
    unroutable_give_up_seconds: float = 120.0
    relay_settle_seconds: float = 8.0
    # A broker back without its data lost what it had confirmed and not yet delivered: the relay publishes again
    # what it sent in this window before its latest send; inboxes absorb the copies consumers already had.
    relay_replay_seconds: float = 900.0
    worker_health_host: str = "127.0.0.1"
    worker_health_port: int = 0  # 0: no health endpoint (from_env gives the service port + 2000)
    worker_stale_seconds: float = 30.0
    dead_letter_poll_seconds: float = 5.0
    db_outage_max_backoff_seconds: float = 10.0
    inbox_retention_hours: int = 168
    outbox_retention_hours: int = 168

    @classmethod
    def from_env(cls, service: str) -> "KitSettings":
        prefix = service.upper()
        var_dir = env("MOTCUA_VAR_DIR", "var")
        port = env_int(f"{prefix}_PORT", DEFAULT_PORTS.get(service, 8000))
        environment = env("MOTCUA_ENV", "development")
        if environment not in ENVIRONMENTS:
            raise ConfigError(f"MOTCUA_ENV must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
        jwt_secret = env("MOTCUA_JWT_SECRET", DEV_JWT_SECRET)
        dev_defaults = ("MOTCUA_JWT_SECRET",) if jwt_secret == DEV_JWT_SECRET else ()
        algorithm = env("MOTCUA_JWT_ALGORITHM", "HS256")
        if algorithm not in ("HS256", "RS256"):
            raise ConfigError(f"MOTCUA_JWT_ALGORITHM must be HS256 or RS256, got {algorithm!r}")
        if algorithm == "HS256" and environment != "development":
            if jwt_secret == DEV_JWT_SECRET:
                raise ConfigError(
                    f"MOTCUA_JWT_SECRET is left at its development default while MOTCUA_ENV={environment}: "
                    "anyone can sign officer tokens with it; set a secret of your own")
            if len(jwt_secret.encode()) < 32:
                raise ConfigError("MOTCUA_JWT_SECRET must be at least 32 bytes outside development (HS256)")
        public_key = _pem_or_file(env("MOTCUA_JWT_PUBLIC_KEY"))
        jwks_url = env("MOTCUA_JWT_JWKS_URL")
        if jwks_url and (algorithm != "RS256" or not jwks_url.startswith(("https://", "http://"))):
            raise ConfigError("MOTCUA_JWT_JWKS_URL must be an http(s) URL and needs MOTCUA_JWT_ALGORITHM=RS256, "
                              f"got {jwks_url!r} with {algorithm}")
        if algorithm == "RS256" and not (public_key or jwks_url):
            raise ConfigError("MOTCUA_JWT_PUBLIC_KEY or MOTCUA_JWT_JWKS_URL is required when MOTCUA_JWT_ALGORITHM=RS256")
        # Rotation without downtime: the old key stays accepted until the tokens it signed have expired.
        previous_key = env("MOTCUA_JWT_PREVIOUS_KEY")
        if previous_key and algorithm == "RS256":
            previous_key = _pem_or_file(previous_key)
        elif previous_key and environment != "development" and (
                previous_key == DEV_JWT_SECRET or len(previous_key.encode()) < 32):
            raise ConfigError("MOTCUA_JWT_PREVIOUS_KEY must be a secret of at least 32 bytes, not the development "
                              "default, outside development (HS256)")
        delays = tuple(int(x) for x in env_list("MOTCUA_RETRY_DELAYS_MS", "1000,5000,30000"))
        if not delays or any(d <= 0 for d in delays):
            raise ConfigError("MOTCUA_RETRY_DELAYS_MS must list positive milliseconds, e.g. 1000,5000,30000")
        lease = env_int("MOTCUA_RELAY_LEASE_SECONDS", 60)
        # While the broker blocks publishers (memory or disk alarm), confirms stop; pika drops the connection
        # after BLOCKED_CONNECTION_TIMEOUT_SECONDS and the relay releases its claims. A lease shorter than that
        # would let a second relay copy claim and publish the same rows while the first still holds them.
        from .topology import BLOCKED_CONNECTION_TIMEOUT_SECONDS

        if lease <= BLOCKED_CONNECTION_TIMEOUT_SECONDS:
            raise ConfigError(f"MOTCUA_RELAY_LEASE_SECONDS must exceed the blocked-connection timeout "
                              f"({BLOCKED_CONNECTION_TIMEOUT_SECONDS} s), got {lease}")
        inbox_hours = env_int("MOTCUA_INBOX_RETENTION_HOURS", 168)
        replay = env_float("MOTCUA_RELAY_REPLAY_SECONDS", 900.0)
        if not 0 <= replay <= inbox_hours * 3600:
            raise ConfigError(
                "MOTCUA_RELAY_REPLAY_SECONDS must be between 0 and the inbox retention (MOTCUA_INBOX_RETENTION_HOURS "
                f"= {inbox_hours} h): an event published again after its inbox row is pruned would be handled twice; "
                f"got {replay:g}")
        return cls(
            service=service,
            database_url=env(f"{prefix}_DATABASE_URL", f"sqlite:///{var_dir}/data/{service}.db"),
            amqp_url=env("MOTCUA_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
            port=port,
            jwt_secret=jwt_secret,
            jwt_algorithm=algorithm,
            jwt_public_key=public_key,
            jwt_issuer=env("MOTCUA_JWT_ISSUER"),
            jwt_audience=env("MOTCUA_JWT_AUDIENCE"),
            jwt_previous_key=previous_key or None,
            jwt_jwks_url=jwks_url or None,
            environment=environment,
            log_level=env("MOTCUA_LOG_LEVEL", "INFO"),
            prefetch=env_int("MOTCUA_PREFETCH", 100),
            retry_delays_ms=delays,
            delivery_limit=env_int("MOTCUA_DELIVERY_LIMIT", 20),
            # The web process rings the worker's relay over UDP after a commit that wrote outbox rows.
            relay_doorbell=env(f"{prefix}_RELAY_DOORBELL", f"127.0.0.1:{port + 1000}"),
            relay_window=env_int("MOTCUA_RELAY_WINDOW", 1000),
            relay_batch=env_int("MOTCUA_RELAY_BATCH", 500),
            relay_lease_seconds=lease,
            relay_stuck_seconds=env_int("MOTCUA_OUTBOX_STUCK_SECONDS", 60),
            reconnect_max_seconds=env_float("MOTCUA_AMQP_RECONNECT_MAX_SECONDS", 3.0),
            heartbeat_seconds=env_int("MOTCUA_AMQP_HEARTBEAT_SECONDS", 30),
            var_dir=var_dir,
            dev_defaults=dev_defaults,
            unroutable_give_up_seconds=env_float("MOTCUA_UNROUTABLE_GIVE_UP_SECONDS", 120.0),
            relay_settle_seconds=env_float("MOTCUA_RELAY_SETTLE_SECONDS", 8.0),
            relay_replay_seconds=replay,
            worker_health_host=env("MOTCUA_WORKER_HEALTH_HOST", "127.0.0.1"),
            worker_health_port=env_int(f"{prefix}_WORKER_HEALTH_PORT", port + 2000),
            worker_stale_seconds=env_float("MOTCUA_WORKER_STALE_SECONDS", 30.0),
            dead_letter_poll_seconds=env_float("MOTCUA_DEAD_LETTER_POLL_SECONDS", 5.0),
            db_outage_max_backoff_seconds=env_float("MOTCUA_DB_OUTAGE_MAX_BACKOFF_SECONDS", 10.0),
            inbox_retention_hours=inbox_hours,
            outbox_retention_hours=env_int("MOTCUA_OUTBOX_RETENTION_HOURS", 168),
        )

    def warn_dev_defaults(self, extra: tuple[str, ...] = ()) -> None:
        """A warning per secret left at its development value; outside development, a refusal to start."""
        names = tuple(dict.fromkeys(self.dev_defaults + tuple(extra)))
        if names and self.environment != "development":
            raise ConfigError(f"secrets left at their development defaults while MOTCUA_ENV={self.environment}: "
                              + ", ".join(names))
        for name in names:
            log.warning("secret left at its development default", extra={"event": "config.dev_secret", "setting": name})


def _pem_or_file(value: str | None) -> str | None:
    """A PEM key given inline, or the path of a file holding one."""
    if not value or value.lstrip().startswith("-----BEGIN"):
        return value
    try:
        with open(value, encoding="ascii") as fh:
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"MOTCUA_JWT_PUBLIC_KEY is neither a PEM key nor a readable file: {exc}") from None


def dev_secret(name: str, default: str) -> tuple[str, bool]:
    """Read a secret; the flag says it was left at its development default (services warn at start)."""
    value = env(name, default)
    return value, value == default


def fail(message: str) -> None:
    print(f"configuration error: {message}", file=sys.stderr)
    raise ConfigError(message)
