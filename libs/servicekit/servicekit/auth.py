"""Officer JWTs (HS256 by default, RS256 configurable): checking, and issuing development tokens."""
from __future__ import annotations

import functools
import time

import jwt
from flask import g, request

from .config import KitSettings
from .web import Forbidden, Unauthorized

ROLES = ("clerk", "specialist", "leader", "admin")


def decode_officer_token(token: str, settings: KitSettings) -> dict:
    key = settings.jwt_public_key if settings.jwt_algorithm == "RS256" else settings.jwt_secret
    try:
        claims = jwt.decode(
            token, key, algorithms=[settings.jwt_algorithm], options={"require": ["sub", "exp"]}, leeway=30
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid token") from None
    if claims.get("role") not in ROLES or not claims.get("agency"):
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
