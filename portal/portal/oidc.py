"""Officer sign-in with the province's identity provider (OpenID Connect, authorization code flow with PKCE).

    GET /can-bo/dang-nhap-tinh          → state, nonce and a PKCE verifier kept in the server-side session;
                                           the browser goes to the IdP's authorization endpoint (S256 challenge)
    GET /can-bo/dang-nhap-tinh/ket-qua  → state checked, the code exchanged (client secret + verifier), the ID
                                           token verified (RS256 signature from the IdP's JWKS, iss, aud, exp,
                                           nonce), role and agency read from configurable claims; the access
                                           token stays in the server-side session for calls to processing
    POST /can-bo/dang-xuat              → the session forgets the officer; the IdP's end-session endpoint is
                                           visited when it has one

Every failure ends on a Vietnamese page that says what to do, with no officer in the session (and the pending
state, nonce and verifier forgotten: a second try starts again). PyJWT verifies the token; keys come from the
JWKS document through `requests` (timeouts, the same proxy rules as every other call), refetched once when a
token names a key id we do not hold (the IdP rotated its keys).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
import requests
from flask import Blueprint, redirect, render_template, request, session, url_for

from servicekit.auth import ROLES

from .web import settings

log = logging.getLogger(__name__)
bp = Blueprint("oidc", __name__, url_prefix="/can-bo")
PENDING_SECONDS = 600  # a sign-in must come back from the IdP within ten minutes
LEEWAY = 30  # seconds of clock skew allowed on exp / iat / nbf


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    discovery_url: str = ""  # default: {issuer}/.well-known/openid-configuration
    scopes: str = "openid profile"
    role_claim: str = "role"
    agency_claim: str = "agency"
    role_map: tuple[tuple[str, str], ...] = ()  # IdP value → suite role; empty: the claim holds the suite's role
    algorithms: tuple[str, ...] = ("RS256",)
    timeout: float = 5.0

    @property
    def discovery(self) -> str:
        return self.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"


class SignInFailed(Exception):
    """Why a sign-in stopped; `message` is what the officer reads (Vietnamese), `reason` goes to the log."""

    def __init__(self, reason: str, message: str, status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.status = status


GENERIC = "Không xác minh được thông tin đăng nhập từ hệ thống tài khoản của tỉnh. Hãy đăng nhập lại."


class Provider:
    """The IdP's discovery document and keys, fetched lazily and cached for the process."""

    def __init__(self, config: OidcSettings):
        self.config = config
        self._lock = threading.Lock()
        self._metadata: dict | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self.http = requests.Session()

    def _get_json(self, url: str) -> dict:
        try:
            answer = self.http.get(url, timeout=self.config.timeout)
        except requests.RequestException as exc:
            raise SignInFailed(f"idp unreachable: {type(exc).__name__}", "Hệ thống tài khoản của tỉnh đang không "
                               "trả lời. Hãy thử lại sau ít phút.", 503) from None
        if answer.status_code != 200:
            raise SignInFailed(f"idp answered {answer.status_code} at {url}", "Hệ thống tài khoản của tỉnh đang "
                               "không trả lời. Hãy thử lại sau ít phút.", 503)
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SignInFailed(f"idp document at {url} is not a JSON object", GENERIC, 503)
        return body

    def metadata(self) -> dict:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > 3600:
                doc = self._get_json(self.config.discovery)
                missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri") if not doc.get(k)]
                if missing:
                    raise SignInFailed(f"discovery lacks {missing}", GENERIC, 503)
                if doc["issuer"].rstrip("/") != self.config.issuer.rstrip("/"):
                    raise SignInFailed(f"discovery issuer {doc['issuer']!r} is not the configured issuer", GENERIC, 503)
                self._metadata, self._metadata_at = doc, time.monotonic()
            return self._metadata

    def key(self, kid: str | None) -> jwt.PyJWK:
        with self._lock:
            found = self._keys.get(kid or "")
        if found is not None:
            return found
        jwks = self._get_json(self.metadata()["jwks_uri"])  # unknown key id: the IdP may have rotated its keys
        keys = {}
        for entry in jwks.get("keys") or []:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                keys[entry.get("kid") or ""] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key type this library cannot use: not ours
        with self._lock:
            self._keys = keys
        if (kid or "") not in keys:
            raise SignInFailed(f"no key {kid!r} in the JWKS", GENERIC)
        return keys[kid or ""]


