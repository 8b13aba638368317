"""The only way the portal talks to the suite: intake's Citizen API and processing's Officer API over HTTP.

One `requests.Session` per service (kept-alive connections, reused by every request of this process), short
timeouts, and two outcomes a page can act on: `ApiError` (the service answered 4xx with the suite's error
shape `{code, status, message, errors}`) and `ApiDown` (no answer, a timeout or a 5xx: the page says the
system is busy and what to do, never the raw error).
"""
from __future__ import annotations

import logging
import threading

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)


class ApiDown(Exception):
    """The service did not answer usefully (connection refused, timeout, 5xx)."""

    def __init__(self, service: str, reason: str):
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason


class ApiError(Exception):
    """A 4xx answer in the suite's error shape."""

    def __init__(self, status: int, message: str = "", errors: dict | None = None, headers=None):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.errors = errors or {}
        self.headers = headers or {}


class Service:
    def __init__(self, name: str, base_url: str, connect_timeout: float, read_timeout: float):
        self.name = name
        self.base_url = base_url
        self.timeout = (connect_timeout, read_timeout)
        self._local = threading.local()

    @property
    def http(self) -> requests.Session:
        # A session per thread: requests.Session is not documented as thread-safe; each gunicorn thread keeps
        # its own pool of kept-alive connections.
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.mount("http://", HTTPAdapter(pool_connections=2, pool_maxsize=8, max_retries=0))
            session.mount("https://", HTTPAdapter(pool_connections=2, pool_maxsize=8, max_retries=0))
            self._local.session = session
        return session

    def request(self, method: str, path: str, *, token: str | None = None, raw: bool = False, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = self.base_url + path
        try:
            response = self.http.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            log.warning("api unreachable", extra={"event": "portal.api_down", "api": self.name, "path": path,
                                                   "error": type(exc).__name__})
            raise ApiDown(self.name, type(exc).__name__) from None
        if response.status_code >= 500:
            log.warning("api error", extra={"event": "portal.api_down", "api": self.name, "path": path,
                                             "status": response.status_code})
            raise ApiDown(self.name, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            raise ApiError(response.status_code, str(body.get("message") or ""), _errors(body.get("errors")),
                           response.headers)
        if raw:
            return response
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise ApiDown(self.name, "answer is not JSON") from None

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)


def _errors(errors) -> dict:
    """Flatten the error shape's `errors` ({"applicant": {"id_number": ["..."]}} → {"applicant.id_number": "..."})."""
    out: dict[str, str] = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            if value and all(isinstance(v, str) for v in value):
                out[prefix] = value[0]
            else:
                for index, inner in enumerate(value):
                    walk(f"{prefix}.{index}" if prefix else str(index), inner)
        elif value is not None:
            out[prefix] = str(value)

    # flask-smorest (webargs) nests field messages under the request location: {"json": {"applicant": ...}}
    if isinstance(errors, dict) and errors and set(errors) <= {"json", "query", "form", "files", "headers"}:
        for location in errors.values():
            walk("", location)
    else:
        walk("", errors or {})
    return out


class Apis:
    def __init__(self, settings):
        self.intake = Service("intake", settings.intake_url, settings.connect_timeout, settings.read_timeout)
        self.processing = Service("processing", settings.processing_url, settings.connect_timeout,
                                  settings.read_timeout)
