"""Officers sign in with the province's identity provider (OpenID Connect: authorization code, PKCE, state, nonce)
against a fake IdP issuing RS256 tokens; every spoiled token or answer ends on a Vietnamese page with no session."""
from __future__ import annotations

import dataclasses
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from fake_idp import CLIENT_ID, CLIENT_SECRET, Idp, idp_app
from fake_api import Running
from portal.app import create_app
from portal.config import ConfigError, oidc_from_env
from portal.oidc import OidcSettings
from support import csrf, portal_settings


@pytest.fixture(scope="module")
def _idp():
    idp = Idp()
    server = Running(idp_app(idp))
    idp.issuer = server.url
    yield idp
    server.stop()


@pytest.fixture
def idp(_idp, world):
    _idp.reset()
    world.rs256_public_key = _idp.key.public_key()
    return _idp


def _app(tmp_path, settings, idp, **oidc):
    config = OidcSettings(issuer=idp.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **oidc)
    production = portal_settings(tmp_path, settings.intake_url, settings.processing_url, env="production")
    app = create_app(dataclasses.replace(production, oidc=config))
    app.config["TESTING"] = True
    return app


@pytest.fixture
def production(tmp_path, settings, idp):
    return _app(tmp_path, settings, idp)


def _http():
    s = requests.Session()
    s.trust_env = False
    return s


def _sign_in(client, idp, start="/can-bo/dang-nhap-tinh"):
    """The browser's round trip: portal → IdP authorize → back to the portal's callback. Returns the answer."""
    to_idp = client.get(start)
    assert to_idp.status_code == 302 and to_idp.headers["Location"].startswith(idp.issuer + "/authorize?")
    back = _http().get(to_idp.headers["Location"], allow_redirects=False, timeout=5)
    assert back.status_code == 302
    url = urlsplit(back.headers["Location"])
    assert url.netloc == "portal.test" and url.path == "/can-bo/dang-nhap-tinh/ket-qua"
    return client.get(f"{url.path}?{url.query}")


def _officer(client):
    with client.session_transaction() as session:
        return session.get("officer")


def test_sign_in_uses_the_code_flow_with_pkce_state_and_nonce_and_lands_on_the_queue(production, idp, world):
    world.add(status="received", due_in_days=2)
    client = production.test_client()
    first = client.get("/can-bo/ho-so")  # not signed in: to the IdP, and back to the queue after
    assert first.headers["Location"] == "/can-bo/dang-nhap-tinh?tiep=/can-bo/ho-so"
    answer = _sign_in(client, idp, first.headers["Location"])
    assert answer.status_code == 302 and answer.headers["Location"] == "/can-bo/ho-so"
    asked = idp.authorize_requests[-1]
    assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["redirect_uri"] == "http://portal.test/can-bo/dang-nhap-tinh/ket-qua"
    assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32 and "openid" in asked["scope"].split()
    exchanged = idp.token_requests[-1]
    assert exchanged["grant_type"] == "authorization_code" and len(exchanged["code_verifier"]) >= 43
    officer = _officer(client)
    assert (officer["sub"], officer["role"], officer["agency"], officer["via"]) == (
        "nguyen.van.a", "clerk", "000.00.06.H56", "oidc")
    assert 500 < officer["exp"] - time.time() <= 600  # the access token's 600 s, not the ID token's 300 s
    queue = client.get("/can-bo/ho-so")  # the access token reaches processing, never the browser
    page = queue.get_data(as_text=True)
    assert queue.status_code == 200 and "Hồ sơ cần xử lý" in page
    assert officer["token"] not in page and officer["token"] not in queue.headers.get("Set-Cookie", "")


def _spoil_signature(idp):
    idp.sign_with_other_key = True


def _spoil_audience(idp):
    idp.audience = "another-client"


def _spoil_expiry(idp):
    idp.expires_in = -120  # past the 30 s leeway


def _spoil_nonce(idp):
    idp.nonce_override = "a-nonce-this-portal-never-sent"


def _spoil_state(idp):
    idp.state_override = "a-state-this-portal-never-sent"


def _spoil_role(idp):
    idp.claims = {k: v for k, v in idp.claims.items() if k != "role"}


def _spoil_by_refusing(idp):
    idp.error = "access_denied"


@pytest.mark.parametrize("spoil, status, words", [
    (_spoil_signature, 400, "Không xác minh được thông tin đăng nhập"),
    (_spoil_audience, 400, "Không xác minh được thông tin đăng nhập"),
    (_spoil_expiry, 400, "Thông tin đăng nhập đã hết hạn"),
    (_spoil_nonce, 400, "Không xác minh được thông tin đăng nhập"),
    (_spoil_state, 400, "Yêu cầu đăng nhập không khớp với phiên của bạn"),
    (_spoil_role, 403, "chưa được phân vai trò hoặc cơ quan"),
    (_spoil_by_refusing, 400, "không cho phép đăng nhập"),
], ids=["bad-signature", "wrong-audience", "expired", "nonce-mismatch", "state-mismatch", "no-role", "idp-refused"])
def test_a_spoiled_sign_in_gives_a_vietnamese_page_and_no_session(production, idp, spoil, status, words):
    spoil(idp)
    client = production.test_client()
    answer = _sign_in(client, idp)
    page = answer.get_data(as_text=True)
    assert answer.status_code == status and words in page and "Không đăng nhập được" in page
    assert "Traceback" not in page and "jwt" not in page.lower()
    assert _officer(client) is None
    with client.session_transaction() as session:
        assert "oidc_pending" not in session  # a second try starts afresh
    assert client.get("/can-bo/ho-so").headers["Location"].startswith("/can-bo/dang-nhap-tinh")