def _provider() -> Provider:
    from flask import current_app

    return current_app.extensions["portal.oidc"]


def configured() -> bool:
    from flask import current_app

    return current_app.extensions.get("portal.oidc") is not None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _redirect_uri() -> str:
    return settings().public_url + url_for("oidc.callback")


@bp.get("/dang-nhap-tinh")
def start():
    if not configured():
        return render_template("officer/sign_in_failed.html", message="Chưa cấu hình đăng nhập bằng tài khoản của "
                               "tỉnh. Hãy báo quản trị hệ thống."), 503
    provider = _provider()
    try:
        meta = provider.metadata()
    except SignInFailed as exc:
        return _failed(exc)
    verifier = _b64(secrets.token_bytes(48))
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    target = request.args.get("tiep") or ""
    session["oidc_pending"] = {"state": state, "nonce": nonce, "verifier": verifier, "at": time.time(),
                               "next": target if target.startswith("/can-bo/") else ""}
    query = {"response_type": "code", "client_id": provider.config.client_id, "redirect_uri": _redirect_uri(),
             "scope": provider.config.scopes, "state": state, "nonce": nonce,
             "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()), "code_challenge_method": "S256"}
    return redirect(meta["authorization_endpoint"] + ("&" if "?" in meta["authorization_endpoint"] else "?")
                    + urlencode(query))


def _failed(exc: SignInFailed):
    session.pop("oidc_pending", None)
    session.pop("officer", None)
    log.warning("officer sign-in refused", extra={"event": "portal.oidc_refused", "reason": exc.reason})
    return render_template("officer/sign_in_failed.html", message=exc.message), exc.status


@bp.get("/dang-nhap-tinh/ket-qua")
def callback():
    pending = session.pop("oidc_pending", None)
    try:
        if not configured():
            raise SignInFailed("oidc not configured", "Chưa cấu hình đăng nhập bằng tài khoản của tỉnh.", 503)
        if not pending or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
            raise SignInFailed("no sign-in pending", "Phiên đăng nhập đã hết hạn hoặc không bắt đầu từ trang này. "
                               "Hãy đăng nhập lại.")
        state = request.args.get("state") or ""
        if not hmac.compare_digest(state.encode(), str(pending.get("state")).encode()):
            raise SignInFailed("state mismatch", "Yêu cầu đăng nhập không khớp với phiên của bạn (có thể do mở "
                               "nhiều cửa sổ đăng nhập). Hãy đăng nhập lại.")
        if request.args.get("error"):
            raise SignInFailed(f"idp error {request.args.get('error')[:60]!r}", "Hệ thống tài khoản của tỉnh không "
                               "cho phép đăng nhập. Hãy kiểm tra tài khoản hoặc liên hệ quản trị hệ thống.")
        code = request.args.get("code") or ""
        if not code or len(code) > 2048:
            raise SignInFailed("no code", GENERIC)
        tokens = _exchange(code, pending["verifier"])
        claims = _verify(tokens.get("id_token"), pending["nonce"])
        officer = _officer(claims, tokens)
    except SignInFailed as exc:
        return _failed(exc)
    session["officer"] = officer
    session.regenerate()
    log.info("officer signed in", extra={"event": "portal.oidc_signed_in", "role": officer["role"],
                                         "agency": officer["agency"]})
    return redirect(pending.get("next") or url_for("officer.queue"))


def _exchange(code: str, verifier: str) -> dict:
    provider = _provider()
    config = provider.config
    try:
        answer = provider.http.post(provider.metadata()["token_endpoint"], timeout=config.timeout,
                                    auth=(config.client_id, config.client_secret),
                                    data={"grant_type": "authorization_code", "code": code,
                                          "redirect_uri": _redirect_uri(), "code_verifier": verifier})
    except requests.RequestException as exc:
        raise SignInFailed(f"token endpoint unreachable: {type(exc).__name__}", "Hệ thống tài khoản của tỉnh đang "
                           "không trả lời. Hãy thử lại sau ít phút.", 503) from None
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code != 200 or not isinstance(body, dict):
        raise SignInFailed(f"token endpoint answered {answer.status_code} {str(body.get('error', ''))[:60] if isinstance(body, dict) else ''}",
                           GENERIC)
    if not isinstance(body.get("id_token"), str) or not isinstance(body.get("access_token"), str):
        raise SignInFailed("token answer lacks id_token or access_token", GENERIC)
    if str(body.get("token_type", "Bearer")).lower() != "bearer":
        raise SignInFailed("token_type is not Bearer", GENERIC)
    return body


def _verify(id_token: str, nonce: str) -> dict:
    provider = _provider()
    config = provider.config
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise SignInFailed("id token unreadable", GENERIC) from None
    if header.get("alg") not in config.algorithms:
        raise SignInFailed(f"id token alg {header.get('alg')!r} not allowed", GENERIC)
    key = provider.key(header.get("kid"))
    try:
        claims = jwt.decode(id_token, key, algorithms=list(config.algorithms), audience=config.client_id,
                            issuer=provider.metadata()["issuer"], leeway=LEEWAY,
                            options={"require": ["iss", "aud", "exp", "iat", "sub"]})
    except jwt.ExpiredSignatureError:
        raise SignInFailed("id token expired", "Thông tin đăng nhập đã hết hạn. Hãy đăng nhập lại.") from None
    except jwt.InvalidAudienceError:
        raise SignInFailed("id token audience", GENERIC) from None
    except jwt.InvalidIssuerError:
        raise SignInFailed("id token issuer", GENERIC) from None
    except jwt.InvalidSignatureError:
        raise SignInFailed("id token signature", GENERIC) from None
    except jwt.PyJWTError as exc:
        raise SignInFailed(f"id token invalid: {type(exc).__name__}", GENERIC) from None
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != config.client_id:
        raise SignInFailed("id token azp", GENERIC)
    if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise SignInFailed("nonce mismatch", GENERIC)
    return claims


def _claim(claims: dict, name: str):
    """A claim by name; a dotted name reaches into an object (`realm_access.roles`)."""
    value = claims
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _officer(claims: dict, tokens: dict) -> dict:
    config = _provider().config
    raw_role = _claim(claims, config.role_claim)
    candidates = raw_role if isinstance(raw_role, list) else [raw_role]
    mapping = dict(config.role_map)
    roles = [mapping.get(r, r if not mapping else None) for r in candidates if isinstance(r, str)]
    roles = [r for r in roles if r in ROLES]
    agency = _claim(claims, config.agency_claim)
    if isinstance(agency, list) and len(agency) == 1:
        agency = agency[0]
    if not roles or not isinstance(agency, str) or not agency.strip() or len(agency) > 200:
        raise SignInFailed("no role or agency in the claims", "Tài khoản của bạn chưa được phân vai trò hoặc cơ quan "
                           "trong hệ thống một cửa. Hãy liên hệ quản trị hệ thống.", 403)
    role = next(r for r in ROLES[::-1] if r in roles)  # several roles: the widest one
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub or len(sub) > 200:
        raise SignInFailed("sub invalid", GENERIC)
    # The console lives as long as the access token processing checks (the ID token's own exp is about the
    # sign-in assertion and is often minutes); without expires_in, the ID token's exp is all we know.
    expires_in = tokens.get("expires_in")
    until = float(claims["exp"])
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in > 0:
        until = time.time() + min(float(expires_in), 12 * 3600)
    return {"token": tokens["access_token"], "sub": sub, "role": role, "agency": agency.strip(),
            "name": claims.get("name") if isinstance(claims.get("name"), str) else None,
            "exp": until - 30, "via": "oidc", "id_token": tokens["id_token"]}


def end_session_url(officer: dict | None) -> str | None:
    """Where the browser goes after the portal forgot the officer: the IdP's end-session endpoint, if any."""
    if not officer or officer.get("via") != "oidc" or not configured():
        return None
    try:
        endpoint = _provider().metadata().get("end_session_endpoint")
    except SignInFailed:
        return None
    if not endpoint:
        return None
    query = {"id_token_hint": officer.get("id_token", ""), "client_id": _provider().config.client_id,
             "post_logout_redirect_uri": settings().public_url + "/"}
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)
