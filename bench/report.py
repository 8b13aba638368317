"""The bench's outputs: the printed table, bench/results/<timestamp>.json, the PNG chart, and rows for the README."""
from __future__ import annotations

import json
import math
import os

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TARGETS = {
    "T1": "ratio >= 0.30 (SQLite)", "T1-pg": "ratio >= 0.25 (PostgreSQL)", "T2": "ratio >= 0.30",
    "T3": "ratio >= 0.70", "T4": "p50 <= 50 ms, p99 <= 250 ms at half of T8's rate",
    "T5": "depths bounded, RSS slope <= 2 MiB/min per process, drain <= 10 s",
    "T6": "RSS <= 1.3x a bare Python with the same imports; services <= 1 GiB (PSS)",
    "T7": "reconnect <= 5 s, nothing lost, no duplicate effect", "T8": "<= 20 ms CPU per filing (suite + broker)",
    "PEER": "reported beside the suite (no target)",
}


def verdicts(results: list[dict]) -> None:
    """Adds `pass` to each ratio result (the others compute their own)."""
    for r in results:
        if "ratio" in r and "pass" not in r and r.get("ratio") is not None:
            r["pass"] = r["ratio"] >= r["target"]


def _fmt(x, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}" if abs(x) >= 10 else f"{x:,.2f}"
    return text + unit


def _range(r: dict, key: str) -> str:
    rng = r.get(key)
    return f"{_fmt(rng[0])}–{_fmt(rng[1])}" if rng else ""


def rows(results: list[dict]) -> list[tuple[str, str, str, str, str]]:
    """(test, measured, baseline or context, target, verdict + notes): one row per result, for both tables."""
    out = []
    for r in results:
        rid = r["id"]
        if r.get("error"):
            out.append((rid, "error", "", TARGETS.get(rid, ""), f"ERROR {r['error'][:90]}"))
            continue
        verdict = "PASS" if r.get("pass") else "FAIL"
        if "ratio" in r:
            noisy = f"; {r['noisy_rounds']} noisy round(s)" if r.get("noisy_rounds") else ""
            extra = ""
            if rid.startswith("T1"):
                extra = (f"; server CPU/req {_fmt(r['server_cpu_ms_per_request']['intake'])} vs "
                         f"{_fmt(r['server_cpu_ms_per_request']['bare'])} ms, client {_fmt(r['client_cpu_ms_per_request'])} ms; "
                         f"upload {_fmt(r.get('upload_server_cpu_ms_each'))} ms CPU each, "
                         f"{_fmt(r.get('uploads_per_filing'))}/filing, outside the window")
            out.append((rid, f"{_fmt(r['measured'])}/s ({_range(r, 'measured_range')})",
                        f"{_fmt(r['baseline'])}/s ({_range(r, 'baseline_range')})",
                        f"≥ {r['target']:.2f}",
                        f"{verdict} ratio {r['ratio']:.2f} ({_range(r, 'ratio_range')}), median of {r['rounds']} rounds{noisy}{extra}"))
        elif rid == "T8":
            top = ", ".join(f"{k} {_fmt(v)}" for k, v in list(r["cpu_ms_per_filing_by_process"].items())[:6])
            best = r.get("highest_rate_p99_ok")
            out.append((rid, f"{_fmt(r['measured'])} ms/filing", (f"max rate p99<250: {_fmt(best)}/s" if best else
                         "p99<250 at none of " + ", ".join(_fmt(x["rate_per_s"]) + "/s" for x in r["rate_search"])),
                        "≤ 20 ms", f"{verdict} services {_fmt(r['cpu_ms_per_filing_services'])} + broker "
                        f"{_fmt(r['cpu_ms_per_filing_broker'])} ms; simulators {_fmt(r['cpu_ms_per_filing_simulators'])} ms apart; "
                        f"top: {top}"))
        elif rid == "T4":
            out.append((rid, f"p50 {_fmt(r['p50_ms'])} / p99 {_fmt(r['p99_ms'])} ms", f"at {_fmt(r['rate_per_s'])}/s",
                        "50 / 250 ms", f"{verdict} {r['sms_matched']}/{r['filings_accepted']} SMS, {r['http_errors']} HTTP errors, "
                        f"suite {_fmt(r['cpu_ms_per_filing_suite'])} ms CPU/filing"))
        elif rid == "T5":
            out.append((rid, f"slope ≤ {_fmt(r['worst_slope_mib_per_min'])} MiB/min", f"{_fmt(r['rate_per_s'])}/s × {r['duration_s']:.0f} s",
                        "2 MiB/min, 10 s", f"{verdict} max outbox {r['max_outbox_pending']}, max queue {r['max_queue_depth']}, "
                        f"drain {_fmt(r['drain_s'])} s, p99 {_fmt(r['p99_ms'])} ms, {r['missing']} missing"))
        elif rid == "T6":
            out.append((rid, f"worst {r['worst_ratio']:.2f}× ({r.get('worst_process')})",
                        f"services {_fmt(r['services_total_mib'])} MiB PSS", "1.3×, 1 GiB",
                        f"{verdict} bare Python with the same imports " + ", ".join(f"{k} {v['rss_mib']}" for k, v in r["bare"].items())
                        + f" MiB; "
                        f"RSS sum {_fmt(r['services_rss_sum_mib'])} MiB"))
        elif rid == "T7":
            f = r.get("figures") or {}
            out.append((rid, f"reconnect ≤ {_fmt(r.get('worst_reconnect_s'))} s", f"{f.get('filings_accepted', '?')} filings",
                        "5 s, 0 lost, 0 dup", f"{verdict} {f.get('filed_while_broker_down', '?')} filed while down, "
                        f"SMS lost {r.get('sms_lost')}, duplicates absorbed {f.get('duplicates_absorbed', '?')}, "
                        f"drain {f.get('drain_seconds', '?')} s"))
        elif rid == "PEER":
            p, s, k, sk = r["peer"], r["suite"], r.get("peer_broker_kill") or {}, r.get("suite_broker_kill") or {}
            kill = ("not run" if not k else f"ERROR {k['error'][:60]}" if k.get("error") else
                    f"{k['sms_lost']} lost / {k['sms_duplicated']} dup of {k['filings_committed']} committed")
            out.append((rid, f"{_fmt(p['cpu_ms_per_filing_pipeline'])} ms/filing; p50 {_fmt(p['p50_ms'])} / p99 {_fmt(p['p99_ms'])} ms",
                        f"suite {_fmt(s.get('cpu_ms_per_filing'))} ms; p50 {_fmt(s.get('p50_ms'))} / p99 {_fmt(s.get('p99_ms'))} ms",
                        "–", f"at {_fmt(p['rate_per_s'])}/s; broker -9: peer {kill}; suite "
                        f"{sk.get('sms_lost', 'n/a')} lost / {sk.get('sms_duplicated', 'n/a')} dup (T7)"))
    return out


