"""Writes deploy/grafana/dashboard.json: one row per concern, every panel a query on a metric the code exports.

    .venv/bin/python deploy/tools/gen_dashboard.py [--check]

tests/test_deploy_metrics.py fails when a panel names a metric the code lacks, or the code exports a metric that
no panel shows.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "deploy" / "grafana" / "dashboard.json"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
RI = "$__rate_interval"

# (row title, [(panel title, unit, [(expr, legend)], kind)]); kind: timeseries | stat | table
ROWS = [
    ("Hồ sơ / Dossiers", [
        ("Filings per minute by channel", "short",
         [(f"60 * sum by (channel) (rate(motcua_dossiers_submitted_total[{RI}]))", "{{channel}}")], "timeseries"),
        ("Filings today by procedure", "short",
         [("sum by (procedure) (increase(motcua_dossiers_submitted_total[1d]))", "{{procedure}}")], "table"),
        # No gauge of dossiers by status yet: processing's status changes are its published events.
        ("Status changes per minute (events processing publishes)", "short",
         [(f'60 * sum by (type) (rate(motcua_events_published_total{{service="processing"}}[{RI}]))', "{{type}}")],
         "timeseries"),
        ("Overdue dossiers by agency", "short", [("sum by (agency) (motcua_dossiers_overdue)", "{{agency}}")],
         "timeseries"),
        ("Decision 766 indicators (this month)", "percentunit",
         [("max by (agency, indicator) (motcua_766_indicator_rate)", "{{agency}} {{indicator}}")], "table"),
        ("Decision 766 targets met", "short",
         [("min by (agency, target) (motcua_766_target_met)", "{{agency}} {{target}}")], "table"),
    ]),
    ("Tiền / Money", [
        ("Payment orders by status (per hour)", "short",
         [(f"3600 * sum by (status) (rate(motcua_payments_total[{RI}]))", "{{status}}")], "timeseries"),
        ("VND moved by status (per day)", "currencyVND",
         [("sum by (status) (increase(motcua_payments_amount_vnd_total[1d]))", "{{status}}")], "timeseries"),
        ("Oldest pending payment", "s", [("max(motcua_payments_oldest_pending_seconds)", "oldest")], "stat"),
        ("Bank callbacks by outcome", "short",
         [(f"sum by (outcome) (rate(motcua_payment_callbacks_total[{RI}]))", "{{outcome}}")], "timeseries"),
        ("Bank status queries by answer", "short",
         [(f"sum by (job, answer) (rate(motcua_payment_bank_queries_total[{RI}]))", "{{job}} {{answer}}")],
         "timeseries"),
        ("Reconciliation flags and refunds (per day)", "short",
         [("sum by (kind) (increase(motcua_payment_reconciliation_flags_total[1d]))", "flag {{kind}}"),
          ("sum by (outcome) (increase(motcua_payment_refund_attempts_total[1d]))", "refund {{outcome}}")],
         "timeseries"),
    ]),
    ("Bưu chính / Post", [
        ("Shipments by status (per hour)", "short",
         [(f"3600 * sum by (status) (rate(motcua_shipments_total[{RI}]))", "{{status}}")], "timeseries"),
        ("Shipments stuck without news", "short", [("sum by (status) (motcua_shipments_stuck)", "{{status}}")],
         "timeseries"),
        ("Postal subsidy owed (VND per day)", "currencyVND",
         [("sum(increase(motcua_postal_subsidy_vnd_total[1d]))", "subsidy")], "stat"),
    ]),
    ("Thông báo / Notifications", [
        ("Notifications by channel and status", "short",
         [(f"sum by (channel, status) (rate(motcua_notifications_total[{RI}]))", "{{channel}} {{status}}")],
         "timeseries"),
        ("Waiting for the provider", "short", [("max(motcua_notifications_pending)", "pending")], "timeseries"),
        ("Oldest not yet accepted", "s", [("max(motcua_notifications_oldest_pending_age_seconds)", "oldest")], "stat"),
        ("Gateway call p95 by channel", "s",
         [(f"histogram_quantile(0.95, sum by (channel, le) (rate(motcua_notification_send_seconds_bucket[{RI}])))",
           "{{channel}}")], "timeseries"),
    ]),
    ("Liên thông quốc gia / National sync", [
        ("Steps queued, sent, failed", "short",
         [(f"sum(rate(motcua_dvcqg_sync_queued_total[{RI}]))", "queued"),
          (f"sum(rate(motcua_dvcqg_sync_sent_total[{RI}]))", "sent"),
          (f"sum by (outcome) (rate(motcua_dvcqg_sync_failed_total[{RI}]))", "failed {{outcome}}")], "timeseries"),
        ("Steps parked (refused)", "short", [("max(motcua_dvcqg_sync_parked)", "parked")], "stat"),
        ("Oldest step not accepted", "s", [("max(motcua_dvcqg_sync_oldest_pending_seconds)", "oldest")], "stat"),
        ("Catalogue runs by outcome", "short",
         [("sum by (outcome) (increase(motcua_dvcqg_catalogue_runs_total[1d]))", "{{outcome}}")], "timeseries"),
        ("Procedures changed by the catalogue sync", "short",
         [("sum by (change) (increase(motcua_dvcqg_catalogue_procedures_changed_total[1d]))", "{{change}}")],
         "timeseries"),
        ("Since the last good catalogue run", "s",
         [("time() - max(motcua_dvcqg_catalogue_last_success_timestamp_seconds)", "age")], "stat"),
    ]),
    ("Xương sống / Backbone", [
        ("Outbox lag (oldest unsent event)", "s", [("max by (service) (motcua_outbox_oldest_age_seconds)", "{{service}}")],
         "timeseries"),
        ("Outbox pending rows", "short", [("max by (service) (motcua_outbox_pending)", "{{service}}")], "timeseries"),
        ("Unroutable events", "short",
         [("max by (service) (motcua_outbox_unroutable_pending)", "kept {{service}}"),
          (f"sum by (service) (rate(motcua_outbox_unroutable_total[{RI}]))", "returned/s {{service}}")], "timeseries"),
        ("Events published again after the broker lost its data", "short",
         [("sum by (service) (increase(motcua_outbox_republished_total[30m]))", "{{service}}")], "timeseries"),
        ("Events published/s", "short",
         [(f"sum by (service) (rate(motcua_events_published_total[{RI}]))", "{{service}}")], "timeseries"),
        ("Events consumed/s by outcome", "short",
         [(f"sum by (service, outcome) (rate(motcua_events_consumed_total[{RI}]))", "{{service}} {{outcome}}")],
         "timeseries"),
        ("Event handling p99", "s",
         [(f"histogram_quantile(0.99, sum by (service, le) (rate(motcua_event_handle_seconds_bucket[{RI}])))",
           "{{service}}")], "timeseries"),
        ("Dead letters", "short", [("max by (service) (motcua_dead_letters)", "{{service}}")], "timeseries"),
        ("Queue depth", "short", [('sum by (queue) (rabbitmq_detailed_queue_messages{queue=~".*events.*"})', "{{queue}}")],
         "timeseries"),
        ("Consumers per queue", "short",
         [('sum by (queue) (rabbitmq_detailed_queue_consumers{queue=~"[a-z]+\\\\.events"})', "{{queue}}")],
         "timeseries"),
        ("Broker connections (consumer, relay)", "short",
         [("sum by (service, role) (motcua_amqp_connected)", "{{service}} {{role}}")], "timeseries"),
        ("Worker threads up", "short", [("min by (service, thread) (motcua_worker_thread_up)", "{{service}} {{thread}}")],
         "timeseries"),
        ("Worker thread restarts (per hour)", "short",
         [("sum by (service, thread) (increase(motcua_worker_thread_restarts_total[1h]))", "{{service}} {{thread}}")],
         "timeseries"),
        ("Seconds since the last relay sweep", "s",
         [("time() - max by (service) (motcua_worker_heartbeat_timestamp_seconds)", "{{service}}")], "timeseries"),
        ("Consumers waiting for the database", "short",
         [("max by (service) (motcua_consumer_waiting_for_database)", "{{service}}")], "timeseries"),
        ("Delivery limit: live vs wanted", "short",
         [("max by (service, kind) (motcua_queue_delivery_limit)", "{{service}} {{kind}}")], "table"),
        ("Dependencies up (readiness)", "short",
         [("min by (service, dependency) (motcua_dependency_up)", "{{service}} {{dependency}}")], "table"),
    ]),
    ("HTTP", [
        ("Requests/s by service", "reqps",
         [(f"sum by (service) (rate(motcua_http_requests_total[{RI}]))", "{{service}}")], "timeseries"),
        ("5xx ratio by service", "percentunit",
         [(f'sum by (service) (rate(motcua_http_requests_total{{status=~"5.."}}[{RI}])) / '
           f"sum by (service) (rate(motcua_http_requests_total[{RI}]))", "{{service}}")], "timeseries"),
        ("4xx/s by service", "reqps",
         [(f'sum by (service) (rate(motcua_http_requests_total{{status=~"4.."}}[{RI}]))', "{{service}}")],
         "timeseries"),
        ("p99 latency by service", "s",
         [(f"histogram_quantile(0.99, sum by (service, le) (rate(motcua_http_request_duration_seconds_bucket[{RI}])))",
           "{{service}}")], "timeseries"),
    ]),
]


def render() -> dict:
    panels, pid, y = [], 1, 0
    for title, row in ROWS:
        panels.append({"id": pid, "type": "row", "title": title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y = pid + 1, y + 1
        for i, (ptitle, unit, queries, kind) in enumerate(row):
            w = 8
            panels.append({
                "id": pid, "type": kind, "title": ptitle, "datasource": DATASOURCE,
                "gridPos": {"h": 8, "w": w, "x": (i % 3) * w, "y": y + (i // 3) * 8},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {},
                "targets": [{"refId": chr(ord("A") + j), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend,
                             **({"instant": True, "format": "table"} if kind == "table" else {})}
                            for j, (expr, legend) in enumerate(queries)],
            })
            pid += 1
        y += ((len(row) + 2) // 3) * 8
    return {
        "uid": "motcua-overview", "title": "Một cửa / One-stop shop", "tags": ["motcua"], "timezone": "Asia/Ho_Chi_Minh",
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []}, "annotations": {"list": []},
        "panels": panels,
    }


def main(argv):
    text = json.dumps(render(), indent=2, ensure_ascii=False) + "\n"
    if "--check" in argv:
        if OUT.read_text(encoding="utf-8") != text:
            print("out of date: deploy/grafana/dashboard.json (run deploy/tools/gen_dashboard.py)", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
