"""The RabbitMQ definitions against a real broker: a private RabbitMQ node imports the compose file, every service's
`manage declare` then runs against it, and what the broker holds afterwards is exactly the file: the services
declared nothing the file lacks and nothing with other arguments (a quorum queue's arguments cannot change, so a
difference would have shown as a second queue set or a refused declare), and the file's dev user can log in.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pika
import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("intake", "processing", "payment", "postal", "notify")


def topology(defs: dict) -> dict:
    return {
        "exchanges": sorted((e["name"], e["type"], e["durable"], json.dumps(e["arguments"], sort_keys=True))
                            for e in defs["exchanges"] if not e["name"].startswith("amq.") and e["name"]),
        "queues": sorted((q["name"], q["durable"], json.dumps(q["arguments"], sort_keys=True)) for q in defs["queues"]),
        "bindings": sorted((b["source"], b["destination"], b["routing_key"]) for b in defs["bindings"] if b["source"]),
    }


@pytest.mark.slow
def test_the_broker_holds_exactly_the_definitions_after_every_service_declared(private_rabbit, tmp_path):
    compose_file = ROOT / "deploy/rabbitmq/definitions.json"
    private_rabbit.ctl("import_definitions", str(compose_file))
    # The file's own user (guest/guest, for compose) can connect.
    pika.BlockingConnection(pika.URLParameters(private_rabbit.amqp_url)).close()
    env = {**os.environ, "MOTCUA_AMQP_URL": private_rabbit.amqp_url, "MOTCUA_VAR_DIR": str(tmp_path)}
    env.pop("MOTCUA_DELIVERY_LIMIT", None)
    env.pop("MOTCUA_RETRY_DELAYS_MS", None)
    for svc in SERVICES:
        result = subprocess.run([sys.executable, "-m", f"{svc}.manage", "declare"], env=env, capture_output=True,
                                text=True, timeout=120, cwd=ROOT)
        assert result.returncode == 0, result.stderr
        assert "queue_mismatch" not in result.stdout + result.stderr, result.stdout + result.stderr
    exported = tmp_path / "exported.json"
    private_rabbit.ctl("export_definitions", str(exported))
    assert topology(json.loads(exported.read_text())) == topology(json.loads(compose_file.read_text()))
