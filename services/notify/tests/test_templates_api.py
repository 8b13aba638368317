"""Admins read and change the templates; every change is checked against the event's example and versioned."""
import pytest

from servicekit.auth import issue_token

from notify.models import messages, template_versions, templates

URL = "/v1/templates/dossier.received/sms"
NEW_BODY = "Hồ sơ {{ code }} đã được tiếp nhận, hẹn trả {{ due }}. Xem: {{ url }}"


def auth(settings, role="admin", sub="admin-1"):
    return {"Authorization": "Bearer " + issue_token(settings.kit, sub=sub, role=role, agency="000.00.06.H56")}


def test_an_admin_lists_every_template_and_filters_by_kind_or_channel(client, settings):
    everything = client.get("/v1/templates", headers=auth(settings)).get_json()["items"]
    assert len(everything) == 57 and {t["channel"] for t in everything} == {"sms", "zalo", "email"}
    received = client.get("/v1/templates?kind=dossier.received", headers=auth(settings)).get_json()["items"]
    assert [t["channel"] for t in received] == ["email", "sms", "zalo"]
    assert all(t["version"] == 1 and t["updated_by"] == "seed" for t in received)


def test_an_admin_reads_one_template_with_its_placeholders_and_its_rendering_of_the_example(client, settings):
    body = client.get(URL, headers=auth(settings)).get_json()
    assert body["kind"] == "dossier.received" and body["channel"] == "sms" and body["version"] == 1
    assert {"code", "name", "due", "url"} <= set(body["placeholders"]) and "id_number" not in body["placeholders"]
    assert body["example"]["text"].startswith("Ho so 000.00.06.H56-261124-0001") and body["example"]["segments"] == 2
    assert [v["version"] for v in body["versions"]] == [1]
    zalo = client.get("/v1/templates/dossier.received/zalo", headers=auth(settings)).get_json()
    assert {"name": "due", "type": "date"} in zalo["params"] and zalo["example"]["params"]["due"] == "27/11/2026"


def test_a_change_is_stored_as_the_next_version_and_used_for_the_next_message(client, settings, submit, deliver,
                                                                              rows):
    response = client.put(URL, json={"body": NEW_BODY}, headers=auth(settings, sub="admin-7"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["version"] == 2 and body["updated_by"] == "admin-7" and body["body"] == NEW_BODY
    assert [v["version"] for v in body["versions"]] == [2, 1] and body["versions"][1]["created_by"] == "seed"
    assert body["example"]["text"] == ("Ho so 000.00.06.H56-261124-0001 da duoc tiep nhan, hen tra 27/11/2026. "
                                       "Xem: http://127.0.0.1:8000/ho-so/000.00.06.H56-261124-0001")
    submit(channels=("sms",))
    deliver("dossier.received.v1")
    [sms] = rows(messages, messages.c.kind == "dossier.received")
    assert sms.text.startswith("Ho so 000.00.06.H56-261124-0001 da duoc tiep nhan, hen tra") and sms.template_version == 2
    assert len(rows(template_versions, template_versions.c.kind == "dossier.received",
                    template_versions.c.channel == "sms")) == 2


@pytest.mark.parametrize("change, field, words", [
    ({"body": "Hồ sơ {{ code }} của {{ id_number }}"}, "body", "unknown placeholder(s): id_number"),
    ({"body": "Hồ sơ {{ code }"}, "body", "invalid template markup"),
    ({"body": "{% for x in code %}{{ x }}"}, "body", "invalid template markup"),
    ({"body": "{{ code }} " + "dài quá " * 60}, "body", "segments"),
    ({"body": "{{ code }}", "subject": "Tiêu đề"}, "subject", "only email templates"),
])
def test_a_template_that_does_not_render_against_the_example_is_refused_with_a_422_and_nothing_changes(
        client, settings, rows, change, field, words):
    response = client.put(URL, json=change, headers=auth(settings))
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert words in " ".join(errors[field])
    [row] = rows(templates, templates.c.kind == "dossier.received", templates.c.channel == "sms")
    assert row.version == 1 and "{{ due }}" in row.body


def test_email_html_markup_is_checked_and_autoescaped(client, settings):
    url = "/v1/templates/dossier.refused/email"
    current = client.get(url, headers=auth(settings)).get_json()
    bad = client.put(url, json={**_editable(current), "html": "<p>{{ reason </p>"}, headers=auth(settings))
    assert bad.status_code == 422 and "html" in bad.get_json()["errors"]["json"]
    good = client.put(url, json={**_editable(current), "html": "<p>Lý do: <b>{{ reason }}</b></p>"},
                      headers=auth(settings))
    assert good.status_code == 200 and good.get_json()["version"] == 2


def test_a_zalo_template_must_keep_typed_parameters_for_what_its_body_uses(client, settings):
    url = "/v1/templates/dossier.received/zalo"
    current = _editable(client.get(url, headers=auth(settings)).get_json())
    missing = {**current, "params": [p for p in current["params"] if p["name"] != "due"]}
    response = client.put(url, json=missing, headers=auth(settings))
    assert response.status_code == 422 and "due" in " ".join(response.get_json()["errors"]["json"]["params"])
    untyped = {**current, "params": [{**p, "type": "weekday"} if p["name"] == "due" else p for p in current["params"]]}
    assert client.put(url, json=untyped, headers=auth(settings)).status_code == 422
    assert client.put(url, json={**current, "zalo_template_id": None}, headers=auth(settings)).status_code == 422
    assert client.put(url, json=current, headers=auth(settings)).status_code == 200


def test_only_an_admin_may_read_or_change_templates_and_unknown_ones_are_404(client, settings):
    assert client.get("/v1/templates").status_code == 401
    assert client.get("/v1/templates", headers=auth(settings, role="leader")).status_code == 403
    assert client.put(URL, json={"body": NEW_BODY}, headers=auth(settings, role="clerk")).status_code == 403
    assert client.get("/v1/templates/dossier.teleported/sms", headers=auth(settings)).status_code == 404
    assert client.put("/v1/templates/dossier.received/fax", json={"body": "x"},
                      headers=auth(settings)).status_code == 404
    assert client.put(URL, json={}, headers=auth(settings)).get_json()["errors"]["json"] == {
        "body": ["Missing data for required field."]}


def _editable(detail: dict) -> dict:
    return {key: detail[key] for key in ("subject", "body", "html", "zalo_template_id", "params")}


def test_seeding_again_keeps_an_admins_change(client, settings, db):
    from notify.manage import seed

    client.put(URL, json={"body": NEW_BODY}, headers=auth(settings))
    result = seed(db, settings=settings)
    assert result["templates"] == {"inserted": 0, "updated": 0, "unchanged": 56, "kept": 1}
    body = client.get(URL, headers=auth(settings)).get_json()
    assert body["version"] == 2 and body["body"] == NEW_BODY
