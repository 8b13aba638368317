"""The bench's outputs: the printed table, bench/results/<timestamp>.json and the PNG chart."""
from __future__ import annotations

import json
import math
import os

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def verdicts(results: list[dict]) -> None:
    """Adds `pass` to each throughput result (T4 computes its own)."""
    for r in results:
        if "ratio" in r and "pass" not in r:
            r["pass"] = r["ratio"] >= r["target"]


def table(results: list[dict], machine: dict) -> str:
    lines = [
        f"Mot Cua bench — {machine.get('cores')} cores (load client, servers and RabbitMQ share them), "
        f"Python {machine.get('python')}, SQLite {machine.get('sqlite')}, RabbitMQ {machine.get('rabbitmq')}, "
        f"commit {str(machine.get('git_commit'))[:10]}{' (dirty)' if machine.get('git_dirty') else ''}",
        f"load average at start {machine.get('loadavg_at_start', ['?'])[0]:.2f} (other work on the machine skews "
        f"absolute figures; ratios compare sides measured minutes apart)",
        "",
        f"{'test':<5} {'measured':>14} {'baseline':>14} {'ratio':>7} {'target':>8}  {'verdict':<7} notes",
        "-" * 110,
    ]
    for r in results:
        if r.get("error"):
            lines.append(f"{r['id']:<5} {'error':>14} {'':>14} {'':>7} {'':>8}  {'ERROR':<7} {r['error'][:70]}")
            continue
        verdict = "PASS" if r.get("pass") else "FAIL"
        if r["id"] == "T4":
            lines.append(
                f"{'T4':<5} {'p50 ' + _fmt(r['p50_ms']) + ' ms':>14} {'p99 ' + _fmt(r['p99_ms']) + ' ms':>14} "
                f"{'–':>7} {'50/250ms':>8}  {verdict:<7} open loop {r['rate_per_s']:.1f}/s x {r['duration_s']:.0f} s; "
                f"{r['sms_matched']}/{r['filings_accepted']} SMS matched, {r['http_errors']} HTTP errors; "
                f"HTTP p50/p99 {_fmt(r['http_p50_ms'])}/{_fmt(r['http_p99_ms'])} ms"
            )
            lines.append(f"      rate: {r['rate_source']}; suite CPU during the run {r['cpu_cores_total']:.2f} cores")
            stages = r.get("stages_ms") or {}
            if stages and "error" not in stages:
                lines.append("      hops p50/p99 ms: " + ", ".join(
                    f"{name} {_fmt(v['p50'])}/{_fmt(v['p99'])}" for name, v in stages.items()))
            continue
        notes = {
            "T1": lambda: (f"{r['load']}, gunicorn {r['gunicorn']['workers']} sync workers, client shares the cores; "
                           f"server CPU/request {r['server_cpu_ms_per_request']['intake']:.2f} vs "
                           f"{r['server_cpu_ms_per_request']['bare']:.2f} ms (CPU ratio {r['cpu_ratio']:.2f})"),
            "T2": lambda: f"{r['events']} events, window {r['relay_window']}, batch {r['relay_batch']}, quorum queue",
            "T3": lambda: f"{r['events']} events, prefetch {r['prefetch']}, processing's handler",
        }.get(r["id"], lambda: "")()
        lines.append(
            f"{r['id']:<5} {_fmt(r['measured']) + ' ' + _unit(r):>14} {_fmt(r['baseline']) + ' ' + _unit(r):>14} "
            f"{r['ratio']:>7.2f} {'≥ ' + format(r['target'], '.2f'):>8}  {verdict:<7} {notes}"
        )
    return "\n".join(lines)


def _unit(r: dict) -> str:
    return "/s"


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def write_json(path: str, document: dict) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(document, fh, ensure_ascii=False, indent=2, default=str)
        fh.write("\n")


def draw(path: str, results: list[dict], machine: dict, stamp: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratios = [r for r in results if "ratio" in r and not r.get("error")]
    t4 = next((r for r in results if r["id"] == "T4" and not r.get("error")), None)
    panels = len(ratios) + (1 if t4 else 0)
    if panels == 0:
        return
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 4.6), squeeze=False)
    axes = axes[0]
    for ax, r in zip(axes, ratios):
        bars = ax.bar(["baseline", "measured"], [r["baseline"], r["measured"]],
                      color=["#9aa5b1", "#2f9e44" if r.get("pass") else "#e03131"])
        target_level = r["target"] * r["baseline"]
        ax.axhline(target_level, color="#1c7ed6", linestyle="--", linewidth=1.2,
                   label=f"target {r['target']:.2f}× baseline")
        for bar, value in zip(bars, [r["baseline"], r["measured"]]):
            ax.annotate(_fmt(value), (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom", fontsize=9)
        ax.set_title(f"{r['id']}: ratio {r['ratio']:.2f} (target ≥ {r['target']:.2f}) — "
                     f"{'PASS' if r.get('pass') else 'FAIL'}", fontsize=10)
        ax.set_ylabel(r.get("unit", "per s"))
        ax.legend(loc="upper right", fontsize=8)
        ax.set_ylim(0, max(r["baseline"], r["measured"]) * 1.18)
    if t4:
        ax = axes[-1]
        lat = t4.get("latencies_ms") or []
        if lat:
            top = min(max(lat), max(300.0, t4["p99_ms"] * 1.3))
            ax.hist([min(x, top) for x in lat], bins=60, color="#748ffc")
        for value, label, style in ((t4["p50_ms"], "p50", "-"), (t4["p99_ms"], "p99", "-")):
            ax.axvline(value, color="#e8590c", linestyle=style, linewidth=1.2)
            ax.annotate(f"{label} {_fmt(value)} ms", (value, ax.get_ylim()[1] * (0.9 if label == "p50" else 0.75)),
                        fontsize=8, color="#e8590c", xytext=(3, 0), textcoords="offset points")
        for value, label in ((50, "p50 target"), (250, "p99 target")):
            ax.axvline(value, color="#1c7ed6", linestyle="--", linewidth=1)
        ax.set_title(f"T4: filing → SMS at {t4['rate_per_s']:.0f}/s — {'PASS' if t4.get('pass') else 'FAIL'}", fontsize=10)
        ax.set_xlabel("ms (dashed: targets 50 / 250)")
        ax.set_ylabel("filings")
    fig.suptitle(f"Mot Cua bench {stamp} — {machine.get('cores')} cores shared by client, services and broker; "
                 f"commit {str(machine.get('git_commit'))[:10]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
