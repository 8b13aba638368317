"""The national public service portal (DVCQG) transport: a session cached until shortly before it expires, one
data call with strict reading of the answer, and the typed errors a caller acts on. Shared by processing (dossier
and progress sync) and intake (the procedure catalogue); each service keeps its own mapping.

Protocol (docs/dvcqg.md): `POST auth_path` {username, password} with a `dstcode` header answers
{"error_code": 0, "session"}; every data call is a `POST integration_path` {session, madonvi, service, ...}.
Success is error_code 0, "0" or "00"; anything the client cannot read is a failure, never a success.

Errors the caller acts on:
- `DvcqgUnavailable`: retry later with backoff (network, timeout, HTTP error, unreadable answer, system error,
  a session the portal keeps refusing, credentials refused).
- `DvcqgRejected(message)`: the portal refused the data; park the sync with the portal's message.
- `DvcqgAlreadyExists`: a new dossier the portal already holds; send it again as an update.
"""
from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable

import requests

from .config import ConfigError, dev_secret, env, env_float

log = logging.getLogger(__name__)

SUCCESS_CODES = (0, "0", "00")
_INTEGER_CODE = re.compile(r"^-?\d{1,6}$")
_EXPIRED = re.compile(r"(phiên|session|token).*(hết hạn|expired|không hợp lệ|invalid)", re.IGNORECASE)
_TRANSIENT = re.compile(r"lỗi hệ thống|thử lại|quá tải|bảo trì|timeout|time-out", re.IGNORECASE)
_ALREADY_EXISTS = "đã tồn tại"
_NOT_YET = re.compile(r"chưa tồn tại|không tồn tại hồ sơ|hồ sơ .* không tồn tại", re.IGNORECASE)


class DvcqgError(Exception):
    """Something the portal (or the way to it) answered; `answer` is the start of what came back, for the log."""

    def __init__(self, message: str, answer: str = ""):
        super().__init__(message)
        self.message = message
        self.answer = answer


class DvcqgUnavailable(DvcqgError):
    """Try again later: nothing says the portal refused the data."""


class DvcqgAuthFailed(DvcqgUnavailable):
    """The portal refused the credentials or dstcode: a configuration fault, retried until someone fixes it."""


class DvcqgRejected(DvcqgError):
    """The portal refused the data: park the sync with `message`, the portal's own words."""


class DvcqgUnknownDossier(DvcqgRejected):
    """An update or progress row for a dossier the portal never received."""


class DvcqgAlreadyExists(DvcqgError):
    """A new dossier ("isUpdating": "False") the portal already holds: send it as an update."""


def is_success(code: Any) -> bool:
    """0, "0" or "00", and nothing else: not False (which equals 0 in Python), not 0.0, not " 0"."""
    return (type(code) is int and code == 0) or (type(code) is str and code in ("0", "00"))


# The national portal simulator's development password (simulators/motcua_sims/dvcqg.py).
DEV_DVCQG_PASSWORD = "dev-dvcqg-password"


@dataclass(frozen=True)
class DvcqgSettings:
    """How one service reaches the national portal, from `<PREFIX>_DVCQG_*`; an empty URL turns its sync off.

    Each service has its own account and settings (intake reads the catalogue, processing sends dossiers), read and
    checked the same way: an http(s) URL, a positive timeout, and the development password counted as a development
    default only while the sync is on (off, it guards nothing, and a production start is not refused for it).
    """
    url: str = ""
    auth_path: str = "/dvcqg/auth"
    integration_path: str = "/dvcqg/integration"
    username: str = "motcua"
    password: str = DEV_DVCQG_PASSWORD
    madonvi: str = ""
    dstcode: str = ""
    timeout_seconds: float = 10.0
    dev_defaults: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, prefix: str, *, timeout_default: float) -> "DvcqgSettings":
        # Each name spelled out whole (f"{prefix}_DVCQG_..."): the deployment tests find the names the code reads.
        url = (env(f"{prefix}_DVCQG_URL", "") or "").strip().rstrip("/")
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{prefix}_DVCQG_URL must be an http(s) URL, got {url!r}")
        timeout = env_float(f"{prefix}_DVCQG_TIMEOUT_SECONDS", timeout_default)
        if timeout <= 0:
            raise ConfigError(f"{prefix}_DVCQG_TIMEOUT_SECONDS must be a positive number of seconds, got {timeout:g}")
        password, password_is_dev = dev_secret(f"{prefix}_DVCQG_PASSWORD", DEV_DVCQG_PASSWORD)
        return cls(
            url=url,
            auth_path=env(f"{prefix}_DVCQG_AUTH_PATH", "/dvcqg/auth"),
            integration_path=env(f"{prefix}_DVCQG_INTEGRATION_PATH", "/dvcqg/integration"),
            username=env(f"{prefix}_DVCQG_USERNAME", "motcua"),
            password=password,
            madonvi=env(f"{prefix}_DVCQG_MADONVI", ""),
            dstcode=env(f"{prefix}_DVCQG_DSTCODE", ""),
            timeout_seconds=timeout,
            dev_defaults=(f"{prefix}_DVCQG_PASSWORD",) if url and password_is_dev else (),
        )

    def client(self) -> "DvcqgClient":
        return DvcqgClient(self.url, self.auth_path, self.integration_path, self.username, self.password,
                           self.madonvi, self.dstcode, self.timeout_seconds)