def test_a_callback_nobody_started_is_refused(production, idp):
    client = production.test_client()
    answer = client.get("/can-bo/dang-nhap-tinh/ket-qua?code=abc&state=xyz")
    assert answer.status_code == 400 and "Phiên đăng nhập đã hết hạn" in answer.get_data(as_text=True)
    assert _officer(client) is None


def test_a_code_replayed_after_sign_in_is_refused(production, idp):
    client = production.test_client()
    to_idp = client.get("/can-bo/dang-nhap-tinh")
    back = _http().get(to_idp.headers["Location"], allow_redirects=False, timeout=5).headers["Location"]
    url = urlsplit(back)
    assert client.get(f"{url.path}?{url.query}").status_code == 302
    replay = production.test_client().get(f"{url.path}?{url.query}")  # another browser with the same URL
    assert replay.status_code == 400


def test_claim_names_and_the_role_map_are_configurable(tmp_path, settings, idp):
    app = _app(tmp_path, settings, idp, role_claim="groups", agency_claim="org.code",
               role_map=(("motcua-lanh-dao", "leader"), ("motcua-mot-cua", "clerk")))
    idp.claims = {"sub": "tran.thi.b", "groups": ["nhan-vien", "motcua-mot-cua", "motcua-lanh-dao"],
                  "org": {"code": "000.00.06.H56"}}
    client = app.test_client()
    assert _sign_in(client, idp).status_code == 302
    assert (_officer(client)["role"], _officer(client)["agency"]) == ("leader", "000.00.06.H56")
    idp.claims = {"sub": "tran.thi.c", "groups": ["clerk"], "org": {"code": "000.00.06.H56"}}  # unmapped value
    other = app.test_client()
    assert _sign_in(other, idp).status_code == 403 and _officer(other) is None


def test_sign_out_forgets_the_officer_and_ends_the_idp_session(production, idp):
    client = production.test_client()
    _sign_in(client, idp)
    id_token = _officer(client)["id_token"]
    token = csrf(client.get("/can-bo/dang-xuat"))
    answer = client.post("/can-bo/dang-xuat", data={"csrf_token": token})
    url = urlsplit(answer.headers["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == idp.issuer + "/logout"
    query = parse_qs(url.query)
    assert query["id_token_hint"] == [id_token] and query["post_logout_redirect_uri"] == ["http://portal.test/"]
    assert _officer(client) is None


def test_production_has_no_development_sign_in_and_links_the_province_sign_in(production, idp):
    client = production.test_client()
    assert client.get("/can-bo/dang-nhap").status_code == 404
    assert client.post("/can-bo/dang-nhap", data={"role": "admin", "agency": "x", "sub": "x"}).status_code in (400, 404)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/can-bo/dang-nhap-tinh"' in home and "/can-bo/dang-nhap\"" not in home


def test_an_idp_that_is_down_gives_a_page_that_says_to_try_later(tmp_path, settings, world):
    config = OidcSettings(issuer="http://127.0.0.1:9", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, timeout=1)
    production = portal_settings(tmp_path, settings.intake_url, settings.processing_url, env="production")
    client = create_app(dataclasses.replace(production, oidc=config)).test_client()
    answer = client.get("/can-bo/dang-nhap-tinh")
    assert answer.status_code == 503 and "Hãy thử lại sau ít phút" in answer.get_data(as_text=True)


@pytest.mark.parametrize("env, problem", [
    ({"PORTAL_OIDC_ISSUER": "https://idp.example", "PORTAL_OIDC_CLIENT_ID": "x"}, "CLIENT_SECRET"),
    ({"PORTAL_OIDC_ISSUER": "idp.example"}, "http(s) URL"),
    ({"PORTAL_OIDC_ISSUER": "https://idp.example", "PORTAL_OIDC_CLIENT_ID": "x", "PORTAL_OIDC_CLIENT_SECRET": "y",
      "PORTAL_OIDC_ROLE_MAP": "lanh-dao=boss"}, "ROLE_MAP"),
    ({"PORTAL_OIDC_ISSUER": "https://idp.example", "PORTAL_OIDC_CLIENT_ID": "x", "PORTAL_OIDC_CLIENT_SECRET": "y",
      "PORTAL_OIDC_ALGORITHMS": "HS256"}, "asymmetric"),
], ids=["no-secret", "not-a-url", "unknown-role", "symmetric-alg"])
def test_oidc_settings_are_checked_at_start(monkeypatch, env, problem):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        oidc_from_env()


def test_without_an_issuer_there_is_no_oidc(monkeypatch):
    monkeypatch.delenv("PORTAL_OIDC_ISSUER", raising=False)
    assert oidc_from_env() is None
