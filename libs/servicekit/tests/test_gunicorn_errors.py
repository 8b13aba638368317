"""What gunicorn refuses before the app sees it is answered in the common JSON error shape too."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "deploy" / "gunicorn.conf.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _raw(port: int, request: bytes) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.fixture
def server(tmp_path):
    (tmp_path / "tinyapp.py").write_text(textwrap.dedent("""
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"ok": true}']
    """))
    port = _free_port()
    env = {**os.environ, "GUNICORN_WORKERS": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([str(GUNICORN), "-c", str(CONF), "-b", f"127.0.0.1:{port}", "--chdir", str(tmp_path),
                             "tinyapp:app"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_an_over_long_url_is_a_414_in_the_json_error_shape(server):
    status, headers, body = _raw(server, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 414
    assert headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert answer["code"] == 414 and answer["status"] == "URI Too Long" and answer["message"]


def test_a_malformed_request_line_is_a_400_in_json_and_a_good_request_still_works(server):
    status, headers, body = _raw(server, b"NOT A REQUEST\r\n\r\n")
    assert status == 400 and headers["content-type"] == "application/json" and json.loads(body)["code"] == 400
    status, _, body = _raw(server, b"GET / HTTP/1.0\r\n\r\n")  # HTTP/1.0: a plain body, not chunked
    assert status == 200 and json.loads(body) == {"ok": True}
