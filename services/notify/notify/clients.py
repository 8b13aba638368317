"""Adapters to the outside parties: the SMS/Zalo gateway over HTTP, and email over SMTP.

Each answers with an Outcome: `sent`, `retry` (timeouts, connection errors, 5xx, 429 and the SMTP
equivalents), or `failed` (anything a person must fix first, such as a refused phone number).
"""
from __future__ import annotations

import smtplib
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from .pdf import FILENAME as SLIP_FILENAME
from .pdf import apology_slip
from .use_cases import Claimed

APOLOGY = "dossier.apology_issued"  # its email carries the apology slip (form 04) as a PDF

RETRYABLE_STATUS = {429} | set(range(500, 600))


@dataclass(frozen=True)
class Outcome:
    result: str  # sent | retry | failed
    status_code: int | None = None
    response: str | None = None
    error: str | None = None
    provider_status: str | None = None
    retry_after: float | None = None
    unreachable: bool = False  # no connection to the gateway: it never got the message (an outage, not a refusal)


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None  # an HTTP date, or nothing: our own backoff applies


class GatewayClient:
    """POST /v1/messages on the SMS/Zalo gateway, over one keep-alive session per sender thread."""

    def __init__(self, base_url: str, *, timeout: float = 5.0):
        self.url = base_url.rstrip("/") + "/v1/messages"
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        # requests.Session is not documented as thread-safe: each sender thread keeps its own.
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=2, max_retries=0))
            session.mount("https://", HTTPAdapter(pool_connections=1, pool_maxsize=2, max_retries=0))
            self._local.session = session
        return session

    @staticmethod
    def payload(message: Claimed) -> dict:
        body = {"message_id": message.id, "channel": message.channel, "to": message.to_address}
        if message.channel == "zalo" and message.zalo_template_id:
            body.update(template_id=message.zalo_template_id, params=message.params or {})
        else:
            body["text"] = message.text
        return body

    def send(self, message: Claimed) -> Outcome:
        try:
            response = self._session().post(self.url, json=self.payload(message), timeout=self.timeout)
        except (requests.Timeout, requests.ConnectionError) as exc:
            unreachable = isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ReadTimeout)
            return Outcome("retry", error=f"{type(exc).__name__}: {exc}"[:500], unreachable=unreachable)
        except requests.RequestException as exc:
            return Outcome("failed", error=f"{type(exc).__name__}: {exc}"[:500])
        text = response.text[:500]
        if 200 <= response.status_code < 300:
            try:
                provider_status = str(response.json().get("status") or "accepted")
            except (ValueError, AttributeError):
                provider_status = "accepted"
            return Outcome("sent", response.status_code, text, provider_status=provider_status[:40])
        error = f"HTTP {response.status_code}"
        if response.status_code in RETRYABLE_STATUS:
            return Outcome("retry", response.status_code, text, error, retry_after=_retry_after(response))
        return Outcome("failed", response.status_code, text, error)

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()


class SmtpMailer:
    """Email by SMTP to MOTCUA_SMTP_URL (smtp://[user:password@]host:port, or smtps:// for TLS)."""

    def __init__(self, url: str, *, sender: str, timeout: float = 5.0, smtp_factory=None):
        parts = urlsplit(url)
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.ssl else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout
        self._factory = smtp_factory or (smtplib.SMTP_SSL if self.ssl else smtplib.SMTP)

    def build(self, message: Claimed) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to_address
        email["Subject"] = message.subject or ""
        # The message row's id, so a mail log can be matched to the row.
        email["Message-ID"] = make_msgid(idstring=message.id, domain="motcua.local")
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        if message.kind == APOLOGY and message.params:
            email.add_attachment(apology_slip(message.params), maintype="application", subtype="pdf",
                                 filename=SLIP_FILENAME)
        return email

    def send(self, message: Claimed) -> Outcome:
        try:
            with self._factory(self.host, self.port, timeout=self.timeout) as smtp:
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(self.build(message))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return self._by_code(min(codes) if codes else 550, str(exc.recipients))
        except smtplib.SMTPResponseException as exc:
            return self._by_code(exc.smtp_code, exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error))
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            # No server answering, a dropped connection, a timeout: a later attempt may succeed.
            return Outcome("retry", error=f"{type(exc).__name__}: {exc}"[:500])
        if refused:
            return Outcome("failed", error=f"recipient refused: {refused}"[:500])
        return Outcome("sent", 250, provider_status="accepted")

    @staticmethod
    def _by_code(code: int, text: str) -> Outcome:
        # SMTP's convention is the reverse of HTTP's: 4xx is a temporary failure, 5xx a permanent one.
        result = "retry" if 400 <= code < 500 else "failed"
        return Outcome(result, code, text[:500], f"SMTP {code}")


class Transports:
    """Which adapter carries which channel."""

    def __init__(self, gateway: GatewayClient, mailer: SmtpMailer):
        self.gateway = gateway
        self.mailer = mailer

    def send(self, message: Claimed) -> Outcome:
        return self.mailer.send(message) if message.channel == "email" else self.gateway.send(message)

    def close(self) -> None:
        self.gateway.close()
