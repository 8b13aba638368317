"""`python -m bench.profile [--rate 10] [--seconds 15] [--processes notify-worker,processing-worker]`:
py-spy profiles of suite processes under the open-loop load T8 uses, as collapsed stacks under
bench/results/profile-<stamp>/ and a printed summary (inclusive share of samples per function).

py-spy samples from outside (no change to the process); `--gil` keeps only the thread holding the GIL, so
the profile is where the Python CPU goes, not where threads wait.
"""
from __future__ import annotations

import argparse
import collections
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

from scripts.suite import SERVICES
from servicekit.testing import throwaway_vhost

from . import suite_runs
from .common import BASE_AMQP, VENV_BIN, log
from .report import RESULTS_DIR


def summarise(path: str, top: int = 30) -> list[tuple[float, float, str]]:
    """(inclusive %, self %, function) from py-spy's raw (collapsed) output."""
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    total = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")" if " (" in f else f
                      for f in stack.split(";")]
            for f in set(frames):
                inclusive[f] += n
            if frames:
                own[frames[-1]] += n
    rows = [(100 * c / max(total, 1), 100 * own[f] / max(total, 1), f) for f, c in inclusive.most_common(top)]
    rows += [(-1.0, 100 * c / max(total, 1), f) for f, c in own.most_common(top // 2)]
    return rows


def profile_t1(seconds: float, database: str) -> str:
    """intake's gunicorn under T1's closed-loop load (wrk or the Python client), profiled with its workers."""
    import contextlib

    from . import filings, pg, t1_intake
    from .common import PYTHON, Proc, free_ports, run_checked, wait_http
    from .loadgen import ensure_wrk, post_load

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = os.path.join(RESULTS_DIR, f"profile-{stamp}")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"intake-web-t1-{database}.txt")
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-profile-t1-"))
        url = stack.enter_context(pg.throwaway_database("bench_prof")) if database == "postgres" else None
        port, doorbell = free_ports(2)
        env = t1_intake.intake_env(tmp, port, doorbell, url)
        os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
        run_checked([PYTHON, "-m", "intake.manage", "migrate"], env=env, timeout=180)
        assignments, argv = t1_intake.gunicorn_argv(env, port=port)
        env.update({k: v for k, v in assignments.items() if k != "PROMETHEUS_MULTIPROC_DIR"})
        proc = Proc("intake-gunicorn", argv, env, os.path.join(tmp, "intake.log")).start()
        stack.callback(proc.stop)
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
        bodies = filings.bodies(f"http://127.0.0.1:{port}", int(400 * seconds), database_url=env["INTAKE_DATABASE_URL"],
                                uploads_dir=env["INTAKE_UPLOADS_DIR"])
        spy = subprocess.Popen([os.path.join(VENV_BIN, "py-spy"), "record", "--pid", str(proc.pid), "--subprocesses",
                                "--gil", "--format", "raw", "--rate", "200", "--duration", str(int(seconds)),
                                "--output", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        post_load(port, "/v1/dossiers", bodies, duration=seconds, connections=8, wrk=ensure_wrk(), once=True)
        spy.wait(seconds + 60)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--processes", default="notify-worker,processing-worker,intake-worker")
    parser.add_argument("--t1", choices=("sqlite", "postgres"), help="profile intake's gunicorn under T1's load instead")
    args = parser.parse_args(argv)
    if args.t1:
        path = profile_t1(args.seconds, args.t1)
        print(f"\n=== intake-web under T1 load ({os.path.relpath(path)}): inclusive% self% function")
        for inc, own, f in summarise(path, top=60):
            print(f"  {'self' if inc < 0 else format(inc, '5.1f'):>5} {own:5.1f}  {f}")
        return 0
    names = [n.strip() for n in args.processes.split(",") if n.strip()]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = os.path.join(RESULTS_DIR, f"profile-{stamp}")
    os.makedirs(out_dir, exist_ok=True)
    services = [s for s in SERVICES if importlib.util.find_spec(f"{s}.wsgi") is not None]
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp, throwaway_vhost(BASE_AMQP) as amqp_url:
        suite = suite_runs._start(tmp, amqp_url, services)
        try:
            ctx = suite_runs.Context(suite, amqp_url, services)
            ctx.window(rate=5.0, count=10, label="warm")
            pids = suite.pids()
            spies = []
            for name in names:
                path = os.path.join(out_dir, f"{name}.txt")
                spies.append((name, path, subprocess.Popen(
                    [os.path.join(VENV_BIN, "py-spy"), "record", "--pid", str(pids[name]), "--format", "raw",
                     "--rate", "200", "--gil", "--duration", str(int(args.seconds + 2)), "--subprocesses", "--output", path],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
            time.sleep(1.0)
            ctx.window(rate=args.rate, count=int(args.rate * args.seconds), label="profile")
            for name, path, spy in spies:
                try:
                    spy.wait(args.seconds + 60)
                except subprocess.TimeoutExpired:
                    spy.terminate()
        finally:
            suite.stop()
    for name, path, spy in spies:
        print(f"\n=== {name} ({os.path.relpath(path)}): inclusive% self% function")
        if not os.path.exists(path):
            print(f"  no profile: {spy.stderr.read().decode()[-500:] if spy.stderr else ''}")
            continue
        for inc, own, f in summarise(path, top=45):
            print(f"  {'self' if inc < 0 else format(inc, '5.1f'):>5} {own:5.1f}  {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