def table(results: list[dict], machine: dict) -> str:
    busy = machine.get("busy_at_start") or {}
    lines = [
        f"Mot Cua bench — {machine.get('cores')} cores (load client, servers and RabbitMQ share them), "
        f"Python {machine.get('python')}, SQLite {machine.get('sqlite')}, RabbitMQ {machine.get('rabbitmq')}, "
        f"commit {str(machine.get('git_commit'))[:10]}{' (dirty)' if machine.get('git_dirty') else ''}",
        f"load average at start {machine.get('loadavg_at_start', ['?'])[0]:.2f}, cores busy at start "
        f"{busy.get('busy_cores', '?')}; rounds during which other processes used > 0.35 cores are retaken (flagged if still noisy)",
        "",
        f"{'test':<6} {'measured':<44} {'baseline / context':<40} {'target':<18} verdict and notes",
        "-" * 160,
    ]
    for rid, measured, base, target, notes in rows(results):
        lines.append(f"{rid:<6} {measured:<44} {base:<40} {target:<18} {notes}")
    t8 = next((r for r in results if r["id"] == "T8" and not r.get("error")), None)
    if t8:
        lines.append("")
        lines.append("T8 CPU ms per filing by process: " + ", ".join(
            f"{k} {_fmt(v)}" for k, v in t8["cpu_ms_per_filing_by_process"].items()))
        lines.append("T8 rate search: " + "; ".join(
            f"{_fmt(s['rate_per_s'])}/s p99 {_fmt(s['p99_ms'])} ms {'ok' if s['p99_ok'] else 'over'}" for s in t8["rate_search"]))
    return "\n".join(lines)


def markdown(results: list[dict]) -> str:
    out = ["| test | measured | baseline / context | target | verdict and notes |", "|---|---|---|---|---|"]
    for row in rows(results):
        out.append("| " + " | ".join(x.replace("|", "/") for x in row) + " |")
    return "\n".join(out)


def write_json(path: str, document: dict) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(document, fh, ensure_ascii=False, indent=2, default=str)
        fh.write("\n")


# ---- the chart ----------------------------------------------------------------------------------------

