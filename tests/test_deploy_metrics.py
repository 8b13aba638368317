"""Alerts and dashboard against the code: every metric they name is one the code registers (with the suffix its
type exposes), and every metric the code registers is shown by some dashboard panel.

The rule for "shown": every `motcua_*` family registered anywhere in the code (the kit's generic ones included, so
the backbone row stays complete) appears in at least one panel query. A family that should stay off the dashboard
would go in NOT_ON_DASHBOARD with its reason; there is none today.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
CODE = [ROOT / "libs/servicekit/servicekit", ROOT / "services", ROOT / "portal/portal", ROOT / "simulators"]
KINDS = {"Counter": "counter", "Gauge": "gauge", "Histogram": "histogram", "Summary": "summary"}
NOT_ON_DASHBOARD: dict[str, str] = {}
# rabbitmq_prometheus metrics the monitoring may name (RabbitMQ 3.10+, /metrics and /metrics/detailed).
RABBITMQ_METRICS = {"rabbitmq_detailed_queue_messages", "rabbitmq_detailed_queue_messages_ready",
                    "rabbitmq_detailed_queue_messages_unacked", "rabbitmq_detailed_queue_consumers",
                    "rabbitmq_queue_messages", "rabbitmq_queue_messages_ready", "rabbitmq_queue_consumers",
                    "rabbitmq_connections", "rabbitmq_channels", "rabbitmq_alarms_memory_used_watermark",
                    "rabbitmq_alarms_free_disk_space_watermark"}
PROMQL_WORDS = {"sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "deriv", "delta",
                "histogram_quantile", "time", "and", "or", "unless", "offset", "max_over_time", "min_over_time",
                "on", "ignoring", "group_left", "le", "abs", "clamp_min", "vector", "humanizeDuration"}


@lru_cache(maxsize=None)
def code_metrics() -> dict[str, str]:
    """{family: kind} of every prometheus_client metric constructed in the code with a literal name."""
    found = {}
    for base in CODE:
        for path in base.rglob("*.py"):
            if "tests" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if func in KINDS and node.args and isinstance(node.args[0], ast.Constant) \
                        and str(node.args[0].value).startswith("motcua_"):
                    name = node.args[0].value
                    kind = KINDS[func]
                    found[name.removesuffix("_total") if kind == "counter" else name] = kind
    return found


def exposed_names() -> dict[str, str]:
    """Every series name Prometheus sees for the code's metrics -> its family."""
    out = {}
    for family, kind in code_metrics().items():
        if kind == "counter":
            out[family + "_total"] = family
        elif kind in ("histogram", "summary"):
            for suffix in ("_bucket", "_sum", "_count") if kind == "histogram" else ("_sum", "_count"):
                out[family + suffix] = family
        else:
            out[family] = family
    return out


def metric_names(expr: str) -> set[str]:
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    return {w for w in re.findall(r"\b[a-z_][a-z0-9_]*\b", expr)
            if w.startswith(("motcua_", "rabbitmq_")) or w == "up"}


def alert_rules():
    return [r for g in yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text(encoding="utf-8"))["groups"]
            for r in g["rules"]]


def dashboard():
    return json.loads((DEPLOY / "grafana/dashboard.json").read_text(encoding="utf-8"))


def panel_queries():
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def test_the_code_scan_finds_the_metrics():
    metrics = code_metrics()
    assert metrics["motcua_http_requests"] == "counter"
    assert metrics["motcua_http_request_duration_seconds"] == "histogram"
    assert metrics["motcua_dossiers_overdue"] == "gauge"
    assert len(metrics) >= 35


def check_names(where: str, expr: str):
    exposed = exposed_names()
    for name in metric_names(expr):
        if name == "up" or name in RABBITMQ_METRICS:
            continue
        assert name in exposed, f"{where}: {name} is not a series the code exports (counters end in _total, " \
                                f"histograms in _bucket/_sum/_count)"


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_alerts_name_only_metrics_the_code_exports(rule):
    check_names(f"alert {rule['alert']}", rule["expr"])


def test_panels_name_only_metrics_the_code_exports():
    for title, expr in panel_queries():
        check_names(f"panel {title!r}", expr)


def test_the_name_check_can_fail():
    with pytest.raises(AssertionError):
        check_names("x", "sum(rate(motcua_dossiers_submited_total[5m]))")
    with pytest.raises(AssertionError):
        check_names("x", "max(motcua_dossiers_overdue_total)")


def test_every_metric_the_code_exports_is_on_the_dashboard():
    shown = {exposed_names()[n] for _, expr in panel_queries() for n in metric_names(expr) if n in exposed_names()}
    missing = set(code_metrics()) - shown - set(NOT_ON_DASHBOARD)
    assert not missing, f"no dashboard panel shows {sorted(missing)}"


def test_the_dashboard_has_a_row_per_concern():
    rows = [p["title"] for p in dashboard()["panels"] if p["type"] == "row"]
    for concern in ("Dossiers", "Money", "Post", "Notifications", "National sync", "Backbone", "HTTP"):
        assert any(concern in r for r in rows), concern
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids))


def test_the_dashboard_is_what_its_generator_writes():
    result = subprocess.run([sys.executable, str(DEPLOY / "tools/gen_dashboard.py"), "--check"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_every_alert_has_a_promtool_test_that_fires_it():
    tests = yaml.safe_load((DEPLOY / "prometheus/alerts.test.yml").read_text(encoding="utf-8"))["tests"]
    fired = {case["alertname"] for t in tests for case in t.get("alert_rule_test", []) if case.get("exp_alerts")}
    missing = {r["alert"] for r in alert_rules()} - fired
    assert not missing, f"alerts without a promtool test that fires them: {sorted(missing)}"


def test_every_alert_has_a_runbook_entry():
    runbook = (ROOT / "docs/operations.md").read_text(encoding="utf-8")
    missing = [r["alert"] for r in alert_rules() if f"### {r['alert']}" not in runbook]
    assert not missing, f"docs/operations.md has no section for {missing}"


def test_every_manage_command_the_docs_name_exists():
    from servicekit import cli

    source = Path(cli.__file__).read_text(encoding="utf-8")
    commands = set(re.findall(r'add_parser\("([a-z-]+)"', source))
    for doc in ("docs/operations.md", "docs/operations-queues.md", "deploy/prometheus/alerts.yml"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        for used in re.findall(r"manage ([a-z][a-z-]+)", text):
            assert used in commands, f"{doc} names `manage {used}`, which the kit lacks"


def test_every_repo_path_the_runbook_names_exists():
    text = (ROOT / "docs/operations.md").read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:deploy|docs|services|scripts|tests)/[\w./-]+)`", text))
    assert "deploy/kubernetes/deploy.sh" in paths or "deploy/kubernetes/deploy.sh <your-province>" in text
    for rel in paths:
        assert (ROOT / rel.split(" ")[0]).exists(), f"docs/operations.md names {rel}, which the repo lacks"
