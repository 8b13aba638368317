"""The province sign-in in Chromium, JavaScript on and off: the portal in production mode, the fake IdP, axe on the
queue it lands on and on the Vietnamese page a spoiled sign-in ends on."""
from __future__ import annotations

import dataclasses

import pytest
from playwright.sync_api import expect

from browser import Axe
from fake_api import Running
from fake_idp import CLIENT_ID, CLIENT_SECRET, Idp, idp_app
from portal.app import create_app
from portal.oidc import OidcSettings
from support import portal_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def province(tmp_path_factory, settings):
    idp = Idp()
    idp_server = Running(idp_app(idp))
    idp.issuer = idp_server.url
    base = portal_settings(tmp_path_factory.mktemp("oidc-portal"), settings.intake_url, settings.processing_url,
                           env="production")
    config = OidcSettings(issuer=idp.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    app = create_app(dataclasses.replace(base, oidc=config))
    portal = Running(app)
    # the redirect URI the IdP sends the browser back to is built from the public URL: this server's own
    app.extensions["portal.settings"] = dataclasses.replace(app.extensions["portal.settings"], public_url=portal.url)
    yield idp, portal.url
    portal.stop()
    idp_server.stop()


@pytest.fixture(params=[True, False], ids=["js-on", "js-off"])
def js(request):
    return request.param


def test_an_officer_signs_in_with_the_province_idp_and_out_again(browser, province, js, world):
    idp, url = province
    idp.reset()
    world.rs256_public_key = idp.key.public_key()
    world.add(status="received", due_in_days=2)
    axe_context = browser.new_context(bypass_csp=True)
    axe = Axe(axe_context)
    context = browser.new_context(java_script_enabled=js, bypass_csp=True, locale="vi-VN")
    page = context.new_page()
    page.goto(url + "/")
    page.get_by_role("link", name="Cán bộ đăng nhập").click()  # → the IdP → back, signed in
    expect(page.get_by_role("heading", level=1)).to_have_text("Hồ sơ cần xử lý")
    axe.check(page, js)
    page.get_by_role("link", name="Đăng xuất").click()
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.locator("body")).to_have_text("signed out")  # the IdP's end-session endpoint
    assert page.url.startswith(idp.issuer + "/logout?")

    idp.nonce_override = "not-the-portal-s-nonce"
    page.goto(url + "/can-bo/ho-so")
    expect(page.get_by_role("heading", level=1)).to_have_text("Không đăng nhập được")
    expect(page).to_have_title("Không đăng nhập được – Cổng Dịch vụ công tỉnh Phú Thọ")
    axe.check(page, js)
    page.goto(url + "/can-bo/ho-so")  # still no session: back to the IdP, and the same refusal
    expect(page.get_by_role("heading", level=1)).to_have_text("Không đăng nhập được")
    context.close()
    axe_context.close()
