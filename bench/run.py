"""`python -m bench.run [--only T1,T3] [--duration S] [--quick]`: run the tests, print the table, write JSON and PNG."""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from datetime import datetime, timezone

from . import report
from .common import log, machine_info

TESTS = ("T1", "T2", "T3", "T4")
# T4's open-loop rate is half of T1's maximum, but never more than the 2-core box sustains with the whole
# suite running (t4_latency calibrates that in the same run): above it the queues grow for as long as the
# run lasts and the figure measures the backlog, not the path.
T4_RATE_WITHOUT_T1 = 20.0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--only", default=",".join(TESTS), help="comma-separated subset of T1,T2,T3,T4")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds per load run (T1 each side, T4 open loop); default 10 for T1, 20 for T4")
    parser.add_argument("--quick", action="store_true", help="a short smoke run: small counts, one round")
    parser.add_argument("--t4-rate", type=float, default=None,
                        help="T4 rate per second, no calibration (default: T1 max / 2, capped by a calibration)")
    args = parser.parse_args(argv)
    args.only = [t.strip().upper() for t in args.only.split(",") if t.strip()]
    unknown = set(args.only) - set(TESTS)
    if unknown:
        parser.error(f"unknown tests: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    quick = args.quick
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    machine = machine_info()
    log(f"bench {stamp}: {', '.join(args.only)}{' (quick)' if quick else ''}; {machine['cores']} cores shared by "
        f"the load client, the servers and RabbitMQ")
    results: list[dict] = []
    t1_max = None
    for test in TESTS:
        if test not in args.only:
            continue
        started = time.monotonic()
        try:
            result = _run_one(test, args, quick, t1_max)
        except Exception as exc:  # one test failing must not lose the others' figures
            traceback.print_exc()
            result = {"id": test, "error": f"{type(exc).__name__}: {exc}"[:2000], "pass": False}
        result["wall_seconds"] = round(time.monotonic() - started, 1)
        if test == "T1" and not result.get("error"):
            t1_max = result["measured"]
        results.append(result)
    report.verdicts(results)
    text = report.table(results, machine)
    print(text)
    os.makedirs(report.RESULTS_DIR, exist_ok=True)
    json_path = os.path.join(report.RESULTS_DIR, f"{stamp}.json")
    png_path = os.path.join(report.RESULTS_DIR, f"{stamp}.png")
    document = {
        "timestamp": stamp,
        "quick": quick,
        "machine": machine,
        "loadavg_at_end": list(os.getloadavg()),
        "targets": {"T1": "ratio >= 0.30 (SQLite)", "T2": "ratio >= 0.30", "T3": "ratio >= 0.70",
                    "T4": "p50 <= 50 ms, p99 <= 250 ms"},
        "results": results,
        "table": text,
    }
    report.write_json(json_path, document)
    try:
        report.draw(png_path, results, machine, stamp)
    except Exception:
        traceback.print_exc()
        png_path = None
    print(f"\nwrote {os.path.relpath(json_path)}" + (f" and {os.path.relpath(png_path)}" if png_path else ""))
    return 0 if all(r.get("pass") for r in results) else 1


def _run_one(test: str, args: argparse.Namespace, quick: bool, t1_max: float | None) -> dict:
    if test == "T1":
        from . import t1_intake

        return t1_intake.run(duration=args.duration or (3.0 if quick else 10.0), rounds=1 if quick else 2)
    if test == "T2":
        from . import t2_relay

        return t2_relay.run(events=2000 if quick else 20000, rounds=1 if quick else 3)
    if test == "T3":
        from . import t3_consumer

        return t3_consumer.run(events=500 if quick else 4000, rounds=1 if quick else 3)
    duration_t4 = args.duration or (5.0 if quick else 20.0)
    from . import t4_latency

    if args.t4_rate:
        return t4_latency.run(wanted_rate=args.t4_rate, duration=duration_t4, rate_source="given by --t4-rate",
                              calibrate=False)
    if t1_max:
        wanted, source = t1_max / 2, f"half of T1's {t1_max:,.0f}/s"
    else:
        wanted, source = T4_RATE_WITHOUT_T1, "no T1 figure in this run: fixed default"
    return t4_latency.run(wanted_rate=wanted, duration=duration_t4, rate_source=source)


if __name__ == "__main__":
    sys.exit(main())
