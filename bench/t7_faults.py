"""T7: the broker killed with -9 under load, from tests/test_faults.py (run as it is, its FAULT-FIGURES read back).

The test owns the scenario (a private RabbitMQ node, a suite on ports +450, filings paced across the
outage) and asserts the target: every filing has exactly one case and one SMS, payment and postal hold
every dossier, and each worker's relay and consumer reconnect within 5 s of the broker being back.
"""
from __future__ import annotations

import json
import os
import subprocess
import time

from .common import PYTHON, REPO, log

TEST = "tests/test_faults.py::test_broker_killed_with_sigkill_mid_stream_loses_nothing_duplicates_nothing_and_services_reconnect_within_5_s"


def run(timeout: float = 420.0) -> dict:
    log("T7: running the broker-kill fault test (tests/test_faults.py)")
    started = time.monotonic()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        out = subprocess.run([PYTHON, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "no:randomly", TEST],
                             cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)
        text, code = out.stdout + out.stderr, out.returncode
    except subprocess.TimeoutExpired as exc:
        text, code = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or ""), -1
    figures = {}
    for line in text.splitlines():
        if line.startswith("FAULT-FIGURES "):
            figures = json.loads(line[len("FAULT-FIGURES "):])
    reconnect = figures.get("reconnect_seconds_after_broker_ready") or {}
    worst = max(reconnect.values(), default=None)
    result = {
        "id": "T7", "what": "broker killed -9 under load: reconnect <= 5 s, nothing lost, no duplicate effect",
        "unit": "s", "test": TEST, "pass": code == 0, "figures": figures,
        "worst_reconnect_s": worst, "target_reconnect_s": 5.0,
        "lost": (figures["filings_accepted"] - figures["cases"]) if figures else None,
        "sms_lost": (figures["filings_accepted"] - figures["sms"]) if figures else None,
        "duplicate_effects": 0 if code == 0 else None,
        "seconds": round(time.monotonic() - started, 1),
    }
    if code != 0:
        result["output_tail"] = text[-3000:]
        if not figures:
            result["error"] = f"fault test exited {code} without figures"
    return result
