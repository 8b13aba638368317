"""A small OpenID Connect provider for the portal's tests: discovery, JWKS, an authorize endpoint that signs the
officer in at once, a token endpoint that checks the client secret and the PKCE verifier, and RS256 tokens.

Knobs (`Idp` attributes) spoil one thing at a time: the signing key, the audience, the expiry, the nonce, the
state sent back, the claims."""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, redirect, request

CLIENT_ID = "motcua-portal"
CLIENT_SECRET = "test-client-secret"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Idp:
    def __init__(self):
        self.key = _key()
        self.other_key = _key()  # a key the JWKS does not publish under this kid: a forged signature
        self.kid = "key-1"
        self.issuer = ""  # set once served
        self.reset()

    def reset(self):
        self.sign_with_other_key = False
        self.audience = CLIENT_ID
        self.expires_in = 300
        self.nonce_override: str | None = None
        self.state_override: str | None = None
        self.claims = {"sub": "nguyen.van.a", "name": "Nguyễn Văn A", "role": "clerk", "agency": "000.00.06.H56"}
        self.authorize_requests: list[dict] = []
        self.token_requests: list[dict] = []
        self.codes: dict[str, dict] = {}
        self.error: str | None = None  # the authorize endpoint answers ?error= instead of a code

    def public_jwk(self) -> dict:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return jwk | {"kid": self.kid, "use": "sig", "alg": "RS256"}

    def sign(self, claims: dict) -> str:
        key = self.other_key if self.sign_with_other_key else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})


def idp_app(idp: Idp) -> Flask:
    app = Flask("fake_idp")

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return {"issuer": idp.issuer, "authorization_endpoint": idp.issuer + "/authorize",
                "token_endpoint": idp.issuer + "/token", "jwks_uri": idp.issuer + "/jwks",
                "end_session_endpoint": idp.issuer + "/logout", "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"], "id_token_signing_alg_values_supported": ["RS256"]}

    @app.get("/jwks")
    def jwks():
        return jsonify({"keys": [idp.public_jwk()]})

    @app.get("/authorize")
    def authorize():
        args = request.args.to_dict()
        idp.authorize_requests.append(args)
        state = idp.state_override if idp.state_override is not None else args.get("state")
        if idp.error:
            return redirect(args["redirect_uri"] + "?" + urlencode({"error": idp.error, "state": state}))
        code = secrets.token_urlsafe(16)
        idp.codes[code] = args
        return redirect(args["redirect_uri"] + "?" + urlencode({"code": code, "state": state}))

    @app.post("/token")
    def token():
        form = request.form.to_dict()
        idp.token_requests.append(form)
        auth = request.authorization
        if not auth or (auth.username, auth.password) != (CLIENT_ID, CLIENT_SECRET):
            return {"error": "invalid_client"}, 401
        asked = idp.codes.pop(form.get("code", ""), None)
        if asked is None or form.get("redirect_uri") != asked["redirect_uri"]:
            return {"error": "invalid_grant"}, 400
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if challenge.rstrip(b"=").decode() != asked.get("code_challenge"):
            return {"error": "invalid_grant", "error_description": "PKCE verifier"}, 400
        now = int(time.time())
        nonce = idp.nonce_override if idp.nonce_override is not None else asked.get("nonce")
        id_claims = idp.claims | {"iss": idp.issuer, "aud": idp.audience, "iat": now - 5,
                                  "exp": now + idp.expires_in, "nonce": nonce}
        # The access token processing will check (servicekit: RS256 public key, iss, aud, role, agency claims).
        access = jwt.encode({"sub": idp.claims["sub"], "role": idp.claims.get("role"),
                             "agency": idp.claims.get("agency"), "iss": idp.issuer, "aud": "motcua-processing",
                             "iat": now, "exp": now + 600}, idp.key, algorithm="RS256", headers={"kid": idp.kid})
        return {"access_token": access, "token_type": "Bearer", "expires_in": 600, "id_token": idp.sign(id_claims)}

    @app.get("/logout")
    def logout():
        return "signed out"

    return app
