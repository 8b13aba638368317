"""`python -m bench.run [--only T1,T8] [--quick] [--soak full]`: run the tests, print the table, write JSON and PNG.

Order: T1 (SQLite and PostgreSQL), T2, T3, then one whole suite for T8, T4, T5 and T6, then T7 (the fault
test), then the peer (Celery pipeline) at T4's rate. `make bench` runs everything in under 15 minutes on
2 quiet cores; `make bench SOAK=full` makes T5 the 10-minute soak of DESIGN.md.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from datetime import datetime, timezone

from . import report
from .common import log, machine_busy, machine_info

TESTS = ("T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "PEER")
SUITE_TESTS = {"T4", "T5", "T6", "T8"}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--only", default=",".join(TESTS), help=f"comma-separated subset of {','.join(TESTS)}")
    parser.add_argument("--quick", action="store_true", help="a short smoke run: small counts, one round")
    parser.add_argument("--soak", choices=("short", "full"), default=os.environ.get("SOAK") or "short",
                        help="T5: short (90 s, the default) or full (10 minutes, DESIGN.md's T5); env SOAK")
    parser.add_argument("--duration", type=float, default=None, help="seconds per T1 load window (default 6)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per side for T1-T3 (default 3)")
    parser.add_argument("--no-peer-kill", action="store_true", help="skip the peer's broker-kill run")
    args = parser.parse_args(argv)
    args.only = [t.strip().upper() for t in args.only.split(",") if t.strip()]
    unknown = set(args.only) - set(TESTS)
    if unknown:
        parser.error(f"unknown tests: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    quick = args.quick
    rounds = args.rounds or (1 if quick else 3)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    machine = machine_info()
    machine["busy_at_start"] = machine_busy(2.0)
    log(f"bench {stamp}: {', '.join(args.only)}{' (quick)' if quick else ''}; {machine['cores']} cores shared by "
        f"the load client, the servers and RabbitMQ; busy {machine['busy_at_start']['busy_cores']:.2f} cores now")
    results: list[dict] = []
    by_id: dict[str, dict] = {}
    began = time.monotonic()

    def guarded(test: str, fn) -> None:
        started = time.monotonic()
        try:
            out = fn()
        except Exception as exc:  # one test failing must not lose the others' figures
            traceback.print_exc()
            out = [{"id": test, "error": f"{type(exc).__name__}: {exc}"[:2000], "pass": False}]
        for r in out if isinstance(out, list) else [out]:
            r.setdefault("wall_seconds", round(time.monotonic() - started, 1))
            results.append(r)
            by_id[r["id"]] = r

    if "T1" in args.only:
        from . import t1_intake

        guarded("T1", lambda: t1_intake.run(duration=args.duration or (3.0 if quick else 6.0), rounds=rounds)["results"])
    if "T2" in args.only:
        from . import t2_relay

        guarded("T2", lambda: t2_relay.run(events=2000 if quick else 20000, rounds=rounds))
    if "T3" in args.only:
        from . import t3_consumer

        guarded("T3", lambda: t3_consumer.run(events=500 if quick else 4000, rounds=rounds))
    wanted = SUITE_TESTS & set(args.only)
    if wanted or "PEER" in args.only:
        from . import suite_runs

        soak = 20.0 if quick else (600.0 if args.soak == "full" else 90.0)
        guarded("T8", lambda: suite_runs.run(t8_seconds=4.0 if quick else 10.0, soak_seconds=soak,
                                             t4_seconds=5.0 if quick else 20.0, only=wanted or {"T8", "T4"}))
    if "T7" in args.only:
        from . import t7_faults

        guarded("T7", t7_faults.run)
    if "PEER" in args.only:
        from . import peer

        t4 = by_id.get("T4") if not by_id.get("T4", {}).get("error") else None
        rate = (t4 or {}).get("rate_per_s") or 10.0
        guarded("PEER", lambda: peer.run(rate=rate, seconds=5.0 if quick else 20.0, suite_t8=by_id.get("T8"),
                                         suite_t4=t4, t7=by_id.get("T7"), kill=not args.no_peer_kill))
    order = {t: i for i, t in enumerate(("T1", "T1-pg", *[t for t in TESTS if t != "T1"]))}
    results.sort(key=lambda r: order.get(r["id"], 99))
    report.verdicts(results)
    text = report.table(results, machine)
    print(text)
    os.makedirs(report.RESULTS_DIR, exist_ok=True)
    json_path = os.path.join(report.RESULTS_DIR, f"{stamp}.json")
    png_path = os.path.join(report.RESULTS_DIR, f"{stamp}.png")
    document = {
        "timestamp": stamp,
        "quick": quick,
        "soak": args.soak,
        "machine": machine,
        "loadavg_at_end": list(os.getloadavg()),
        "wall_seconds": round(time.monotonic() - began, 1),
        "targets": report.TARGETS,
        "results": results,
        "table": text,
    }
    report.write_json(json_path, document)
    try:
        report.draw(png_path, results, machine, stamp)
    except Exception:
        traceback.print_exc()
        png_path = None
    print(f"\nwrote {os.path.relpath(json_path)}" + (f" and {os.path.relpath(png_path)}" if png_path else "")
          + f" in {document['wall_seconds'] / 60:.1f} min; README table: python -m bench.markdown {os.path.relpath(json_path)}")
    return 0 if all(r.get("pass") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
