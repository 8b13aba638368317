"""The portal's frame: health, readiness, security headers, CSRF, and pages when an API is down."""
from __future__ import annotations

import socket

from support import portal_settings
from portal.app import create_app


def _closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def test_healthz_answers_without_calling_any_api(client):
    assert client.get("/healthz").json == {"status": "ok", "service": "portal"}


def test_readyz_is_ready_when_intake_and_processing_answer(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json["checks"] == {"intake": "ok", "processing": "ok"}


def test_readyz_is_503_and_names_the_api_that_is_down(tmp_path, settings, world):
    down = create_app(portal_settings(tmp_path, settings.intake_url, _closed_port_url()))
    answer = down.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["checks"]["intake"] == "ok"
    assert answer.json["checks"]["processing"].startswith("down")


def test_an_api_that_is_down_gives_a_vietnamese_page_that_says_what_to_do_and_no_trace(tmp_path, settings, world):
    down = create_app(portal_settings(tmp_path, _closed_port_url(), settings.processing_url))
    answer = down.test_client().get("/")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503
    assert "Hệ thống đang bận" in page
    assert "đường dây nóng" in page
    assert "Traceback" not in page and "ConnectionError" not in page and "127.0.0.1" not in page


def test_every_page_has_a_strict_csp_without_inline_script_and_the_template_script_carries_its_nonce(client):
    answer = client.get("/tra-cuu")
    csp = answer.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    page = answer.get_data(as_text=True)
    assert f'<script nonce="{nonce}">' in page
    assert "http://" not in page.split("<body")[0].replace('xmlns="http://www.w3.org/2000/svg"', "")  # no CDN
    assert answer.headers["X-Frame-Options"] == "DENY"


def test_a_form_posted_without_its_csrf_token_is_refused_with_a_page_not_a_stack_trace(client):
    answer = client.post("/tra-cuu", data={"code": "X", "id_number": "001099012345"})
    assert answer.status_code == 400
    assert "Phiên làm việc đã hết hạn" in answer.get_data(as_text=True)


def test_an_unknown_page_is_a_vietnamese_404(client):
    answer = client.get("/khong-co")
    assert answer.status_code == 404
    assert "Không tìm thấy trang" in answer.get_data(as_text=True)
    assert '<html lang="vi"' in answer.get_data(as_text=True)


def test_the_session_cookie_holds_only_an_id_and_the_answers_stay_on_the_server(client, world):
    from support import csrf

    client.get("/thu-tuc/1.001193.H56/nop-ho-so")
    token = csrf(client.get("/nop-ho-so/nguoi-nop"))
    client.post("/nop-ho-so/nguoi-nop", data={"csrf_token": token, "type": "citizen"})
    client.post("/nop-ho-so/thong-tin", data={"csrf_token": token, "full_name": "Trần Văn Bình",
                                               "id_number": "001099012345", "address": "Phúc Yên"})
    cookie = client.get_cookie("motcua_portal")
    assert cookie is not None and cookie.http_only
    assert "001099012345" not in cookie.value and len(cookie.value) < 100


def test_api_field_errors_nested_under_the_request_location_are_flattened_to_field_paths():
    from portal.api import _errors

    assert _errors({"json": {"applicant": {"id_number": ["bad"]}, "documents": {"0": {"code": ["x"]}}}}) == {
        "applicant.id_number": "bad", "documents.0.code": "x"}
    assert _errors({"query": {"level": ["bad"]}}) == {"level": "bad"}
    assert _errors({"province": ["unknown"]}) == {"province": "unknown"}


def test_a_successful_lookup_gives_the_browser_a_new_session_id_and_the_old_one_is_forgotten(client, world):
    from support import csrf

    d = world.add()
    token = csrf(client.get("/tra-cuu"))
    before = client.get_cookie("motcua_portal").value
    client.post("/tra-cuu", data={"csrf_token": token, "code": d["code"], "id_number": d["applicant"]["id_number"]})
    after = client.get_cookie("motcua_portal").value
    assert after != before
    stranger = client.application.test_client()
    stranger.set_cookie("motcua_portal", before)
    assert 'id="id_number"' in stranger.get(f"/ho-so/{d['code']}").get_data(as_text=True)
    assert "Tiến trình xử lý" in client.get(f"/ho-so/{d['code']}").get_data(as_text=True)


def test_a_request_that_only_read_the_session_does_not_write_back_what_it_read(app, world):
    """Assets and slow pages overlap: a reader saving its stale copy would undo a sign-in made meanwhile."""
    from support import csrf

    client = app.test_client()
    client.get("/thu-tuc/1.001193.H56/nop-ho-so")
    interface = app.session_interface
    sid = client.get_cookie("motcua_portal").value
    with app.test_request_context("/tra-cuu", headers={"Cookie": f"motcua_portal={sid}"}):
        from flask import request

        stale = interface.open_session(app, request)  # a request that started before the answer below
    token = csrf(client.get("/nop-ho-so/nguoi-nop"))
    client.post("/nop-ho-so/nguoi-nop", data={"csrf_token": token, "type": "business"})
    with app.test_request_context("/tra-cuu"):
        interface.save_session(app, stale, app.response_class())
    with client.session_transaction() as session:
        assert session["wizard"]["answers"]["type"] == "business"
    with app.test_request_context("/static/portal.css"):
        from flask import request

        assert interface.is_null_session(interface.open_session(app, request))