def draw(path: str, results: list[dict], machine: dict, stamp: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = {r["id"]: r for r in results if not r.get("error")}
    fig, axes = plt.subplots(2, 3, figsize=(18, 10))
    _ratios(axes[0][0], [by[k] for k in ("T1", "T1-pg", "T2", "T3") if k in by])
    _cpu(axes[0][1], by.get("T8"), by.get("PEER"))
    _latency(axes[0][2], by.get("T4"), by.get("PEER"))
    _soak(axes[1][0], by.get("T5"))
    _memory(axes[1][1], by.get("T6"))
    _faults(axes[1][2], by.get("T7"), by.get("PEER"))
    fig.suptitle(f"Mot Cua bench {stamp} — {machine.get('cores')} cores shared by client, services and broker; "
                 f"commit {str(machine.get('git_commit'))[:10]}; green = target met, red = missed", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _empty(ax, title: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.text(0.5, 0.5, "not measured in this run", ha="center", va="center", transform=ax.transAxes, color="#868e96")
    ax.set_xticks([])
    ax.set_yticks([])


def _color(ok) -> str:
    return "#2f9e44" if ok else "#e03131"


def _ratios(ax, rs: list[dict]) -> None:
    if not rs:
        return _empty(ax, "T1–T3: throughput vs baseline")
    values = [r["ratio"] for r in rs]
    ranges = [r.get("ratio_range") or [r["ratio"], r["ratio"]] for r in rs]
    ax.bar(range(len(rs)), values, color=[_color(r.get("pass")) for r in rs],
           yerr=[[v - lo for v, (lo, _) in zip(values, ranges)], [hi - v for v, (_, hi) in zip(values, ranges)]],
           capsize=5, ecolor="#495057")
    for i, r in enumerate(rs):
        ax.hlines(r["target"], i - 0.4, i + 0.4, colors="#1c7ed6", linestyles="--", linewidth=2)
    ax.set_xticks(range(len(rs)))
    ax.set_xticklabels([f"{r['id']}\n{r['ratio']:.2f} (≥ {r['target']:.2f})" for r in rs], fontsize=9)
    ax.set_ylim(0, max(max(hi for _, hi in ranges), max(r["target"] for r in rs)) * 1.15)
    ax.set_ylabel("ratio to baseline (median of rounds; whisker = range)")
    ax.set_title("T1–T3: throughput as a share of the bare baseline (dashed: target)", fontsize=10)


def _cpu(ax, t8: dict | None, peer: dict | None) -> None:
    if not t8:
        return _empty(ax, "T8: CPU ms per filing")
    groups = {"suite (T8)": t8["cpu_ms_per_filing_by_process"]}
    if peer:
        groups["peer (Celery)"] = peer["peer"]["cpu_ms_per_filing_by_process"]
    palette = ["#364fc7", "#5c7cfa", "#91a7ff", "#0ca678", "#63e6be", "#f08c00", "#ffd43b", "#e8590c", "#ae3ec9",
               "#868e96", "#adb5bd", "#ced4da", "#495057", "#c2255c", "#66a80f"]
    names = []
    for g in groups.values():
        for k, v in g.items():
            if v >= 0.5 and k not in names:
                names.append(k)
    x = list(groups)
    bottoms = [0.0] * len(x)
    for i, name in enumerate(names):
        vals = [groups[g].get(name, 0.0) for g in x]
        ax.bar(x, vals, bottom=bottoms, color=palette[i % len(palette)], label=name, width=0.5)
        bottoms = [b + v for b, v in zip(bottoms, vals)]
    ax.axhline(20, color="#1c7ed6", linestyle="--", linewidth=1.5, label="T8 target 20 ms (suite + broker)")
    for i, total in enumerate(bottoms):
        ax.annotate(f"{total:.1f} ms", (i, total), ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("CPU ms per filing (simulators included, stacked)")
    ax.set_title(f"T8: CPU per filing by process — suite + broker {t8['measured']:.1f} ms "
                 f"({'PASS' if t8.get('pass') else 'FAIL'})", fontsize=10, color=_color(t8.get("pass")))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.set_ylim(0, max(bottoms + [20]) * 1.15)


def _latency(ax, t4: dict | None, peer: dict | None) -> None:
    if not t4:
        return _empty(ax, "T4: filing → SMS")
    top = 300.0
    data = [("suite", t4.get("latencies_ms") or [], "#4263eb")]
    if peer:
        data.append(("peer (Celery)", peer["peer"].get("latencies_ms") or [], "#f08c00"))
    for name, lat, color in data:
        if lat:
            ax.hist([min(v, top) for v in lat], bins=60, range=(0, top), alpha=0.6, color=color,
                    label=f"{name}: p50 {_fmt(sorted(lat)[len(lat) // 2])} ms")
    ax.axvline(t4["p50_ms"], color="#4263eb", linewidth=1.2)
    ax.axvline(t4["p99_ms"], color="#4263eb", linewidth=1.2, linestyle=":")
    for value in (50, 250):
        ax.axvline(value, color="#1c7ed6", linestyle="--", linewidth=1)
    ax.set_xlabel("ms, filing → SMS stored (dashed: targets 50 / 250; > 300 in the last bin)")
    ax.set_ylabel("filings")
    ax.legend(fontsize=8)
    ax.set_title(f"T4 at {t4['rate_per_s']:.1f}/s: p50 {_fmt(t4['p50_ms'])} / p99 {_fmt(t4['p99_ms'])} ms "
                 f"({'PASS' if t4.get('pass') else 'FAIL'})", fontsize=10, color=_color(t4.get("pass")))


def _soak(ax, t5: dict | None) -> None:
    if not t5 or not t5.get("samples"):
        return _empty(ax, "T5: soak")
    samples = t5["samples"]
    ts = [s["t"] for s in samples]
    names = [n for n in samples[-1]["rss"] if n != "rabbitmq"]
    for name in names:
        ax.plot(ts, [s["rss"].get(name, 0) / 2**20 for s in samples], linewidth=1, label=name)
    ax.set_xlabel("s into the soak")
    ax.set_ylabel("RSS MiB (process and its children)")
    ax2 = ax.twinx()
    ax2.plot(ts, [sum(s["queues"].values()) + sum(s["outbox"].values()) for s in samples], color="black",
             linestyle="--", label="queued + outbox pending")
    ax2.set_ylabel("messages waiting (dashed)")
    ax.set_ylim(0, max(s["rss"].get(n, 0) for s in samples for n in names) / 2**20 * 1.6)
    ax.legend(fontsize=6, loc="upper left", ncol=3)
    ax.set_title(f"T5 soak {t5['rate_per_s']:.1f}/s × {t5['duration_s']:.0f} s: worst slope "
                 f"{_fmt(t5['worst_slope_mib_per_min'])} MiB/min, drain {_fmt(t5['drain_s'])} s "
                 f"({'PASS' if t5.get('pass') else 'FAIL'})", fontsize=10, color=_color(t5.get("pass")))


def _memory(ax, t6: dict | None) -> None:
    if not t6:
        return _empty(ax, "T6: memory")
    items = sorted(t6["ratio_to_bare"].items(), key=lambda kv: kv[1])
    ax.barh([k for k, _ in items], [v for _, v in items],
            color=[_color(v <= t6["ratio_target"]) for _, v in items])
    ax.axvline(t6["ratio_target"], color="#1c7ed6", linestyle="--", linewidth=1.5)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("RSS / bare Python importing the same libraries (dashed: 1.3×)")
    ax.set_title(f"T6: worst {t6['worst_ratio']:.2f}×; services {t6['services_total_mib']:.0f} MiB PSS of 1024 "
                 f"({'PASS' if t6.get('pass') else 'FAIL'})", fontsize=10, color=_color(t6.get("pass")))


def _faults(ax, t7: dict | None, peer: dict | None) -> None:
    ax.axis("off")
    lines = ["Broker killed with -9 under load, restarted", ""]
    if t7:
        f = t7.get("figures") or {}
        lines += [f"Suite (T7, tests/test_faults.py): {'PASS' if t7.get('pass') else 'FAIL'}",
                  f"  {f.get('filings_accepted', '?')} filings, {f.get('filed_while_broker_down', '?')} while down",
                  f"  SMS lost {t7.get('sms_lost', '?')}, duplicated 0 (asserted)",
                  f"  {f.get('duplicates_absorbed', '?')} redeliveries absorbed by the inboxes",
                  f"  worst reconnect {_fmt(t7.get('worst_reconnect_s'))} s (target 5 s), drain {f.get('drain_seconds', '?')} s", ""]
    k = (peer or {}).get("peer_broker_kill")
    if k and not k.get("error"):
        lines += ["Peer (Celery, acks_late, task sent after commit):",
                  f"  {k['filings_committed']} dossiers committed, {k['http_errors']} HTTP errors",
                  f"  SMS lost {k['sms_lost']}, duplicated {k['sms_duplicated']}"]
    elif k:
        lines += [f"Peer: {k['error'][:80]}"]
    if peer:
        p, s = peer["peer"], peer["suite"]
        lines += ["", f"At {_fmt(p['rate_per_s'])}/s, CPU per filing: suite {_fmt(s.get('cpu_ms_per_filing'))} ms,",
                  f"  peer {_fmt(p['cpu_ms_per_filing_pipeline'])} ms",
                  "  (the peer opens a case and sends an SMS; the suite also",
                  "   runs payment, postal, the national sync and receipts)"]
    ax.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=8.5, transform=ax.transAxes)
    ax.set_title("T7 and the peer: what a broker crash costs", fontsize=10)
