"""The sender: claims created messages, sends them, retries what may pass later, fails what will not."""
import os
import smtplib
import tempfile
import threading
import time
from datetime import timedelta

import requests
from prometheus_client import REGISTRY
from werkzeug.serving import make_server

from servicekit.db import Database
from servicekit.testing import wait_until

from notify import queries
from notify.clients import GatewayClient, SmtpMailer, Transports
from notify.models import delivery_attempts


def only(rows):
    assert len(rows) == 1, rows
    return rows[0]


def test_sender_posts_the_message_to_the_gateway_and_marks_it_sent(submit, rows, make_sender, gateway, published):
    submit(channels=("sms",))
    message = only(rows())
    assert make_sender().send_next() is True
    posted = only(gateway.received)
    assert posted == {"message_id": message.id, "channel": "sms", "to": "84912345678", "text": message.text}
    sent = only(rows())
    assert sent.status == "sent" and sent.provider_status == "accepted" and sent.sent_at is not None
    assert sent.claimed_by is None and sent.attempts == 1
    attempt = only(rows(delivery_attempts))
    assert attempt.outcome == "sent" and attempt.status_code == 202 and attempt.attempt == 1
    assert published("notification.sent.v1") == [("notification.sent.v1", {
        "message_id": message.id, "dossier_code": "000.00.06.H56-261124-0001", "kind": "dossier.submitted",
        "channel": "sms", "attempts": 1, "sent_at": published()[0][1]["sent_at"]})]


def test_nothing_due_means_nothing_is_sent(make_sender, gateway):
    assert make_sender().send_next() is False
    assert gateway.received == []


def test_zalo_goes_to_the_gateway_as_template_id_and_params(submit, rows, make_sender, gateway):
    submit(channels=("zalo",))
    make_sender().send_next()
    posted = only(gateway.received)
    assert posted["channel"] == "zalo" and posted["template_id"] == "motcua_dossier_submitted"
    assert posted["params"]["name"] == "Đặng Thị Ngọc Ánh" and "text" not in posted
    assert only(rows()).status == "sent"


def test_server_error_is_retried_with_backoff_then_failed_after_max_attempts(
        submit, rows, make_sender, gateway, clock, published):
    gateway.default = (503, {})
    sender = make_sender(max_attempts=3, retry_base_seconds=10)
    submit(channels=("sms",))

    assert sender.send_next() is True
    first = only(rows())
    assert first.status == "created" and first.attempts == 1 and "HTTP 503" in first.last_error
    first_delay = (first.next_attempt_at - clock()).total_seconds()
    assert 9 <= first_delay <= 12.6
    assert sender.send_next() is False  # not due yet: no hammering a gateway that is down

    clock.advance(13)
    assert sender.send_next() is True
    second = only(rows())
    assert second.status == "created" and second.attempts == 2
    assert 19 <= (second.next_attempt_at - clock()).total_seconds() <= 25.1  # the delay doubles

    clock.advance(26)
    assert sender.send_next() is True
    failed = only(rows())
    assert failed.status == "failed" and failed.attempts == 3 and failed.failed_at is not None
    assert "gave up after 3 attempts" in failed.last_error
    assert len(gateway.received) == 3
    assert [a.outcome for a in rows(delivery_attempts)] == ["retry", "retry", "failed"]
    [(_, event)] = published("notification.failed.v1")
    assert event["message_id"] == failed.id and event["attempts"] == 3 and event["channel"] == "sms"
    clock.advance(3600)
    assert sender.send_next() is False


def test_rate_limited_send_waits_at_least_the_retry_after(submit, rows, make_sender, gateway, clock):
    gateway.script.append((429, {"Retry-After": "120"}))
    sender = make_sender(retry_base_seconds=1)
    submit(channels=("sms",))
    sender.send_next()
    message = only(rows())
    assert message.status == "created" and (message.next_attempt_at - clock()).total_seconds() >= 119
    clock.advance(121)
    assert sender.send_next() is True and only(rows()).status == "sent"