class DvcqgClient:
    """One client per worker: a pooled HTTP session and a portal session cached until shortly before it expires.

    The portal does not say how long a session lives (OpenCPS keeps it 10 minutes), so the client renews it
    after `session_ttl_s - renew_margin_s`; if the portal ends it sooner, the "expired session" answer makes the
    client fetch one new session and send the call once more.
    """

    def __init__(self, base_url: str, auth_path: str, integration_path: str, username: str, password: str,
                 madonvi: str, dstcode: str = "", timeout: float = 10.0, *, session_ttl_s: float = 600.0,
                 renew_margin_s: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 http: requests.Session | None = None):
        self.auth_url = base_url.rstrip("/") + "/" + auth_path.lstrip("/")
        self.integration_url = base_url.rstrip("/") + "/" + integration_path.lstrip("/")
        self.username, self.password = username, password
        self.madonvi, self.dstcode = madonvi, dstcode
        self.timeout = timeout
        self.session_lifetime_s = session_ttl_s - renew_margin_s if session_ttl_s > renew_margin_s else session_ttl_s / 2
        self.clock = clock
        self.http = http or requests.Session()
        self.http.headers.update({"Accept": "application/json"})
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.sessions_opened = 0

    def close(self) -> None:
        self.http.close()

    # --- the session --------------------------------------------------------------------------------------

    def _headers(self) -> dict:
        return {"dstcode": self.dstcode} if self.dstcode else {}

    def session(self) -> str:
        """The cached session, or a new one when it is due for renewal."""
        with self._lock:
            if self._token is None or self.clock() >= self._renew_at:
                self._token = self._open_session()
                self._renew_at = self.clock() + self.session_lifetime_s
            return self._token

    def _drop_session(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    def _open_session(self) -> str:
        started = self.clock()
        body = self._post(self.auth_url, {"username": self.username, "password": self.password}, "auth")
        code, message = body.get("error_code"), _message(body)
        if not is_success(code):
            if _readable_code(code) and not _TRANSIENT.search(message):
                raise DvcqgAuthFailed(f"DVCQG refused the credentials: {message or code}", _short(body))
            raise DvcqgUnavailable(f"DVCQG auth failed: {message or code!r}", _short(body))
        token = body.get("session")
        if not isinstance(token, str) or not token.strip():
            raise DvcqgUnavailable("DVCQG auth answered success without a session", _short(body))
        self.sessions_opened += 1
        log.info("DVCQG session opened", extra={"event": "dvcqg.session_opened",
                                                "duration_ms": round((self.clock() - started) * 1000)})
        return token

    # --- calls --------------------------------------------------------------------------------------------

    def _post(self, url: str, payload: dict, service: str) -> dict:
        try:
            response = self.http.post(url, json=payload, headers=self._headers(), timeout=self.timeout)
        except requests.RequestException as exc:
            raise DvcqgUnavailable(f"DVCQG {service}: {type(exc).__name__}") from exc
        text = response.text[:300]
        if response.status_code != 200:
            raise DvcqgUnavailable(f"DVCQG {service}: HTTP {response.status_code}", text)
        try:
            body = response.json()
        except ValueError:
            raise DvcqgUnavailable(f"DVCQG {service}: the answer is not JSON", text) from None
        if not isinstance(body, dict) or "error_code" not in body:
            raise DvcqgUnavailable(f"DVCQG {service}: the answer has no error_code", text)
        return body

    def call(self, service: str, **fields: Any) -> dict:
        """One data call, with one renewal of the session if the portal says it expired; the parsed answer."""
        for attempt in (1, 2):
            token = self.session()
            body = self._post(self.integration_url,
                              {"session": token, "madonvi": self.madonvi, "service": service, **fields}, service)
            code, message = body["error_code"], _message(body)
            if not _readable_code(code):
                raise DvcqgUnavailable(f"DVCQG {service}: unreadable error_code {code!r}", _short(body))
            if not is_success(code) and _EXPIRED.search(message):
                self._drop_session(token)
                if attempt == 1:
                    log.info("DVCQG session ended early; renewing", extra={"event": "dvcqg.session_expired",
                                                                          "dvcqg_service": service})
                    continue
                raise DvcqgUnavailable(f"DVCQG {service}: a new session was refused at once: {message}",
                                       _short(body))
            if _ALREADY_EXISTS in unicodedata.normalize("NFC", message).lower():
                raise DvcqgAlreadyExists(message, _short(body))
            if is_success(code):
                return body
            if _TRANSIENT.search(message):
                raise DvcqgUnavailable(f"DVCQG {service}: {message}", _short(body))
            if _NOT_YET.search(message):
                raise DvcqgUnknownDossier(message or str(code), _short(body))
            raise DvcqgRejected(message or f"error_code {code}", _short(body))
        raise AssertionError("unreachable")

    def push_dossier(self, record: dict, is_updating: bool) -> dict:
        """DongBoHoSoMC with the whole dossier; raises DvcqgAlreadyExists for a new dossier the portal holds."""
        return self.call("DongBoHoSoMC", isUpdating="True" if is_updating else "False", data=[record])

    def upsert_dossier(self, record: dict, known: bool = False) -> str:
        """Send the dossier as new or as an update, switching once on the portal's answer; "created" or "updated"."""
        try:
            self.push_dossier(record, is_updating=known)
            return "updated" if known else "created"
        except DvcqgAlreadyExists:
            if known:
                raise
            self.push_dossier(record, is_updating=True)
            return "updated"
        except DvcqgUnknownDossier:
            if not known:
                raise
            self.push_dossier(record, is_updating=False)
            return "created"

    def push_progress(self, rows: list[dict]) -> dict:
        """CapNhatTienDoHoSoMC with progress rows, in the order given."""
        if not rows:
            raise ValueError("push_progress needs at least one row")
        return self.call("CapNhatTienDoHoSoMC", data=list(rows))

    def exists(self, code: str) -> bool:
        """TraCuuHoSo: does the portal hold this dossier?"""
        return bool(self._result_list(self.call("TraCuuHoSo", mahoso=code), "TraCuuHoSo"))

    def get_procedure(self, code: str) -> dict | None:
        """LayThuTuc: one procedure of the national catalogue, or None when the portal does not know it."""
        body = self.call("LayThuTuc", maTTHC=code)
        if isinstance(body.get("result"), dict):
            return body["result"]
        result = self._result_list(body, "LayThuTuc")
        if result and not isinstance(result[0], dict):
            raise DvcqgUnavailable("DVCQG LayThuTuc: the result is not a procedure", _short(body))
        return result[0] if result else None

    def list_procedures(self) -> list[dict]:
        """LayDanhSachTTHC: the national catalogue (MATTHC, TENTTHC, ...)."""
        body = self.call("LayDanhSachTTHC")
        result = self._result_list(body, "LayDanhSachTTHC")
        if not all(isinstance(item, dict) and isinstance(item.get("MATTHC"), str) for item in result):
            raise DvcqgUnavailable("DVCQG LayDanhSachTTHC: an item without MATTHC", _short(body))
        return result

    @staticmethod
    def _result_list(body: dict, service: str) -> list:
        result = body.get("result", [])
        if result is None:
            return []
        if not isinstance(result, list):
            raise DvcqgUnavailable(f"DVCQG {service}: result is not a list", _short(body))
        return result


def _readable_code(code: Any) -> bool:
    return (type(code) is int) or (type(code) is str and bool(_INTEGER_CODE.match(code)))


def _message(body: dict) -> str:
    message = body.get("message", "")
    return message if isinstance(message, str) else str(message)


def _short(body: Any) -> str:
    text = str({k: v for k, v in body.items() if k != "session"}) if isinstance(body, dict) else str(body)
    return text[:300]
