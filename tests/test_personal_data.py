"""Personal data never reaches a log in full: a dossier filed through the running suite, then every log line read.

The applicant's ID number, phone (written with spaces, as people type it) and e-mail are known; after
the SMS reached the gateway, every line that every process of the suite wrote (web, worker and the
migrations) is searched for them, in every written form. The simulators stand in for outside parties
(the SMS gateway must know the phone to send to it): their logs are reported, not held to this rule.
The mail server refuses the e-mail and quotes the address back, as real ones do, so a failure path
(notify logging why a message failed) is read too, not only the happy one.
"""
import re
import socketserver
import threading
import time
import uuid

import pytest

from servicekit.testing import wait_until

pytestmark = pytest.mark.slow

# Services on 8381-8385 and simulators on 8481-8483: clear of test_end_to_end (+300), test_faults (+450),
# bench (+700 and up) and `make up`.
PORT_OFFSET = 380

ID_NUMBER = "079203004567"
EMAIL_LOCAL = "tran.thi.kiemthu"
EMAIL = f"{EMAIL_LOCAL}@example.vn"
SIMULATORS = ("bank", "postal-operator", "sms-gateway", "dvcqg")


class RefusingSmtp(socketserver.StreamRequestHandler):
    """A mail server that refuses every recipient, quoting the address back as real servers do."""

    def handle(self):
        self.wfile.write(b"220 mail.example.vn ESMTP\r\n")
        for _ in range(50):  # bounded: one short conversation per connection
            line = self.rfile.readline(4096).decode("ascii", "replace").strip()
            if not line:
                return
            verb = line.split(" ", 1)[0].upper()
            if verb.startswith("RCPT"):
                address = line.partition(":")[2].strip()
                self.wfile.write(f"550 5.1.1 {address}: Recipient address rejected: user unknown\r\n".encode())
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            elif verb == "DATA":
                self.wfile.write(b"554 no valid recipients\r\n")
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def refusing_smtp():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), RefusingSmtp)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"smtp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def forms_of(phone84: str) -> list[str]:
    """Every way the phone may be written: 84912345678, 0912345678, 912345678, 0912 345 678, +84 912 345 678..."""
    nsn = phone84[2:]  # 9 digits after the country code
    spaced = f"{nsn[:2]} {nsn[2:5]} {nsn[5:]}", f"{nsn[:3]} {nsn[3:6]} {nsn[6:]}"
    return [nsn, *(f"0{s}" for s in spaced), *(f"+84 {s}" for s in spaced), f"0{nsn[:2]}.{nsn[2:5]}.{nsn[5:]}"]


def leaks(text: str, phone84: str) -> list[str]:
    found = [f for f in [ID_NUMBER, EMAIL, EMAIL_LOCAL, *forms_of(phone84)] if f in text]
    # The ID number or the phone's digits grouped any other way (spaces, dots, dashes between digits).
    digits_only = re.sub(r"(?<=\d)[ .\-](?=\d)", "", text)
    found += [f"{f} (grouped)" for f in (ID_NUMBER, phone84[2:]) if f in digits_only and f not in text]
    return found


def test_no_log_line_of_any_process_carries_a_full_id_number_phone_or_email(amqp_url, refusing_smtp, start_suite,
                                                                             support, figures):
    # The e-mail is refused by the mail server, which quotes the address back: notify logs the failure.
    suite = start_suite({"MOTCUA_AMQP_URL": amqp_url, "MOTCUA_SMTP_URL": refusing_smtp}, PORT_OFFSET)
    filer = support.Filer(suite)
    phone84 = support.phone_for(int(time.time()) % 1_000_000 + 4_000_000)
    nsn = phone84[2:]
    body = filer.body(phone84)
    body["applicant"].update(id_number=ID_NUMBER, email=EMAIL, phone=f"+84 {nsn[:3]} {nsn[3:6]} {nsn[6:]}")
    body["delivery"]["address"]["phone"] = f"0{nsn[:2]}.{nsn[2:5]}.{nsn[5:]}"
    body["notify_channels"] = ["sms", "email"]
    filed = filer.http.post(suite.url("intake", "/v1/dossiers"), json=body,
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=support.TIMEOUT)
    assert filed.status_code == 201, filed.text
    code = filed.json()["code"]
    # The citizen's lookup by code and ID number (a path that handles the ID number on its own), and a miss.
    lookup = filer.http.post(suite.url("intake", "/v1/dossiers/lookup"), json={"code": code, "id_number": ID_NUMBER},
                             timeout=support.TIMEOUT)
    assert lookup.status_code == 200, lookup.text
    miss = filer.http.post(suite.url("intake", "/v1/dossiers/lookup"),
                           json={"code": code, "id_number": ID_NUMBER[:-1] + "0"}, timeout=support.TIMEOUT)
    assert miss.status_code == 404
    wait_until(lambda: support.sms_messages(suite, to=phone84), timeout=15, interval=0.2,
               message="no SMS reached the gateway")
    wait_until(lambda: support.get_officer(suite, "postal", f"/v1/shipments/{code}").status_code == 200,
               timeout=15, interval=0.2, message="postal has no shipment for the dossier")
    wait_until(lambda: any('"notify.message_failed"' in line
                           for line in (suite.log_dir / "notify-worker.log").read_text(errors="replace").splitlines()),
               timeout=20, interval=0.2, message="notify never tried the e-mail")
    time.sleep(1.0)  # the receipt from the gateway, and the last log lines flushed

    suite_lines, leaked, outside = 0, [], {}
    for path in sorted(suite.log_dir.glob("*.log")):
        name = path.stem
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            found = leaks(line, phone84)
            if name.split("-migrate")[0] in SIMULATORS or name in SIMULATORS:
                if found:
                    outside[name] = outside.get(name, 0) + 1
                continue
            suite_lines += 1
            if found:
                leaked.append(f"{path.name}:{number}: {found}: {line[:300]}")
    figures("personal_data", {"suite_log_lines": suite_lines, "lines_with_personal_data": len(leaked),
                              "simulator_lines_with_personal_data": outside})
    assert suite_lines > 20, "the suite wrote almost nothing: the test would prove nothing"
    assert not leaked, f"{len(leaked)} log lines carry personal data in full:\n" + "\n".join(leaked[:30])
