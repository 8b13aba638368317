"""The 766 indicators on a hand-computed set of dossiers (December 2026), and the province's targets."""
import json
from dataclasses import replace
from datetime import datetime

from processing.calendar import VN_TZ
from processing.jobs import refresh_indicators
from processing.metrics import INDICATOR_766, TARGET_MET_766

UPLOADED = json.dumps([{"code": "GKS", "name": "Giấy chứng sinh", "upload_id": "u1", "sha256": "0" * 64}])


def local(m, d, hh=9, y=2026):
    return datetime(y, m, d, hh, 0, tzinfo=VN_TZ)


def december(make_case):
    """Seven dossiers; the comments give what each must count for."""
    make_case(  # c1: online, full-online, on time, paper result with its PDF, fee paid online, digitised
        channel="online", procedure_level="full_online", status="returned", received_at=local(12, 1),
        due_at=local(12, 4), finished_at=local(12, 3), result_is_paper=True, result_file_id="f" * 32,
        documents=UPLOADED, fee_vnd=50000, fee_mode="before", paid_online=True, fee_paid=True, rating_score=5)
    make_case(  # c2: at the counter, late (finished after due), no files, disliked (1/5)
        channel="counter", procedure_level="partial_online", status="result_ready", received_at=local(12, 2),
        due_at=local(12, 7), finished_at=local(12, 8), result_file_id="e" * 32, documents="[]", rating_score=1)
    make_case(  # c3: online, unfinished, two supplement requests: late whatever the dates; fee after, unpaid
        channel="online", procedure_level="partial_online", status="in_review", received_at=local(12, 3),
        due_at=local(12, 30), supplement_count=2, documents=UPLOADED, fee_vnd=20000, fee_mode="after")
    make_case(  # c4: received in November, unfinished, due in January: on time at the period's end
        channel="online", procedure_level="full_online", status="in_review", received_at=local(11, 27),
        due_at=local(1, 5, y=2027), documents=UPLOADED)
    make_case(  # c5: finished before the period: not counted
        channel="online", status="returned", received_at=local(11, 25), due_at=local(11, 30),
        finished_at=local(11, 27), documents=UPLOADED)
    make_case(  # c6: refused at reception (never received): not counted
        channel="online", status="refused", finished_at=local(12, 2), documents=UPLOADED)
    make_case(  # c7: online, stopped after its due date: late
        channel="online", procedure_level="partial_online", status="stopped", received_at=local(12, 10),
        due_at=local(12, 14), finished_at=local(12, 15), documents=UPLOADED)
    make_case(agency="000.00.07.H56", channel="online", status="in_review", received_at=local(12, 1),
              due_at=local(12, 2))  # another agency's: never in this one's figures


def by_id(body):
    return {i["id"]: i for i in body["indicators"]}


def test_indicators_match_the_hand_computed_figures(client, headers, make_case):
    december(make_case)
    response = client.get("/v1/stats/766?from=2026-12-01&to=2026-12-31", headers=headers("leader"))
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["agency"] == "000.00.06.H56" and body["from"] == "2026-12-01"
    got = by_id(body)
    figures = {k: (v["numerator"], v["denominator"], v["rate"]) for k, v in got.items()}
    assert figures == {
        "2.1": (2, 5, 0.4),      # c1, c4 on time of c1 c2 c3 c4 c7
        "2.2": (6.0, 2, 3.0),    # c1 2 working days + c2 4 working days, over 2 finished with a result
        "3.3": (3, 4, 0.75),     # c1 c3 c7 online of c1 c2 c3 c7 received in December
        "3.6": (1, 2, 0.5),      # c1 paid online of c1 c3 with a fee
        "4.1": (1, 1, 1.0),      # c1: paper result issued with its electronic copy
        "4.2": (3, 4, 0.75),     # c1 c3 c7 with their files
        "5.4": (1, 5, 0.2),      # 100% - (60% late + 20% disliked)
    }
    assert got["2.1"]["score"] == 40.0 and got["2.1"]["points"] == 8.0
    assert got["3.3"]["score"] == 100.0 and got["4.2"]["score"] == 93.75 and got["5.4"]["score"] == 22.22
    standing = {t["target"]: (t["required"], t["actual"], t["met"]) for t in body["targets"]}
    assert standing == {"online": (0.6, 0.75, True), "full_online": (0.2, 0.25, True),
                        "on_time": (1.0, 0.4, False), "e_result": (1.0, 1.0, True)}


def test_an_empty_period_has_no_rates_and_a_reversed_one_is_a_422(client, headers):
    body = client.get("/v1/stats/766?from=2026-12-01&to=2026-12-31", headers=headers("clerk")).get_json()
    assert all(i["rate"] is None for i in body["indicators"])
    bad = client.get("/v1/stats/766?from=2026-12-31&to=2026-12-01", headers=headers("clerk"))
    assert bad.status_code == 422 and "to" in bad.get_json()["errors"]["query"]
    assert client.get("/v1/stats/766", headers=headers("clerk")).status_code == 422


def test_an_agencys_own_targets_override_the_province_default(make_case, settings):
    from processing import stats

    december(make_case)
    tuned = replace(settings, targets={**settings.targets, "000.00.06.H56": {"online": 0.8}})
    assert tuned.targets_for("000.00.06.H56") == {"online": 0.8, "full_online": 0.2, "on_time": 1.0, "e_result": 1.0}
    assert tuned.targets_for("000.00.07.H56")["online"] == 0.6
    assert stats.INDICATORS["2.1"][2] == 20


def test_the_worker_exports_the_month_so_far_as_gauges_by_agency(db, settings, make_case):
    december(make_case)
    refresh_indicators(db, settings, now=local(12, 31, 20))
    assert INDICATOR_766.labels("000.00.06.H56", "2.1")._value.get() == 0.4
    assert INDICATOR_766.labels("000.00.07.H56", "2.1")._value.get() == 0.0
    assert TARGET_MET_766.labels("000.00.06.H56", "online")._value.get() == 1
    assert TARGET_MET_766.labels("000.00.06.H56", "on_time")._value.get() == 0
