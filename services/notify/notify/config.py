"""Settings.from_env(): the only place notify reads the environment."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from servicekit.config import ConfigError, KitSettings, dev_secret, env, env_float, env_int

DEV_WEBHOOK_SECRET = "dev-sms-webhook-secret"


@dataclass(frozen=True)
class Settings:
    kit: KitSettings
    sms_gateway_url: str = "http://127.0.0.1:8103"
    sender_threads: int = 4
    max_attempts: int = 5
    webhook_secret: str = DEV_WEBHOOK_SECRET
    webhook_secret_old: str | None = None
    smtp_url: str = "smtp://127.0.0.1:1025"
    email_from: str = "Dịch vụ công Một Cửa <no-reply@motcua.local>"
    portal_url: str = "http://127.0.0.1:8000"
    sms_max_segments: int = 2
    send_timeout_seconds: float = 5.0
    send_lease_seconds: int = 30
    retry_base_seconds: float = 2.0
    dev_defaults: tuple[str, ...] = field(default=())

    @classmethod
    def from_env(cls) -> "Settings":
        secret, secret_is_default = dev_secret("SMS_GATEWAY_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET)
        threads = env_int("NOTIFY_SENDER_THREADS", 4)
        attempts = env_int("NOTIFY_MAX_ATTEMPTS", 5)
        timeout = env_float("NOTIFY_SEND_TIMEOUT_SECONDS", 5.0)
        lease = env_int("NOTIFY_SEND_LEASE_SECONDS", 30)
        if env("NOTIFY_TRACKING_URL"):
            # Its links went to the API, which answers 401 without a token. Ignored, and said so, rather than
            # refused: scripts/suite.py still sets it until the lead drops that line.
            logging.getLogger(__name__).warning(
                "NOTIFY_TRACKING_URL is ignored: links go to the citizen portal at MOTCUA_PORTAL_URL",
                extra={"event": "config.obsolete", "setting": "NOTIFY_TRACKING_URL"})
        segments = env_int("NOTIFY_SMS_MAX_SEGMENTS", 2)
        if not 1 <= segments <= 10:
            raise ConfigError("NOTIFY_SMS_MAX_SEGMENTS must be between 1 and 10")
        if threads < 1:
            raise ConfigError("NOTIFY_SENDER_THREADS must be at least 1")
        if attempts < 1:
            raise ConfigError("NOTIFY_MAX_ATTEMPTS must be at least 1")
        if lease <= timeout:
            # A lease shorter than one send would let a second sender take a message still in flight.
            raise ConfigError("NOTIFY_SEND_LEASE_SECONDS must be longer than NOTIFY_SEND_TIMEOUT_SECONDS")
        smtp_url = env("MOTCUA_SMTP_URL", "smtp://127.0.0.1:1025")
        if not smtp_url.startswith(("smtp://", "smtps://")):
            raise ConfigError(f"MOTCUA_SMTP_URL must start with smtp:// or smtps://, got {smtp_url!r}")
        return cls(
            kit=KitSettings.from_env("notify"),
            sms_gateway_url=env("NOTIFY_SMS_GATEWAY_URL", "http://127.0.0.1:8103").rstrip("/"),
            sender_threads=threads,
            max_attempts=attempts,
            webhook_secret=secret,
            webhook_secret_old=env("SMS_GATEWAY_WEBHOOK_SECRET_OLD"),
            smtp_url=smtp_url,
            email_from=env("NOTIFY_EMAIL_FROM", cls.email_from),
            portal_url=env("MOTCUA_PORTAL_URL", "http://127.0.0.1:8000").rstrip("/"),
            sms_max_segments=segments,
            send_timeout_seconds=timeout,
            send_lease_seconds=lease,
            retry_base_seconds=env_float("NOTIFY_RETRY_BASE_SECONDS", 2.0),
            dev_defaults=("SMS_GATEWAY_WEBHOOK_SECRET",) if secret_is_default else (),
        )

    @property
    def webhook_secrets(self) -> list[str]:
        """The current secret first; the old one too while a rotation is under way."""
        return [self.webhook_secret] + ([self.webhook_secret_old] if self.webhook_secret_old else [])
