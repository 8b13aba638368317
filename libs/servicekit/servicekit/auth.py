"""Officer JWTs (HS256 by default, RS256 configurable): checking, and issuing development tokens."""
from __future__ import annotations

import copy
import functools
import threading
import time

import jwt
from flask import g, request

from .config import KitSettings
from .web import Forbidden, Unauthorized, Unavailable

ROLES = ("clerk", "specialist", "leader", "admin")


# The operation-level OpenAPI security of every route behind `officer_required` (the scheme is
# declared by create_service_app).
OFFICER_SECURITY = [{"bearer": []}]
_STRING_CLAIMS = ("sub", "role", "agency")


# One client per JWKS URL and process: it caches the key set (JWKS_LIFESPAN_SECONDS) and fetches it again, at most
# once per cooldown, when a token names a key it does not hold (the provider rotated its keys; providers publish a
# new key before signing with it). The cooldown keeps tokens with made-up kids from hammering the provider.
JWKS_LIFESPAN_SECONDS = 300
JWKS_COOLDOWN_SECONDS = 30
_jwks_clients: dict[str, jwt.PyJWKClient] = {}
_jwks_lock = threading.Lock()


def _jwks_key(token: str, url: str):
    with _jwks_lock:
        client = _jwks_clients.get(url)
        if client is None:
            client = _jwks_clients[url] = jwt.PyJWKClient(url, cache_keys=True, lifespan=JWKS_LIFESPAN_SECONDS,
                                                          cooldown_duration=JWKS_COOLDOWN_SECONDS, timeout=5)
    try:
        return client.get_signing_key_from_jwt(token).key
    except jwt.PyJWKClientConnectionError:
        raise Unavailable("the identity provider's keys (MOTCUA_JWT_JWKS_URL) cannot be fetched") from None
    except (jwt.PyJWKClientError, jwt.InvalidTokenError):  # no such kid, no kid, not a JWT
        raise Unauthorized("invalid token") from None


def decode_officer_token(token: str, settings: KitSettings) -> dict:
    """The claims of a valid officer token, or Unauthorized (401).

    Only the one configured algorithm is accepted (never `none`, never HS256 signed with an RS256
    public key); `exp`, `sub`, `role` and `agency` are required, and the last three must be non-empty
    strings (an `agency` that is a list would otherwise reach SQL as a list). Issuer and audience are
    checked when configured (MOTCUA_JWT_ISSUER, MOTCUA_JWT_AUDIENCE). A token whose signature fails with the
    current key is tried with the previous one when a rotation is under way (MOTCUA_JWT_PREVIOUS_KEY).
    """
    jwks_url = getattr(settings, "jwt_jwks_url", None)
    if settings.jwt_algorithm == "RS256":
        key = _jwks_key(token, jwks_url) if jwks_url else settings.jwt_public_key
    else:
        key = settings.jwt_secret
    issuer = getattr(settings, "jwt_issuer", None)
    audience = getattr(settings, "jwt_audience", None)
    options = {"require": ["exp", *_STRING_CLAIMS] + (["iss"] if issuer else []) + (["aud"] if audience else [])}
    if not audience:
        options["verify_aud"] = False
    def decode(with_key: str) -> dict:
        return jwt.decode(token, with_key, algorithms=[settings.jwt_algorithm], options=options, leeway=30,
                          issuer=issuer or None, audience=audience or None)

    try:
        try:
            claims = decode(key)
        except jwt.InvalidSignatureError:
            # During a rotation (MOTCUA_JWT_PREVIOUS_KEY) tokens signed before the switch stay valid until they
            # expire; every other check applies to them as to the rest.
            previous = getattr(settings, "jwt_previous_key", None)
            if not previous:
                raise
            claims = decode(previous)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid token") from None
    except (ValueError, TypeError):  # a key the configured algorithm cannot use
        raise Unauthorized("invalid token") from None
    for name in _STRING_CLAIMS:
        value = claims.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise Unauthorized(f"token claim {name} must be a non-empty string")
    if claims["role"] not in ROLES:
        raise Unauthorized("token lacks a valid role or agency")
    return claims


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    return token.strip()


def officer_required(settings_getter, *roles: str):
    """Route decorator: a valid officer JWT, and one of `roles` when given; claims land in g.officer."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            claims = decode_officer_token(bearer_token(), settings_getter())
            if roles and claims["role"] not in roles:
                raise Forbidden(f"role {claims['role']} may not do this")
            g.officer = claims
            return view(*args, **kwargs)

        # flask-smorest documents the operation from `_apidoc`: every protected route declares the
        # bearer security in the OpenAPI document, whether or not its author wrote @blp.doc(security=...).
        apidoc = copy.deepcopy(getattr(view, "_apidoc", {}))
        apidoc.setdefault("manual_doc", {}).setdefault("security", OFFICER_SECURITY)
        wrapper._apidoc = apidoc
        return wrapper

    return decorate


def issue_token(settings: KitSettings, *, sub: str, role: str, agency: str, ttl_seconds: int = 8 * 3600) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if settings.jwt_algorithm != "HS256":
        raise ValueError("development tokens are HS256 only; RS256 tokens come from the identity provider")
    now = int(time.time())
    claims = {"sub": sub, "role": role, "agency": agency, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
