"""The bench's own parts that need no running suite: statistics, the report's rows, filing bodies, the peer's API."""
import sys

import pytest

from bench import common, filings, report


def test_median_and_range_never_report_the_best_round():
    s = common.spread([900.0, 300.0, 500.0])
    assert s == {"median": 500.0, "min": 300.0, "max": 900.0, "n": 3}
    assert common.median([1.0, 2.0, 3.0, 10.0]) == 2.5


def test_interference_counts_only_what_our_processes_did_not_use():
    with common.Interference(lambda: 0.0) as window:
        sum(i * i for i in range(300_000))  # our own work, but `ours` says 0: it shows as another process's
    assert window.result["other_cores"] > 0
    with common.Interference(common.own_cpu_seconds) as window:
        sum(i * i for i in range(300_000))
    assert window.result["our_cores"] > 0


def test_quiet_round_retakes_a_noisy_round_a_bounded_number_of_times(monkeypatch):
    monkeypatch.setattr(common, "machine_busy", lambda seconds=1.0: {"busy_cores": 0.0, "loadavg_1m": 0.0})
    calls = []

    def noisy():
        calls.append(1)
        return {"interference": {"other_cores": 1.5}}

    result = common.quiet_round(noisy, "test", retries=2, limit=0.35)
    assert len(calls) == 3 and result["noisy"] is True and len(result["attempts"]) == 3
    calls.clear()
    assert common.quiet_round(lambda: calls.append(1) or {"interference": {"other_cores": 0.1}}, "test")["noisy"] is False
    assert len(calls) == 1


def test_each_filing_body_carries_the_uploads_it_was_given():
    proc = {"code": "1.001193.H56", "delivery_methods": ["counter", "post"],
            "documents": [{"code": "A", "required": True}, {"code": "B", "required": False}]}
    body = filings.filing(proc, {"A": "f" * 32}, 3)
    assert body["documents"] == [{"code": "A", "upload_id": "f" * 32}]
    assert body["delivery"]["method"] == "post" and body["applicant"]["full_name"] in filings.NAMES


RESULTS = [
    {"id": "T1", "ratio": 0.2, "ratio_range": [0.18, 0.22], "measured": 800.0, "measured_range": [700.0, 900.0],
     "baseline": 4000.0, "baseline_range": [3900.0, 4100.0], "target": 0.30, "rounds": 3, "noisy_rounds": 1,
     "server_cpu_ms_per_request": {"intake": 2.1, "bare": 0.4}, "client_cpu_ms_per_request": 0.1,
     "upload_server_cpu_ms_each": 2.5, "uploads_per_filing": 2.2},
    {"id": "T8", "measured": 45.0, "pass": False, "cpu_ms_per_filing_by_process": {"notify-worker": 12.0},
     "cpu_ms_per_filing_services": 40.0, "cpu_ms_per_filing_broker": 5.0, "cpu_ms_per_filing_simulators": 7.0,
     "highest_rate_p99_ok": None, "rate_search": [{"rate_per_s": 14.0, "p99_ms": 400.0, "p99_ok": False}]},
    {"id": "T7", "error": "fault test exited 1 without figures", "pass": False},
]


def test_the_readme_table_comes_from_the_results_with_median_range_and_verdict():
    report.verdicts(RESULTS)
    text = report.markdown(RESULTS)
    lines = text.splitlines()
    assert lines[0].startswith("| test |") and len(lines) == 2 + len(RESULTS)
    assert "FAIL ratio 0.20 (0.18–0.22), median of 3 rounds; 1 noisy round(s)" in lines[2]
    assert "p99<250 at none of 14.0/s" in lines[3]
    assert "ERROR fault test exited 1" in lines[4]


def test_the_chart_is_drawn_even_with_tests_missing_or_failed(tmp_path):
    path = tmp_path / "chart.png"
    report.draw(str(path), RESULTS, {"cores": 2, "git_commit": "abc"}, "20261129T000000Z")
    assert path.stat().st_size > 10_000


@pytest.fixture
def peer_app(monkeypatch, tmp_path):
    monkeypatch.setenv("PEER_DATABASE_URL", f"sqlite:///{tmp_path}/peer.db")
    for name in [m for m in sys.modules if m.startswith("bench.peers.celery_pipeline")]:
        monkeypatch.delitem(sys.modules, name)
    from bench.peers.celery_pipeline import app as peer

    sent = []
    monkeypatch.setattr(peer.open_case, "delay", lambda dossier_id: sent.append(dossier_id))
    peer.init()
    return peer, sent


def test_the_peer_commits_then_sends_its_task_and_refuses_bad_input(peer_app):
    peer, sent = peer_app
    client = peer.app.test_client()
    body = {"procedure_code": "1.001193.H56", "applicant": {"full_name": "Trần Thị Cúc", "phone": "84912345678"}}
    first = client.post("/v1/dossiers", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and first.json["code"].startswith("999.00.00.H99-")
    again = client.post("/v1/dossiers", json=body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.json["code"] == first.json["code"]
    assert len(sent) == 1
    bad = client.post("/v1/dossiers", json={**body, "applicant": {"full_name": "", "phone": "0912"}})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"applicant.full_name", "applicant.phone"}
    assert client.post("/v1/dossiers", data="not json", content_type="application/json").status_code == 400
