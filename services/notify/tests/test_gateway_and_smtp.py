"""Real outside parties on local ports: the SMS/Zalo gateway simulator over HTTP (with its signed receipts
coming back to notify's own web app), and a real SMTP server (aiosmtpd) that the test reads mail back from."""
import email
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from email import policy

import pytest
import requests
from aiosmtpd.controller import Controller
from werkzeug.serving import make_server

from motcua_sims import sms_gateway

from notify.models import delivery_attempts, messages, receipts
from servicekit.testing import wait_until

CODE = "000.00.06.H56-261124-0001"


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class Serving:
    """A WSGI app on a real local port, in a thread."""

    def __init__(self, app, port: int = 0):
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def simulator(tmp_path):
    """Start the gateway simulator on demand (a port chosen first, so the test can start it late)."""
    started = []

    def _start(port=None, **settings):
        app = sms_gateway.create_app(sms_gateway.Settings(db_path=str(tmp_path / f"sim-{len(started)}.db"),
                                                          **settings))
        serving = Serving(app, port or 0)
        serving.settings = settings
        started.append(serving)
        return serving

    yield _start
    for serving in started:
        serving.close()


def test_gateway_down_then_up_the_message_is_retried_and_reaches_it_once(submit, rows, make_sender, clock,
                                                                        tmp_path):
    port = free_port()
    sender = make_sender(sms_gateway_url=f"http://127.0.0.1:{port}", retry_base_seconds=10)
    submit(channels=("sms",))

    assert sender.send_next()  # nobody listens: connection refused
    [waiting] = rows()
    assert waiting.status == "created" and waiting.attempts == 1 and "ConnectionError" in waiting.last_error
    assert sender.send_next() is False  # backing off, not hammering

    sim_settings = sms_gateway.Settings(db_path=str(tmp_path / "sim.db"), fail_rate=1.0)
    sim = Serving(sms_gateway.create_app(sim_settings), port)
    try:
        clock.advance(13)
        assert sender.send_next()  # up but overloaded: 503
        [again] = rows()
        assert again.status == "created" and again.attempts == 2 and again.last_error == "HTTP 503"

        sim_settings.fail_rate = 0.0  # the gateway recovers
        clock.advance(26)
        assert sender.send_next()
        [sent] = rows()
        assert sent.status == "sent" and sent.attempts == 3
        clock.advance(3600)
        assert sender.send_next() is False
        count = requests.get(f"{sim.url}/v1/messages/count", timeout=5).json()
        listed = requests.get(f"{sim.url}/v1/messages", params={"to": "84912345678"}, timeout=5).json()["items"]
    finally:
        sim.close()
    assert count == {"total": 1, "distinct_message_ids": 1}
    assert listed[0]["message_id"] == sent.id and listed[0]["text"] == sent.text
    assert listed[0]["encoding"] == "gsm7" and listed[0]["segments"] == sent.segments
    assert [a.outcome for a in rows(delivery_attempts)] == ["retry", "retry", "sent"]


def test_a_refusal_by_the_gateway_is_final_without_a_retry(db, submit, rows, make_sender, clock, simulator):
    sim = simulator()
    submit(channels=("sms",))
    with db.transaction() as conn:  # a number the gateway refuses (422)
        conn.execute(messages.update().values(to_address="84-912"))
    sender = make_sender(sms_gateway_url=sim.url)
    sender.send_next()
    [failed] = rows()
    assert failed.status == "failed" and failed.attempts == 1 and failed.last_error == "HTTP 422"
    clock.advance(3600)
    assert sender.send_next() is False
    assert requests.get(f"{sim.url}/v1/messages/count", timeout=5).json()["total"] == 0


