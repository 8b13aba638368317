"""Officer JWTs: only the configured algorithm and key, every claim present and of the right type."""
from __future__ import annotations

import time
from dataclasses import replace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from servicekit.auth import decode_officer_token, issue_token
from servicekit.config import DEV_JWT_SECRET, ConfigError, KitSettings
from servicekit.web import Unauthorized

SECRET = "a-test-secret-of-more-than-thirty-two-bytes"


def _pem_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


PRIVATE, PUBLIC = _pem_pair()


@pytest.fixture
def hs(monkeypatch):
    monkeypatch.delenv("MOTCUA_ENV", raising=False)
    return replace(KitSettings.from_env("kittest"), jwt_secret=SECRET, jwt_algorithm="HS256")


@pytest.fixture
def rs(hs):
    return replace(hs, jwt_algorithm="RS256", jwt_public_key=PUBLIC)


def claims(**overrides):
    now = int(time.time())
    base = {"sub": "officer-1", "role": "clerk", "agency": "000.00.06.H56", "iat": now, "exp": now + 600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def rejected(token, settings) -> str:
    with pytest.raises(Unauthorized) as caught:
        decode_officer_token(token, settings)
    return caught.value.message


def test_a_valid_hs256_token_gives_its_claims(hs):
    assert decode_officer_token(issue_token(hs, sub="u", role="leader", agency="A"), hs)["role"] == "leader"


def test_rs256_works_with_a_real_key_pair(rs):
    token = jwt.encode(claims(role="admin"), PRIVATE, algorithm="RS256")
    assert decode_officer_token(token, rs)["role"] == "admin"


def test_rs256_public_key_may_be_a_file(tmp_path, monkeypatch):
    path = tmp_path / "jwt.pub"
    path.write_text(PUBLIC)
    monkeypatch.setenv("MOTCUA_JWT_ALGORITHM", "RS256")
    monkeypatch.setenv("MOTCUA_JWT_PUBLIC_KEY", str(path))
    settings = KitSettings.from_env("kittest")
    assert decode_officer_token(jwt.encode(claims(), PRIVATE, algorithm="RS256"), settings)["sub"] == "officer-1"


def test_alg_none_is_refused(hs, rs):
    unsigned = jwt.encode(claims(), None, algorithm="none")
    rejected(unsigned, hs)
    rejected(unsigned, rs)


def test_a_token_signed_with_another_key_is_refused(hs, rs):
    rejected(jwt.encode(claims(), "another-secret-of-more-than-thirty-two-bytes", algorithm="HS256"), hs)
    other_private, _ = _pem_pair()
    rejected(jwt.encode(claims(), other_private, algorithm="RS256"), rs)


def test_an_expired_token_is_refused(hs):
    assert rejected(jwt.encode(claims(exp=int(time.time()) - 120), SECRET, algorithm="HS256"), hs) == "token expired"


def test_another_algorithm_than_the_configured_one_is_refused(hs, rs):
    # HS256 signed with the RS256 public key as the HMAC secret: the classic key-confusion attack.
    rejected(jwt.encode(claims(), SECRET, algorithm="HS256"), rs)
    rejected(jwt.encode(claims(), PRIVATE, algorithm="RS256"), hs)
    rejected(jwt.encode(claims(), SECRET, algorithm="HS512"), hs)


@pytest.mark.parametrize("missing", ["sub", "role", "agency", "exp"])
def test_a_token_missing_a_claim_is_refused(hs, missing):
    rejected(jwt.encode(claims(**{missing: None}), SECRET, algorithm="HS256"), hs)


@pytest.mark.parametrize("claim,value", [
    ("agency", ["000.00.06.H56", "other"]), ("agency", 12), ("agency", {"code": "x"}), ("agency", ""),
    ("sub", 7), ("sub", ["a"]), ("role", ["clerk"]), ("role", "mayor"),
])
def test_a_claim_of_the_wrong_type_or_value_is_refused(hs, claim, value):
    rejected(jwt.encode(claims(**{claim: value}), SECRET, algorithm="HS256"), hs)


def test_issuer_and_audience_are_checked_when_configured(hs):
    strict = replace(hs, jwt_issuer="https://sso.example.vn", jwt_audience="motcua")
    good = claims(iss="https://sso.example.vn", aud="motcua")
    assert decode_officer_token(jwt.encode(good, SECRET, algorithm="HS256"), strict)["sub"] == "officer-1"
    rejected(jwt.encode({**good, "aud": "another-app"}, SECRET, algorithm="HS256"), strict)
    rejected(jwt.encode({**good, "iss": "https://evil.example"}, SECRET, algorithm="HS256"), strict)
    rejected(jwt.encode(claims(iss="https://sso.example.vn"), SECRET, algorithm="HS256"), strict)  # no aud
    rejected(jwt.encode(claims(aud="motcua"), SECRET, algorithm="HS256"), strict)  # no iss


def test_issuer_and_audience_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MOTCUA_JWT_ISSUER", "https://sso.example.vn")
    monkeypatch.setenv("MOTCUA_JWT_AUDIENCE", "motcua")
    settings = KitSettings.from_env("kittest")
    assert (settings.jwt_issuer, settings.jwt_audience) == ("https://sso.example.vn", "motcua")


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_outside_development_a_service_refuses_to_start_with_the_development_secret(monkeypatch, environment):
    monkeypatch.setenv("MOTCUA_ENV", environment)
    monkeypatch.delenv("MOTCUA_JWT_SECRET", raising=False)
    with pytest.raises(ConfigError, match="MOTCUA_JWT_SECRET"):
        KitSettings.from_env("kittest")
    monkeypatch.setenv("MOTCUA_JWT_SECRET", DEV_JWT_SECRET)
    with pytest.raises(ConfigError):
        KitSettings.from_env("kittest")
    monkeypatch.setenv("MOTCUA_JWT_SECRET", SECRET)
    settings = KitSettings.from_env("kittest")
    assert settings.environment == environment
    with pytest.raises(ConfigError, match="SOME_WEBHOOK_SECRET"):  # a service's own secret left at its default
        settings.warn_dev_defaults(("SOME_WEBHOOK_SECRET",))


def test_in_development_the_development_secret_only_warns(monkeypatch, caplog):
    monkeypatch.delenv("MOTCUA_ENV", raising=False)
    monkeypatch.delenv("MOTCUA_JWT_SECRET", raising=False)
    settings = KitSettings.from_env("kittest")
    settings.warn_dev_defaults()
    assert "config.dev_secret" in [getattr(r, "event", None) for r in caplog.records]


def test_an_unknown_environment_name_is_a_config_error(monkeypatch):
    monkeypatch.setenv("MOTCUA_ENV", "prod")
    with pytest.raises(ConfigError):
        KitSettings.from_env("kittest")


# Rotation without downtime: during a change of key the services accept tokens signed with either key, so
# tokens issued before the switch keep working until they expire (docs/operations.md, "Rotating secrets").
OLD_SECRET = "the-previous-secret-of-more-than-thirty-two-bytes"
OLD_PRIVATE, OLD_PUBLIC = _pem_pair()


def test_during_a_rotation_a_token_signed_with_the_previous_hs256_secret_is_accepted(hs):
    rotating = replace(hs, jwt_previous_key=OLD_SECRET)
    old_token = jwt.encode(claims(), OLD_SECRET, algorithm="HS256")
    assert decode_officer_token(old_token, rotating)["sub"] == "officer-1"
    assert decode_officer_token(jwt.encode(claims(), SECRET, algorithm="HS256"), rotating)["sub"] == "officer-1"
    assert rejected(old_token, hs) == "invalid token"  # once the previous key is removed, so are its tokens


def test_during_a_rotation_a_token_signed_with_the_previous_rs256_key_is_accepted(rs):
    rotating = replace(rs, jwt_previous_key=OLD_PUBLIC)
    assert decode_officer_token(jwt.encode(claims(), OLD_PRIVATE, algorithm="RS256"), rotating)["sub"] == "officer-1"
    stranger_private, _ = _pem_pair()
    assert rejected(jwt.encode(claims(), stranger_private, algorithm="RS256"), rotating) == "invalid token"


def test_the_previous_key_does_not_rescue_an_expired_or_incomplete_token(hs):
    rotating = replace(hs, jwt_previous_key=OLD_SECRET)
    assert rejected(jwt.encode(claims(exp=int(time.time()) - 120), OLD_SECRET, algorithm="HS256"),
                    rotating) == "token expired"
    assert rejected(jwt.encode(claims(role=None), OLD_SECRET, algorithm="HS256"), rotating) == "invalid token"
    assert rejected(jwt.encode(claims(), "a-third-secret-nobody-configured-at-all", algorithm="HS256"),
                    rotating) == "invalid token"


def test_the_previous_key_comes_from_the_environment_and_is_checked_like_the_current_one(monkeypatch):
    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.setenv("MOTCUA_JWT_SECRET", SECRET)
    monkeypatch.setenv("MOTCUA_JWT_PREVIOUS_KEY", OLD_SECRET)
    assert KitSettings.from_env("kittest").jwt_previous_key == OLD_SECRET
    monkeypatch.setenv("MOTCUA_JWT_PREVIOUS_KEY", "short")
    with pytest.raises(ConfigError, match="MOTCUA_JWT_PREVIOUS_KEY"):
        KitSettings.from_env("kittest")
    monkeypatch.setenv("MOTCUA_JWT_PREVIOUS_KEY", DEV_JWT_SECRET)
    with pytest.raises(ConfigError, match="MOTCUA_JWT_PREVIOUS_KEY"):
        KitSettings.from_env("kittest")


# The province's identity provider publishes its keys as a JWKS and rotates them: with MOTCUA_JWT_JWKS_URL the
# services take the key named by a token's `kid` from there (cached; an unknown kid fetches the set again).
class _Jwks:
    def __init__(self):
        import http.server
        import json
        import threading

        self.keys: list[dict] = []
        self.fetches = 0
        jwks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                jwks.fetches += 1
                body = json.dumps({"keys": jwks.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"

    def publish(self, kid: str, public_pem: str) -> None:
        import json

        key = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(serialization.load_pem_public_key(public_pem.encode())))
        self.keys.append({**key, "kid": kid, "use": "sig", "alg": "RS256"})


@pytest.fixture
def jwks(rs, monkeypatch):
    import servicekit.auth

    monkeypatch.setattr(servicekit.auth, "JWKS_COOLDOWN_SECONDS", 0)  # a new kid is looked up at once here
    server = _Jwks()
    yield server, replace(rs, jwt_public_key=None, jwt_jwks_url=server.url)
    server.server.shutdown()


def test_with_a_jwks_url_the_key_named_by_the_token_is_used_and_a_new_key_is_found_after_a_rotation(jwks):
    server, settings = jwks
    server.publish("k1", PUBLIC)
    token = jwt.encode(claims(), PRIVATE, algorithm="RS256", headers={"kid": "k1"})
    assert decode_officer_token(token, settings)["sub"] == "officer-1"
    assert decode_officer_token(token, settings)["sub"] == "officer-1"
    assert server.fetches == 1  # cached, not fetched per request
    server.publish("k2", OLD_PUBLIC)  # the provider rotates: a token with a kid not seen yet
    rotated = jwt.encode(claims(sub="officer-2"), OLD_PRIVATE, algorithm="RS256", headers={"kid": "k2"})
    assert decode_officer_token(rotated, settings)["sub"] == "officer-2"


def test_with_a_jwks_url_unknown_keys_forged_tokens_and_alg_none_are_refused(jwks):
    server, settings = jwks
    server.publish("k1", PUBLIC)
    stranger_private, _ = _pem_pair()
    assert rejected(jwt.encode(claims(), stranger_private, algorithm="RS256", headers={"kid": "k1"}),
                    settings) == "invalid token"
    assert rejected(jwt.encode(claims(), PRIVATE, algorithm="RS256", headers={"kid": "nobody"}),
                    settings) == "invalid token"
    assert rejected(jwt.encode(claims(), None, algorithm="none", headers={"kid": "k1"}), settings) == "invalid token"
    assert rejected("not-a-jwt", settings) == "invalid token"


def test_an_unreachable_jwks_is_a_503_not_a_401(jwks):
    from servicekit.web import Unavailable

    server, settings = jwks
    server.server.shutdown()
    server.server.server_close()
    with pytest.raises(Unavailable):
        decode_officer_token(jwt.encode(claims(), PRIVATE, algorithm="RS256", headers={"kid": "k9"}), settings)


def test_the_jwks_url_comes_from_the_environment_and_needs_rs256(monkeypatch):
    monkeypatch.delenv("MOTCUA_ENV", raising=False)
    monkeypatch.setenv("MOTCUA_JWT_ALGORITHM", "RS256")
    monkeypatch.setenv("MOTCUA_JWT_JWKS_URL", "https://sso.example.gov.vn/realms/tinh/protocol/openid-connect/certs")
    assert KitSettings.from_env("kittest").jwt_jwks_url.endswith("/certs")  # no PEM needed beside it
    monkeypatch.setenv("MOTCUA_JWT_ALGORITHM", "HS256")
    with pytest.raises(ConfigError, match="MOTCUA_JWT_JWKS_URL"):
        KitSettings.from_env("kittest")
    monkeypatch.setenv("MOTCUA_JWT_ALGORITHM", "RS256")
    monkeypatch.setenv("MOTCUA_JWT_JWKS_URL", "ftp://nowhere")
    with pytest.raises(ConfigError, match="MOTCUA_JWT_JWKS_URL"):
        KitSettings.from_env("kittest")
