"""Each simulator runs as `python -m motcua_sims.<name>` in the foreground and stops cleanly on a signal."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import motcua_sims

SIMULATORS = [
    ("motcua_sims.sms_gateway", "SMS_GATEWAY_PORT", "SMS_GATEWAY_DB"),
    ("motcua_sims.bank", "BANK_SIM_PORT", "BANK_SIM_DB"),
    ("motcua_sims.postal_operator", "POSTAL_SIM_PORT", "POSTAL_SIM_DB"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("module, port_var, db_var", SIMULATORS)
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_simulator_serves_healthz_on_its_port_and_exits_cleanly_on_a_signal(tmp_path, module, port_var, db_var,
                                                                           stop_signal):
    port = free_port()
    env = {**os.environ, port_var: str(port), db_var: str(tmp_path / "sim.db"),
           "PYTHONPATH": str(Path(motcua_sims.__file__).parents[1]),
           # A closed port: the postal operator keeps retrying in the background and must still serve.
           "MOTCUA_AMQP_URL": "amqp://guest:guest@127.0.0.1:9/%2F"}
    process = subprocess.Popen([sys.executable, "-m", module], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.05)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0
        log = process.stderr.read()
        assert '"event": "server.stopped"' in log and "Traceback" not in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
