"""The deadline watch: due_soon and overdue once each, expired supplement requests closed, the overdue gauge."""
from datetime import date, datetime, timedelta, timezone

from processing.calendar import VN_TZ, WorkingCalendar
from processing.jobs import deadline_watch
from processing.metrics import DOSSIERS_OVERDUE

CAL = WorkingCalendar()


def local(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


def types(outbox_events, code):
    return [t for t, _ in outbox_events(code)]


def test_due_soon_goes_out_once_a_working_day_before_and_overdue_once_after(db, settings, make_case, outbox_events):
    due = local(2026, 12, 4, 10, 0)  # Friday 10:00
    code = make_case(status="in_review", received_at=local(2026, 12, 1, 10, 0), due_at=due)
    deadline_watch(db, settings, now=local(2026, 12, 3, 9, 0))  # more than a working day left
    assert types(outbox_events, code) == []
    for _ in range(2):
        deadline_watch(db, settings, now=local(2026, 12, 3, 10, 0))  # exactly one working day left
    assert types(outbox_events, code) == ["dossier.due_soon.v1"]
    for minute in (1, 30):
        deadline_watch(db, settings, now=local(2026, 12, 4, 10, minute))
    assert types(outbox_events, code) == ["dossier.due_soon.v1", "dossier.overdue.v1"]
    events = outbox_events(code)
    assert events[1][1]["due_at"] == "2026-12-04T03:00:00.000Z" and events[1][1]["actor"] == "system"
    assert [e[1]["seq"] for e in events] == [1, 2]


def test_one_working_day_before_counts_over_a_weekend(db, settings, make_case, outbox_events):
    code = make_case(status="received", received_at=local(2026, 12, 1, 9, 0), due_at=local(2026, 12, 7, 9, 0))  # Mon
    deadline_watch(db, settings, now=local(2026, 12, 4, 8, 59))  # Fri: Mon 09:00 is 8h01 of work away
    assert types(outbox_events, code) == []
    deadline_watch(db, settings, now=local(2026, 12, 4, 9, 0))
    assert types(outbox_events, code) == ["dossier.due_soon.v1"]


def test_a_paused_or_finished_dossier_is_never_overdue(db, settings, make_case, outbox_events):
    paused = make_case(status="supplement_requested", due_at=local(2026, 12, 1, 9, 0),
                       supplement_deadline=date(2026, 12, 20), supplement_from_status="in_review")
    done = make_case(status="result_ready", due_at=local(2026, 12, 1, 9, 0))
    deadline_watch(db, settings, now=local(2026, 12, 10, 9, 0))
    assert outbox_events(paused) == [] and outbox_events(done) == []


def test_a_supplement_request_whose_deadline_passed_closes_the_dossier(db, settings, make_case, case_of, outbox_events):
    before = make_case(status="supplement_requested", supplement_from_status="submitted",
                       supplement_deadline=date(2026, 12, 4), paused_at=local(2026, 12, 1, 9, 0))
    during = make_case(status="supplement_requested", supplement_from_status="in_review",
                       supplement_deadline=date(2026, 12, 4), paused_at=local(2026, 12, 1, 9, 0),
                       due_at=local(2026, 12, 3, 9, 0))
    deadline_watch(db, settings, now=local(2026, 12, 4, 16, 59))  # the deadline day itself still counts
    assert outbox_events(before) == [] and outbox_events(during) == []
    for _ in range(2):
        deadline_watch(db, settings, now=local(2026, 12, 5, 0, 1))
    assert case_of(before).status == "refused" and case_of(during).status == "stopped"
    assert outbox_events(before)[0][1]["cause"] == outbox_events(during)[0][1]["cause"] == "supplement_deadline"
    assert types(outbox_events, before) == ["dossier.refused.v1"] and types(outbox_events, during) == ["dossier.stopped.v1"]


def test_the_overdue_gauge_counts_by_agency(db, settings, make_case):
    for _ in range(2):
        make_case(status="in_review", due_at=local(2026, 12, 1, 9, 0))
    make_case(status="received", agency="000.00.07.H56", due_at=local(2026, 12, 1, 9, 0))
    make_case(status="received", agency="000.00.08.H56", due_at=local(2026, 12, 30, 9, 0))
    deadline_watch(db, settings, now=local(2026, 12, 2, 9, 0))
    assert DOSSIERS_OVERDUE.labels("000.00.06.H56")._value.get() == 2
    assert DOSSIERS_OVERDUE.labels("000.00.07.H56")._value.get() == 1
    assert DOSSIERS_OVERDUE.labels("000.00.08.H56")._value.get() == 0


def test_an_apology_re_arms_due_soon_for_the_new_date_but_never_a_second_overdue(db, settings, make_case, outbox_events):
    from processing import use_cases

    code = make_case(status="in_review", received_at=local(2026, 12, 1, 9, 0), due_at=local(2026, 12, 4, 17, 0))
    deadline_watch(db, settings, now=local(2026, 12, 3, 17, 0))
    with db.transaction() as conn:
        use_cases.perform_action(conn, code=code, action_name="apologize",
                                 officer={"sub": "leader-1", "role": "leader", "agency": "000.00.06.H56"},
                                 body={"reason": "Cần xác minh", "new_due_date": date(2026, 12, 9)},
                                 calendar=CAL, now=local(2026, 12, 4, 8, 0))
    deadline_watch(db, settings, now=local(2026, 12, 8, 17, 0))
    deadline_watch(db, settings, now=local(2026, 12, 10, 8, 0))
    deadline_watch(db, settings, now=local(2026, 12, 11, 8, 0))
    assert types(outbox_events, code) == ["dossier.due_soon.v1", "dossier.apology_issued.v1", "dossier.due_soon.v1",
                                          "dossier.overdue.v1"]


def test_a_case_received_too_late_for_due_soon_leaves_the_watch_once_overdue(db, settings, make_case, outbox_events):
    from processing import queries

    code = make_case(status="received", received_at=local(2026, 12, 1, 9, 0), due_at=local(2026, 12, 1, 10, 0))
    deadline_watch(db, settings, now=local(2026, 12, 2, 9, 0))
    assert types(outbox_events, code) == ["dossier.overdue.v1"]
    with db.transaction(readonly=True) as conn:
        assert queries.find_watch_candidates(conn, local(2026, 12, 2, 9, 5), local(2026, 12, 30)) == []
