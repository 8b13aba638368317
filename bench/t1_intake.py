"""T1: dossiers/s filed at intake (gunicorn alone, fresh migrated SQLite) vs a bare Flask JSON endpoint, same gunicorn settings."""
from __future__ import annotations

import os
import sqlite3
import tempfile

from scripts.suite import PROCFILE, parse_command, read_procfile

from . import filings
from .common import (PYTHON, Proc, base_env, free_ports, gunicorn_workers, log, process_tree_cpu_seconds, run_checked,
                     wait_http)
from .loadgen import ensure_wrk, post_load

PATH = "/v1/dossiers"
WARMUP_S = 2.0


def run(*, duration: float, rounds: int, connections: int = 8) -> dict:
    wrk = ensure_wrk()
    intake_rates, bare_rates, runs = [], [], []
    for r in range(rounds):
        for side in (("bare", "intake") if r % 2 == 0 else ("intake", "bare")):
            with tempfile.TemporaryDirectory(prefix="bench-t1-") as tmp:
                result = _one_side(side, tmp, duration=duration, connections=connections, wrk=wrk)
            runs.append({"side": side, **result})
            (intake_rates if side == "intake" else bare_rates).append(result["rate"])
            log(f"T1 round {r + 1} {side}: {result['rate']:,.0f} req/s ({result['ok']} ok, {result['errors']} errors)")
    measured, baseline = max(intake_rates), max(bare_rates)
    cpu = {side: min(r["server_cpu_ms_per_request"] for r in runs if r["side"] == side) for side in ("intake", "bare")}
    return {
        "id": "T1",
        "what": "dossiers/s accepted by intake (POST /v1/dossiers -> 201), gunicorn alone, fresh SQLite",
        "unit": "req/s",
        "measured": measured,
        "baseline": baseline,
        "baseline_what": "bench/bare_app.py (Flask, POST answers small JSON, no DB) under the same gunicorn settings",
        "ratio": measured / baseline,
        "target": 0.30,
        "duration_s": duration,
        "rounds": rounds,
        "gunicorn": {"config": os.path.relpath(str(PROCFILE.parent / "gunicorn.conf.py")), "workers": gunicorn_workers(),
                     "worker_class": "sync"},
        "load": runs[0]["tool"] if runs else None,
        "client_shares_cores": f"the load client and gunicorn share the machine's {os.cpu_count()} cores",
        # Steadier than req/s when other work shares the machine: the server CPU each answer cost.
        "server_cpu_ms_per_request": cpu,
        "cpu_ratio": cpu["bare"] / cpu["intake"],
        "runs": runs,
        "measured_all": intake_rates,
        "baseline_all": bare_rates,
        "best_of": "max over rounds",
    }


def gunicorn_argv(env: dict, *, port: int, app: str | None = None, name: str | None = None) -> tuple[dict, list[str]]:
    """intake-web's command exactly as deploy/Procfile has it; for the baseline only the app and name change."""
    assignments, argv = parse_command(read_procfile()["intake-web"], {**env, "INTAKE_PORT": str(port)})
    if app:
        argv = [app if a == "intake.wsgi:app" else a for a in argv]
    if name:
        argv = [name if a == "intake" and argv[i - 1] == "--name" else a for i, a in enumerate(argv)]
    if "--bind" not in argv or f"127.0.0.1:{port}" not in argv:
        raise RuntimeError(f"unexpected intake-web command in deploy/Procfile: {argv}")
    return assignments, argv


def intake_env(tmp: str, port: int, doorbell_port: int) -> dict:
    return base_env(
        MOTCUA_VAR_DIR=os.path.join(tmp, "var"),
        INTAKE_PORT=port,
        INTAKE_DATABASE_URL=f"sqlite:///{tmp}/var/data/intake.db",
        # Nobody listens there: the worker is off for T1, so the outbox just grows (the datagram is fire-and-forget).
        INTAKE_RELAY_DOORBELL=f"127.0.0.1:{doorbell_port}",
        PROMETHEUS_MULTIPROC_DIR=os.path.join(tmp, "prom"),
    )


def _one_side(side: str, tmp: str, *, duration: float, connections: int, wrk: str | None) -> dict:
    port, doorbell = free_ports(2)
    env = intake_env(tmp, port, doorbell)
    os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    if side == "intake":
        run_checked([PYTHON, "-m", "intake.manage", "migrate"], env=env, timeout=180)
        assignments, argv = gunicorn_argv(env, port=port)
    else:
        assignments, argv = gunicorn_argv(env, port=port, app="bench.bare_app:app", name="bench-bare")
    env.update({k: v for k, v in assignments.items() if k != "PROMETHEUS_MULTIPROC_DIR"})
    proc = Proc(f"{side}-gunicorn", argv, env, os.path.join(tmp, f"{side}.log")).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
        base = f"http://127.0.0.1:{port}"
        bodies = filings.bodies(base, count=64) if side == "intake" else [filings.bare_body()]
        post_load(port, PATH, bodies, duration=WARMUP_S, connections=connections, wrk=wrk)
        cpu_before = process_tree_cpu_seconds(proc.pid)
        result = post_load(port, PATH, bodies, duration=duration, connections=connections, wrk=wrk)
        # CPU per answer is steadier than req/s on a shared machine, and shows how much is waiting, not work.
        result["server_cpu_ms_per_request"] = (process_tree_cpu_seconds(proc.pid) - cpu_before) * 1000 / max(result["ok"], 1)
        if side == "intake":
            result["dossiers_in_db"] = _count_dossiers(env["INTAKE_DATABASE_URL"])
            result["outbox_rows"] = _count_outbox(env["INTAKE_DATABASE_URL"])
        if not proc.alive():
            raise RuntimeError(f"{side} gunicorn died under load:\n{proc.tail()}")
        return result
    finally:
        proc.stop()


def _sqlite_path(url: str) -> str:
    return url.split("sqlite:///", 1)[1]


def _count_dossiers(url: str) -> int:
    with sqlite3.connect(_sqlite_path(url)) as conn:
        return conn.execute("SELECT COUNT(*) FROM dossiers").fetchone()[0]


def _count_outbox(url: str) -> int:
    with sqlite3.connect(_sqlite_path(url)) as conn:
        return conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
