"""JSON logs, one object per line, with service, correlation id and dossier code; personal data masked."""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
dossier_code: contextvars.ContextVar[str | None] = contextvars.ContextVar("dossier_code", default=None)

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def mask_digits(value: str | None, keep: int = 3) -> str | None:
    """Phone and ID numbers go into logs with all but the last few digits hidden."""
    if not value:
        return value
    return "*" * max(len(value) - keep, 0) + value[-keep:]


_LONG_NUMBER = re.compile(r"\b\d{9,13}\b")


def scrub(text: str) -> str:
    """Last line of defence: a 9-13 digit run in a free-text message is a phone or ID number."""
    return _LONG_NUMBER.sub(lambda m: mask_digits(m.group(0)), text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "event": getattr(record, "event", None) or record.name,
            "message": scrub(record.getMessage()),
            "correlation_id": correlation_id.get(),
            "dossier_code": dossier_code.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # pika logs every reconnect attempt at ERROR with a traceback; our own code reports those once.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
