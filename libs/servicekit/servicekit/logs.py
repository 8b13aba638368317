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


# A phone or ID number as people write it: 9 or more digits, optionally led by "+" and grouped by
# spaces, dots or dashes ("0912 345 678", "091.234.5678", "+84 912 345 678", "0123456789-001").
# A run glued to a letter, a dot or a dash (a dossier code's "H56-261124-0001", a UUID's last group,
# a tracking number "EB123456789VN") is an identifier of ours, not a person's.
_NUMBER = re.compile(r"(?<![\w.\-+])\+?\d(?:[ .\-]?\d){8,}(?![\w\-]|\.\d)")
_EMAIL = re.compile(r"[\w.+\-]+@([\w\-]+(?:\.[\w\-]+)+)")
# Fields the kit writes itself and that never hold personal data; everything else is scrubbed.
_NOT_SCRUBBED = frozenset({"ts", "level", "service", "logger", "event", "correlation_id", "dossier_code"})


_PERSONAL = re.compile(f"(?P<email>{_EMAIL.pattern})|(?P<number>{_NUMBER.pattern})")


def _mask(match: re.Match) -> str:
    if match.group("email"):
        return "***@" + match.group(2)
    digits = [c for c in match.group("number") if c.isdigit()]
    return "*" * (len(digits) - 3) + "".join(digits[-3:])


def scrub(text: str) -> str:
    """Last line of defence: phone and ID numbers keep their last 3 digits, e-mail addresses their domain."""
    if not isinstance(text, str) or len(text) < 6:  # shorter than any address or 9-digit number
        return text
    return _PERSONAL.sub(_mask, text)


def scrub_value(value):
    """scrub() through strings, and the strings inside lists, tuples and dicts (keys too)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_value(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [scrub_value(v) for v in value]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return scrub(str(value))  # whatever json.dumps would have turned into text with default=str


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
            "message": record.getMessage(),
            "correlation_id": correlation_id.get(),
            "dossier_code": dossier_code.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        # Every field is scrubbed, not only the message: a phone passed as `extra`, an exception's text
        # (a database error quoting a row), a list of recipients.
        for key, value in out.items():
            if key not in _NOT_SCRUBBED:
                out[key] = scrub_value(value)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # pika logs every reconnect attempt at ERROR with a traceback; our own code reports those once.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