def test_client_error_fails_at_once_without_a_retry(submit, rows, make_sender, gateway, clock, published):
    gateway.default = (422, {})
    sender = make_sender()
    submit(channels=("sms",))
    sender.send_next()
    failed = only(rows())
    assert failed.status == "failed" and failed.attempts == 1 and failed.last_error == "HTTP 422"
    clock.advance(3600)
    assert sender.send_next() is False
    assert len(gateway.received) == 1
    assert [t for t, _ in published()] == ["notification.failed.v1"]


def test_gateway_timeout_is_retried(submit, rows, make_sender, gateway):
    gateway.delay = 1.0
    sender = make_sender(send_timeout_seconds=0.2)
    submit(channels=("sms",))
    sender.send_next()
    message = only(rows())
    assert message.status == "created" and "Timeout" in message.last_error


def test_unreachable_gateway_is_retried(submit, rows, make_sender, closed_port):
    sender = make_sender(transports=Transports(GatewayClient(f"http://127.0.0.1:{closed_port}", timeout=1),
                                               SmtpMailer("smtp://127.0.0.1:9", sender="x@y.z")))
    submit(channels=("sms",))
    sender.send_next()
    message = only(rows())
    assert message.status == "created" and "ConnectionError" in message.last_error


def test_two_senders_never_send_one_message_twice(settings, db, submit, rows, make_sender, gateway):
    for n in range(30):
        submit(code=f"000.00.06.H56-261124-{n:04d}", channels=("sms",))
    other_process_db = Database(settings.kit.database_url)
    try:
        senders = [make_sender(), make_sender(database=other_process_db)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.wake(30)
        wait_until(lambda: all(row.status == "sent" for row in rows()), timeout=20, message="not all sent")
        for sender in senders:
            sender.stop()
    finally:
        other_process_db.dispose()
    ids = [body["message_id"] for body in gateway.received]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert len(rows(delivery_attempts)) == 30


def test_sender_is_woken_by_the_handlers_commit_not_by_its_one_second_sweep(submit, make_sender, gateway):
    sender = make_sender()
    sender.start()
    time.sleep(0.1)  # every thread is now waiting out its 1 s sweep
    started = time.perf_counter()
    submit(channels=("sms",), wake=sender.wake)
    wait_until(lambda: gateway.received, timeout=2, interval=0.002)
    assert time.perf_counter() - started < 0.5


def test_one_wake_up_costs_one_claim_not_a_second_empty_one(submit, rows, make_sender, gateway):
    """Each claim is a write transaction: draining after every wake-up until a claim comes back empty doubled
    them. A wake-up stands for one message; the sweep (idle seconds) picks up anything else that is due."""
    sender = make_sender(sender_threads=1)
    claims = []
    real = sender.send_next
    sender.send_next = lambda: claims.append(1) or real()
    sender.start()
    time.sleep(0.1)
    started = time.monotonic()
    for n in range(1, 6):
        submit(code=f"000.00.06.H56-261124-{n:04d}", channels=("sms",), wake=sender.wake)
        wait_until(lambda: len(gateway.received) == n, timeout=3, interval=0.002)
    wait_until(lambda: {r.status for r in rows()} == {"sent"}, timeout=3, interval=0.005)
    sweeps = int(time.monotonic() - started) + 1
    assert len(claims) <= 5 + sweeps, f"{len(claims)} claims for 5 messages"


def test_one_slow_gateway_call_does_not_hold_up_the_rest(submit, rows, make_sender, gateway):
    gateway.script.append((202, {}, 1.5))  # the first message's call hangs for 1.5 s
    sender = make_sender(sender_threads=4)
    sender.start()
    submit(code="000.00.06.H56-261124-0001", channels=("sms",), wake=sender.wake)
    wait_until(lambda: gateway.received, timeout=2, interval=0.005)
    started = time.perf_counter()
    submit(code="000.00.06.H56-261124-0002", channels=("sms",), wake=sender.wake)
    wait_until(lambda: {r.dossier_code[-4:]: r.status for r in rows()}.get("0002") == "sent", timeout=3,
               interval=0.005)
    assert time.perf_counter() - started < 1.0
    assert {r.dossier_code[-4:]: r.status for r in rows()}["0001"] == "sending"


def test_message_whose_sender_died_mid_send_is_swept_back_and_sent(db, submit, rows, make_sender, gateway, clock):
    submit(channels=("sms",))
    sender = make_sender()
    with db.transaction() as conn:  # a sender that claims, then dies before it records an answer
        queries.claim_next(conn, sender_id="dead-sender", moment=clock(), lease_until=clock() + timedelta(seconds=30))
    assert sender.send_next() is False
    assert sender.sweep() == 0  # the lease still runs
    clock.advance(31)
    assert sender.sweep() == 1
    assert only(rows()).status == "created"
    assert sender.send_next() is True
    sent = only(rows())
    assert sent.status == "sent" and sent.attempts == 2


def test_sweep_reports_the_pending_messages(submit, make_sender):
    submit(code="000.00.06.H56-261124-0001", channels=("sms", "email"))
    make_sender().sweep()
    assert REGISTRY.get_sample_value("motcua_notifications_pending") == 2


def test_message_counter_follows_each_status(submit, make_sender):
    def count(status):
        return REGISTRY.get_sample_value("motcua_notifications_total", {"channel": "sms", "status": status}) or 0

    before = count("created"), count("sent")
    submit(channels=("sms",))
    make_sender().send_next()
    assert (count("created"), count("sent")) == (before[0] + 1, before[1] + 1)


class FakeSMTP:
    """Stands in for smtplib.SMTP: records what would go to the mail server."""

    sent: list = []

    def __init__(self, host, port, timeout):
        self.address = (host, port, timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, email):
        FakeSMTP.sent.append((self.address, email))
        return {}


def test_email_goes_by_smtp_with_its_vietnamese_subject(submit, rows, make_sender, gateway):
    FakeSMTP.sent = []
    mailer = SmtpMailer("smtp://127.0.0.1:1025", sender="Một Cửa <no-reply@motcua.local>", smtp_factory=FakeSMTP)
    sender = make_sender(transports=Transports(GatewayClient(gateway.url), mailer))
    submit(channels=("email",))
    sender.send_next()
    (address, email) = only(FakeSMTP.sent)
    assert address[:2] == ("127.0.0.1", 1025)
    assert email["To"] == "anh@example.vn" and email["Subject"] == "Thông báo tiếp nhận hồ sơ trực tuyến"
    assert "Đặng Thị Ngọc Ánh" in email.get_body(("plain",)).get_content()
    assert "Đặng Thị Ngọc Ánh" in email.get_body(("html",)).get_content()
    assert only(rows()).status == "sent" and gateway.received == []


def test_email_with_no_smtp_server_answering_is_retried(submit, rows, make_sender, closed_port):
    sender = make_sender(smtp_url=f"smtp://127.0.0.1:{closed_port}")
    submit(channels=("email",))
    sender.send_next()
    message = only(rows())
    assert message.status == "created" and message.attempts == 1 and "ConnectionRefused" in message.last_error


def test_smtp_permanent_refusal_fails_at_once_and_temporary_is_retried():
    assert SmtpMailer._by_code(550, "no such user").result == "failed"
    assert SmtpMailer._by_code(451, "try later").result == "retry"
    assert issubclass(smtplib.SMTPRecipientsRefused, smtplib.SMTPException)


def test_the_gateway_simulator_accepts_what_the_sender_posts(submit, rows, make_sender):
    from motcua_sims import sms_gateway

    with tempfile.TemporaryDirectory() as tmp:
        app = sms_gateway.create_app(sms_gateway.Settings(db_path=os.path.join(tmp, "sim.db")))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        try:
            submit(channels=("sms", "zalo"))
            sender = make_sender(sms_gateway_url=url)
            sender.send_next()
            sender.send_next()
            listed = requests.get(f"{url}/v1/messages", params={"to": "84912345678"}, timeout=5).json()["items"]
        finally:
            server.shutdown()
            server.server_close()
    assert {m["channel"] for m in listed} == {"sms", "zalo"}
    sms = next(m for m in listed if m["channel"] == "sms")
    assert "Dang Thi Ngoc Anh" in sms["text"] and sms["encoding"] == "gsm7"
    assert {m["message_id"] for m in listed} == {row.id for row in rows()}
    assert all(row.status == "sent" for row in rows())


def test_one_claim_takes_exactly_one_message(db, submit, rows, clock):
    for n in range(3):
        submit(code=f"000.00.06.H56-261124-{n:04d}", channels=("sms", "email"))
    with db.transaction() as conn:
        claimed = queries.claim_next(conn, sender_id="s-1", moment=clock(), lease_until=clock() + timedelta(seconds=30))
    assert claimed is not None
    assert [row.id for row in rows() if row.status == "sending"] == [claimed.id]


def test_an_unreachable_gateway_never_uses_up_the_attempts_and_its_backoff_stays_short(
        submit, rows, make_sender, clock, closed_port, gateway):
    """A gateway down for a minute (connection refused): the messages wait for it instead of failing after
    NOTIFY_MAX_ATTEMPTS, retried at most every 30 s, and go out once it is back (tests/test_misbehaving.py)."""
    down = make_sender(max_attempts=3, retry_base_seconds=2, transports=Transports(
        GatewayClient(f"http://127.0.0.1:{closed_port}", timeout=1), SmtpMailer("smtp://127.0.0.1:9", sender="x@y.z")))
    submit(channels=("sms",))
    for _ in range(8):
        clock.advance(40)
        assert down.send_next() is True
        message = only(rows())
        assert message.status == "created", message.last_error
        assert (message.next_attempt_at - clock()).total_seconds() <= 30 * 1.25
    clock.advance(40)
    assert make_sender().send_next() is True and only(rows()).status == "sent"
    assert len(gateway.received) == 1


def test_a_dossiers_messages_go_out_in_order_when_the_first_is_waiting_for_a_retry(
        submit, deliver, rows, make_sender, gateway, clock):
    """The first message of a dossier failed once and waits; the second, due sooner, must not overtake it."""
    sender = make_sender(retry_base_seconds=10)
    submit(channels=("sms",))
    gateway.script.append((503, {}))
    assert sender.send_next() is True  # the first: 503, retried in 10-12.5 s
    deliver("dossier.received.v1", code="000.00.06.H56-261124-0001")
    assert sender.send_next() is False, "the second overtook the first"
    clock.advance(13)
    assert sender.send_next() is True and sender.send_next() is True
    kinds = {m.id: m.kind for m in rows()}
    assert [kinds[m["message_id"]] for m in gateway.received] == ["dossier.submitted", "dossier.submitted",
                                                                  "dossier.received"]


def test_a_notice_held_behind_its_dossiers_earlier_one_goes_as_soon_as_that_one_is_sent(submit, request_payment, rows,
                                                                                        make_sender, gateway):
    """A wake-up claims one message; the second notice of a dossier cannot be claimed while the first is still
    with the gateway (in order per dossier), so its wake-up found nothing. It is re-armed when a send ends, rather
    than left to the next sweep (up to a second later, or five on a busy sender)."""
    gateway.script.append((202, {}, 1.0))  # the first notice's call takes a second
    sender = make_sender(sender_threads=2)
    sender.idle_sweep_seconds = 60  # no sweep during the test: only the re-armed wake-up can send the second
    sender.start()
    submit(code="000.00.06.H56-261124-0001", channels=("sms",), wake=sender.wake)
    wait_until(lambda: gateway.received, timeout=2, interval=0.005)
    request_payment(dossier_code="000.00.06.H56-261124-0001", wake=sender.wake)  # the fee notice, same dossier
    wait_until(lambda: len(rows()) == 2, timeout=2, interval=0.005)
    wait_until(lambda: sum(r.status == "sent" for r in rows()) >= 1, timeout=4, interval=0.005)
    first_sent = time.perf_counter()
    wait_until(lambda: {r.status for r in rows()} == {"sent"}, timeout=5, interval=0.005)
    assert time.perf_counter() - first_sent < 2.0
