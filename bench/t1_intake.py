"""T1: dossiers/s filed at intake (gunicorn alone) on SQLite and on PostgreSQL vs a bare Flask JSON endpoint.

Every round starts each side afresh (new database, new gunicorn) and the sides alternate their order
across rounds; the table reports the median and the range of the rounds, never the best. Each filing
carries uploads of its own, made before the timed window (intake attaches an upload to one dossier only,
and a citizen's documents are uploaded while the form is filled in, not when "Nộp" is pressed); their
cost is reported apart. Before each round the machine's load is recorded, and a round during which
other processes used the cores is retaken (bench.common.quiet_round).
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile

from scripts.suite import PROCFILE, parse_command, read_procfile

from . import filings, pg
from .common import (PYTHON, Interference, Proc, base_env, children_cpu_seconds, free_ports, gunicorn_workers, log,
                     own_cpu_seconds, quiet_round, run_checked, spread, tree_cpu_seconds, wait_http)
from .loadgen import ensure_wrk, post_load

PATH = "/v1/dossiers"
WARMUP_FILINGS = 150
UPLOAD_SAMPLE = 100  # real POST /v1/uploads per round, for the uploads' own cost
MAX_FILINGS = int(os.environ.get("BENCH_T1_MAX_FILINGS", "6000"))  # per timed window: bounds the uploads made first
TARGETS = {"sqlite": 0.30, "postgres": 0.25}


def run(*, duration: float, rounds: int, connections: int = 8, databases: tuple[str, ...] = ("sqlite", "postgres")) -> dict:
    wrk = ensure_wrk()
    why_no_pg = pg.available() if "postgres" in databases else None
    if why_no_pg:
        log(f"T1: PostgreSQL not reachable ({why_no_pg}); SQLite only")
        databases = tuple(d for d in databases if d != "postgres")
    sides = ("bare", *databases)
    runs: list[dict] = []
    estimate = {side: 900.0 for side in sides}  # filings/s, refined by each round: sizes the uploads made first
    for r in range(rounds):
        for side in (sides if r % 2 == 0 else tuple(reversed(sides))):
            result = quiet_round(lambda: _one_side(side, duration=duration, connections=connections, wrk=wrk,
                                                   estimate=estimate[side]), f"T1 round {r + 1} {side}")
            estimate[side] = max(result["rate"], 50.0)
            runs.append({"side": side, "round": r + 1, **result})
            log(f"T1 round {r + 1} {side}: {result['rate']:,.0f} req/s ({result['ok']} ok, {result['errors']} errors; "
                f"client {result['client_cpu_ms_per_request']:.2f} ms CPU/req; others used "
                f"{result['interference']['other_cores']:.2f} cores)")
    by_side = {side: [x for x in runs if x["side"] == side] for side in sides}
    rate = {side: spread([x["rate"] for x in by_side[side]]) for side in sides}
    cpu = {side: spread([x["server_cpu_ms_per_request"] for x in by_side[side]]) for side in sides}
    results = []
    for db in databases:
        # Ratios per round pair (same round, minutes apart at most), then their median and range.
        pair_ratios = [i["rate"] / b["rate"] for i, b in zip(by_side[db], by_side["bare"]) if b["rate"]]
        ratio = spread(pair_ratios)
        results.append({
            "id": "T1" if db == "sqlite" else "T1-pg",
            "what": f"dossiers/s accepted by intake (POST /v1/dossiers -> 201), gunicorn alone, fresh {db}",
            "unit": "req/s",
            "database": db,
            "measured": rate[db]["median"],
            "measured_range": [rate[db]["min"], rate[db]["max"]],
            "baseline": rate["bare"]["median"],
            "baseline_range": [rate["bare"]["min"], rate["bare"]["max"]],
            "baseline_what": "bench/bare_app.py (Flask, POST parses the JSON and answers a small JSON, no DB) "
                             "under the same gunicorn command",
            "ratio": ratio["median"],
            "ratio_range": [ratio["min"], ratio["max"]],
            "target": TARGETS[db],
            "duration_s": duration,
            "rounds": rounds,
            "statistic": "median of per-round ratios (range min..max); sides alternate order each round",
            "gunicorn": {"config": os.path.relpath(str(PROCFILE.parent / "gunicorn.conf.py")),
                         "workers": gunicorn_workers(), "worker_class": "sync"},
            "load": runs[0]["tool"] if runs else None,
            "server_cpu_ms_per_request": {"intake": cpu[db]["median"], "bare": cpu["bare"]["median"]},
            "cpu_ratio": cpu["bare"]["median"] / cpu[db]["median"] if cpu[db]["median"] else None,
            "client_cpu_ms_per_request": spread([x["client_cpu_ms_per_request"] for x in by_side[db]])["median"],
            "upload_server_cpu_ms_each": spread([x.get("upload_server_cpu_ms_each", 0.0) for x in by_side[db]])["median"],
            "uploads_per_filing": spread([x.get("uploads_per_filing", 0.0) for x in by_side[db]])["median"],
            "noisy_rounds": sum(1 for x in by_side[db] + by_side["bare"] if x.get("noisy")),
            "runs": [x for x in runs if x["side"] in (db, "bare")],
        })
    return {"results": results, "runs": runs}


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


def intake_env(tmp: str, port: int, doorbell_port: int, database_url: str | None = None) -> dict:
    return base_env(
        MOTCUA_VAR_DIR=os.path.join(tmp, "var"),
        INTAKE_PORT=port,
        INTAKE_DATABASE_URL=database_url or f"sqlite:///{tmp}/var/data/intake.db",
        INTAKE_UPLOADS_DIR=os.path.join(tmp, "uploads"),
        # Nobody listens there: the worker is off for T1, so the outbox just grows (the datagram is fire-and-forget).
        INTAKE_RELAY_DOORBELL=f"127.0.0.1:{doorbell_port}",
        PROMETHEUS_MULTIPROC_DIR=os.path.join(tmp, "prom"),
        # One client address files thousands of dossiers: the per-client limits are tested on their own.
        INTAKE_FILING_MAX_PER_CLIENT=0, INTAKE_FILING_MAX_PER_PHONE=0, INTAKE_UPLOAD_MAX_PER_CLIENT=0,
    )


def _one_side(side: str, *, duration: float, connections: int, wrk: str | None, estimate: float) -> dict:
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-t1-"))
        url = stack.enter_context(pg.throwaway_database("bench_t1")) if side == "postgres" else None
        port, doorbell = free_ports(2)
        env = intake_env(tmp, port, doorbell, url)
        os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
        if side == "bare":
            assignments, argv = gunicorn_argv(env, port=port, app="bench.bare_app:app", name="bench-bare")
        else:
            run_checked([PYTHON, "-m", "intake.manage", "migrate"], env=env, timeout=180)
            assignments, argv = gunicorn_argv(env, port=port)
        env.update({k: v for k, v in assignments.items() if k != "PROMETHEUS_MULTIPROC_DIR"})
        proc = Proc(f"{side}-gunicorn", argv, env, os.path.join(tmp, f"{side}.log")).start()
        stack.callback(proc.stop)
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
        base = f"http://127.0.0.1:{port}"
        extra: dict = {}
        if side == "bare":
            bodies = [filings.bare_body()]
            warm = bodies
        else:
            where = {"database_url": env["INTAKE_DATABASE_URL"], "uploads_dir": env["INTAKE_UPLOADS_DIR"]}
            maker = filings.Filings(base, **where)
            warm = filings.bodies(base, WARMUP_FILINGS, start=5_000_000, **where)
            count = min(MAX_FILINGS, int(estimate * duration * 1.5) + 200)
            numbers = list(range(count))
            bodies = maker.bodies(numbers)
            cost = filings.upload_cost(base, UPLOAD_SAMPLE, lambda: tree_cpu_seconds(proc.pid))
            extra = {"filings_prepared": count, "uploads_per_filing": maker.uploads_made / count,
                     "upload_server_cpu_ms_each": cost["server_cpu_ms_each"], "upload_sample": cost}
        post_load(port, PATH, warm, duration=2.0, connections=connections, wrk=wrk, once=side != "bare")
        db_pids = pg.server_pids() if side == "postgres" else []

        def ours() -> float:
            return (tree_cpu_seconds(proc.pid) + children_cpu_seconds() + own_cpu_seconds()
                    + sum(tree_cpu_seconds(p) for p in db_pids))

        server0 = tree_cpu_seconds(proc.pid) + sum(tree_cpu_seconds(p) for p in db_pids)
        client0 = children_cpu_seconds() + own_cpu_seconds()
        with Interference(ours) as interference:
            result = post_load(port, PATH, bodies, duration=duration, connections=connections, wrk=wrk,
                               once=side != "bare")
        server_s = tree_cpu_seconds(proc.pid) + sum(tree_cpu_seconds(p) for p in db_pids) - server0
        client_s = children_cpu_seconds() + own_cpu_seconds() - client0
        # CPU per answer is steadier than req/s on a shared machine, and shows how much is waiting, not work.
        result["server_cpu_ms_per_request"] = server_s * 1000 / max(result["ok"], 1)
        result["client_cpu_ms_per_request"] = client_s * 1000 / max(result["ok"], 1)
        result["interference"] = interference.result
        result.update(extra)
        if side == "sqlite":
            result["dossiers_in_db"] = _sqlite_count(env["INTAKE_DATABASE_URL"], "dossiers")
        elif side == "postgres":
            result["dossiers_in_db"] = pg.count(url, "SELECT COUNT(*) FROM dossiers")
            result["includes_postgres_server_cpu"] = True
        if result["errors"] and side != "bare":
            log(f"T1 {side}: {result['errors']} refused or failed answers (bodies used up? raise BENCH_T1_MAX_FILINGS)")
        if not proc.alive():
            raise RuntimeError(f"{side} gunicorn died under load:\n{proc.tail()}")
        return result


def _sqlite_count(url: str, table: str) -> int:
    with sqlite3.connect(url.split("sqlite:///", 1)[1]) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