def test_the_gateways_signed_receipts_reach_notify_and_mark_messages_delivered_or_failed(
        settings, db, submit, rows, make_sender, simulator):
    from notify.app import create_app

    web = Serving(create_app(settings))
    try:
        sim = simulator(receipt_url=f"{web.url}/v1/providers/receipts", receipt_delay_s=0.0,
                        webhook_secret=settings.webhook_secret)
        submit(code=CODE, channels=("sms", "zalo"))
        submit(code=CODE[:-1] + "2", channels=("sms",))
        with db.transaction() as conn:  # the simulator's number whose receipt says "failed"
            conn.execute(messages.update().where(messages.c.dossier_code == CODE[:-1] + "2")
                         .values(to_address=sms_gateway.FAIL_RECEIPT_NUMBER))
        sender = make_sender(sms_gateway_url=sim.url)
        while sender.send_next():
            pass
        wait_until(lambda: all(row.status in ("delivered", "failed") for row in rows()), timeout=10,
                   message="receipts did not arrive")
    finally:
        web.close()
    status = {(row.dossier_code[-1], row.channel): row.status for row in rows()}
    assert status == {("1", "sms"): "delivered", ("1", "zalo"): "delivered", ("2", "sms"): "failed"}
    assert {r.outcome for r in rows(receipts)} == {"applied"} and len(rows(receipts)) == 3
    zalo = next(row for row in rows() if row.channel == "zalo")
    listed = requests.get(f"{sim.url}/v1/messages", params={"channel": "zalo"}, timeout=5).json()["items"]
    assert listed[0]["template_id"] == "motcua_dossier_submitted" and listed[0]["params"]["code"] == CODE
    assert zalo.status == "delivered"


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{port}"
    yield inbox
    controller.stop()


def test_the_apology_email_reaches_a_real_smtp_server_with_text_html_and_the_form_04_pdf(
        submit, deliver, rows, make_sender, smtp_server, tmp_path):
    submit(channels=("email",))
    deliver("dossier.apology_issued.v1", seq=3)
    sender = make_sender(smtp_url=smtp_server.url)
    assert sender.send_next() and sender.send_next() and not sender.send_next()
    assert {row.status for row in rows()} == {"sent"}
    assert [rcpt for _, rcpt in smtp_server.envelopes] == [["anh@example.vn"], ["anh@example.vn"]]

    by_subject = {str(m["Subject"]): m for m in smtp_server.messages}
    apology = by_subject["Phiếu xin lỗi và hẹn lại ngày trả kết quả"]
    assert "Thông báo tiếp nhận hồ sơ trực tuyến" in by_subject
    assert apology["To"] == "anh@example.vn" and "Một Cửa" in str(apology["From"])
    text = apology.get_body(("plain",)).get_content()
    html = apology.get_body(("html",)).get_content()
    assert "Ngày hẹn trả kết quả mới: 02/12/2026" in text and "Kính gửi Ông/Bà Đặng Thị Ngọc Ánh" in text
    assert f'<a href="http://127.0.0.1:8000/ho-so/{CODE}">' in html and "Cần xác minh thêm thông tin" in html

    [attachment] = list(apology.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "phieu-xin-loi-mau-04.pdf"
    pdf = attachment.get_content()
    assert pdf.startswith(b"%PDF-") and b"DejaVuSans" in pdf  # the font with every Vietnamese letter, embedded
    path = tmp_path / "slip.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftotext"):  # poppler-utils: read the words back as a reader would see them
        words = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                               check=True).stdout
        assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in words
        assert "Đặng Thị Ngọc Ánh" in words and CODE in words and "02/12/2026" in words
    submitted = by_subject["Thông báo tiếp nhận hồ sơ trực tuyến"]
    assert list(submitted.iter_attachments()) == [] and submitted.get_body(("html",)) is not None


def test_mail_server_down_is_retried_then_the_mail_arrives_once(submit, rows, make_sender, clock):
    port = free_port()
    submit(channels=("email",))
    sender = make_sender(smtp_url=f"smtp://127.0.0.1:{port}", retry_base_seconds=5)
    sender.send_next()
    [waiting] = rows()
    assert waiting.status == "created" and waiting.attempts == 1
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(10)
        assert sender.send_next()
        clock.advance(3600)
        assert not sender.send_next()
    finally:
        controller.stop()
    assert len(inbox.messages) == 1 and rows()[0].status == "sent"
