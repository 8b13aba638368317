"""One dossier through the running suite: filed at intake, seen by processing, payment, postal and notify, one SMS out."""
import re
import time
import uuid

import pytest

from servicekit.testing import wait_until

pytestmark = pytest.mark.slow

# Services on 8301-8305 and simulators on 8401-8403: clear of `make up` (8001-8005, 8101-8103), of
# test_faults (+450) and of bench (+700 and up), so they can run side by side.
PORT_OFFSET = 300


def test_a_filed_dossier_reaches_every_service_within_ten_seconds_and_sends_one_ascii_sms(amqp_url, start_suite, support):
    suite = start_suite({"MOTCUA_AMQP_URL": amqp_url}, PORT_OFFSET)
    filer = support.Filer(suite)
    phone = support.phone_for(1)
    key = str(uuid.uuid4())

    filed = filer.file(phone, key)
    assert filed.status_code == 201, filed.text
    accepted_at = time.monotonic()
    code = filed.json()["code"]
    replay = filer.file(phone, key)
    assert replay.status_code == 201 and replay.json()["code"] == code, "same key, same body: the first answer again"

    def officer_view(service, path):
        def fetch():
            r = support.get_officer(suite, service, path)
            assert r.status_code in (200, 404), r.text
            return r.json() if r.status_code == 200 else None
        return fetch

    case = wait_until(officer_view("processing", f"/v1/dossiers/{code}"), timeout=10, interval=0.1,
                      message="processing has no case for the dossier")
    payment = wait_until(officer_view("payment", f"/v1/payments/{code}"), timeout=10, interval=0.1,
                         message="payment has no order for the dossier")
    shipment = wait_until(officer_view("postal", f"/v1/shipments/{code}"), timeout=10, interval=0.1,
                          message="postal has no shipment for the dossier")
    messages = wait_until(lambda: support.sms_messages(suite, to=phone), timeout=10, interval=0.1,
                          message="no SMS reached the gateway")
    elapsed = time.monotonic() - accepted_at
    assert elapsed <= 10, f"the dossier took {elapsed:.1f} s to reach every service"

    assert (case["code"], case["status"], case["agency_code"]) == (code, "submitted", support.AGENCY)
    assert case["procedure_code"] == support.PROCEDURE and case["delivery_method"] == "post"
    assert payment["dossier_code"] == code and payment["status"] == "not_required"  # the procedure has no fee
    assert shipment["dossier_code"] == code and shipment["service"] == "return"

    time.sleep(1.5)  # a second SMS (a duplicate delivery) would arrive within this
    messages = support.sms_messages(suite, to=phone)
    assert len(messages) == 1, messages
    text = messages[0]["text"]
    assert code in text
    assert text.isascii(), text
    assert "Dang Thi Ngoc Anh" in text  # folded, not dropped: đ → d, diacritics removed
    assert messages[0]["channel"] == "sms" and messages[0]["encoding"] == "gsm7"

    assert support.metric_sum(suite, "intake", "motcua_dossiers_submitted_total") >= 1
    assert support.consumed(suite, "notify", "ok", "dossier.submitted.v1") >= 1
    assert support.consumed(suite, "processing", "ok", "dossier.submitted.v1") >= 1


def test_the_portal_serves_the_real_catalogue_and_tracks_a_real_dossier(amqp_url, start_suite, support):
    """The portal against the real intake: the procedure page, then the dossier found by its code and ID number."""
    suite = start_suite({"MOTCUA_AMQP_URL": amqp_url}, PORT_OFFSET + 5, frontends=("portal",))
    filer = support.Filer(suite)
    page = support.session().get(suite.url("portal", f"/thu-tuc/{support.PROCEDURE}"), timeout=10)
    assert page.status_code == 200 and filer.procedure["name"] in page.text
    filed = filer.file(support.phone_for(2), str(uuid.uuid4()))
    assert filed.status_code == 201, filed.text
    code = filed.json()["code"]
    browser = support.session()
    form = browser.get(suite.url("portal", "/tra-cuu"), timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    found = browser.post(suite.url("portal", "/tra-cuu"), timeout=10,
                         data={"csrf_token": token, "code": code, "id_number": "001190012345"})
    assert found.status_code == 200 and code in found.text, found.text[:2000]
