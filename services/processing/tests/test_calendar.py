"""The working calendar: its invariants (hypothesis), real weeks of 2026–2027, the admin table and the API."""
from datetime import date, datetime, time, timedelta, timezone

from hypothesis import given, settings as hsettings, strategies as st

from processing.calendar import VN_TZ, WorkingCalendar

CAL = WorkingCalendar()
HOUR = 3600


def local(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


def at_local(moment):
    return moment.astimezone(VN_TZ)


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.just(VN_TZ))
amounts = st.integers(min_value=0, max_value=30 * 8 * HOUR)
swaps = st.dictionaries(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
                        st.sampled_from(["off", "work"]), max_size=6)


def in_hours_strictly(cal, moment):
    lt = at_local(moment)
    return cal.is_working_day(lt.date()) and any(
        datetime.combine(lt.date(), s, VN_TZ) <= lt <= datetime.combine(lt.date(), e, VN_TZ) for s, e in cal.periods)


@hsettings(max_examples=300, deadline=None, database=None)
@given(moments, amounts, swaps)
def test_a_due_date_never_falls_on_a_day_off_at_lunch_or_after_hours(start, seconds, overrides):
    cal = WorkingCalendar(overrides=overrides)
    due = cal.add(start, seconds)
    lt = at_local(due)
    assert cal.is_working_day(lt.date())
    assert not (time(11, 30) < lt.time() < time(13, 30))
    assert time(7, 0) <= lt.time() <= time(17, 0)
    assert in_hours_strictly(cal, due)


@hsettings(max_examples=300, deadline=None, database=None)
@given(moments, amounts, amounts, swaps)
def test_adding_a_then_b_equals_adding_a_plus_b(start, a, b, overrides):
    cal = WorkingCalendar(overrides=overrides)
    assert cal.add(cal.add(start, a), b) == cal.add(start, a + b)


@hsettings(max_examples=300, deadline=None, database=None)
@given(moments, st.integers(min_value=1, max_value=15), moments, st.integers(min_value=0, max_value=10 * 24 * HOUR),
       swaps)
def test_pause_and_resume_move_the_due_date_by_exactly_the_paused_working_time(received, days, pause, length, overrides):
    cal = WorkingCalendar(overrides=overrides)
    due = cal.due_date(received, days)
    resume = pause + timedelta(seconds=length)
    paused = cal.working_seconds_between(pause, resume)
    moved = cal.add(due, paused)
    assert cal.working_seconds_between(due, moved) == paused
    assert moved >= due  # never earlier than the unpaused date (OpenCPS's class of bug)


@hsettings(max_examples=200, deadline=None, database=None)
@given(moments, amounts)
def test_working_time_between_a_start_and_its_due_date_is_what_was_added(start, seconds):
    assert CAL.working_seconds_between(CAL.normalize(start), CAL.add(start, seconds)) == seconds


def test_out_of_hours_rules_of_domain_md():
    assert at_local(CAL.normalize(local(2026, 12, 1, 6, 15))) == local(2026, 12, 1, 7, 0)  # before 07:00
    assert at_local(CAL.normalize(local(2026, 12, 1, 12, 0))) == local(2026, 12, 1, 13, 30)  # lunch
    assert at_local(CAL.normalize(local(2026, 12, 1, 18, 0))) == local(2026, 12, 2, 7, 0)  # evening
    assert at_local(CAL.normalize(local(2026, 12, 5, 9, 0))) == local(2026, 12, 7, 7, 0)  # Saturday -> Monday


def test_tet_2027_received_at_16_30_on_the_last_working_day_for_a_5_day_procedure():
    received = local(2027, 2, 3, 16, 30)  # Wednesday; Tết holiday Thu 4/2 – Wed 10/2
    due = CAL.due_date(received, 5)
    assert at_local(due) == local(2027, 2, 17, 16, 30)
    skipped = CAL.days_off_between(date(2027, 2, 3), date(2027, 2, 17))
    assert skipped == [date(2027, 2, d) for d in (4, 5, 6, 7, 8, 9, 10, 13, 14)]


def test_reunification_and_labour_day_2026():
    # Wed 29/4/2026 09:00, 2 days: 30/4 (Thu) and 1/5 (Fri) off, then the weekend -> Tue 5/5 09:00.
    assert at_local(CAL.due_date(local(2026, 4, 29, 9, 0), 2)) == local(2026, 5, 5, 9, 0)


def test_national_day_2026_with_its_swapped_monday():
    # 2026: 31/8 off in exchange for Saturday 22/8, then 1–2/9. Fri 28/8 10:00 + 1 day -> Thu 3/9 10:00.
    assert at_local(CAL.due_date(local(2026, 8, 28, 10, 0), 1)) == local(2026, 9, 3, 10, 0)
    assert not CAL.is_working_day(date(2026, 8, 31))


def test_the_admin_table_adds_days_off_and_swapped_working_days():
    cal = WorkingCalendar(overrides={date(2026, 12, 7): "off", date(2026, 12, 12): "work"})
    # Fri 4/12 09:00 + 2 days: Mon 7/12 is off by decision -> Tue 8/12 09:00.
    assert at_local(cal.due_date(local(2026, 12, 4, 9, 0), 2)) == local(2026, 12, 9, 9, 0)
    # A Saturday worked in exchange counts.
    assert at_local(cal.due_date(local(2026, 12, 11, 9, 0), 1)) == local(2026, 12, 12, 9, 0)


def test_configured_hours_change_the_working_day():
    from processing.calendar import parse_hours

    cal = WorkingCalendar(parse_hours("08:00-12:00,13:00-17:00"))
    assert cal.day_seconds == 8 * HOUR
    assert at_local(cal.add(local(2026, 12, 1, 11, 0), 2 * HOUR)) == local(2026, 12, 1, 14, 0)


def test_due_date_endpoint_explains_the_days_skipped(client, headers):
    response = client.get("/v1/calendar/due-date?from=2027-02-03T16:30:00%2B07:00&working_days=5",
                          headers=headers("clerk"))
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["due_at_local"] == "2027-02-17T16:30:00+07:00"
    assert [d["day"] for d in body["days_off_skipped"]][:2] == ["2027-02-04", "2027-02-05"]
    assert len(body["days_off_skipped"]) == 9
    naive = client.get("/v1/calendar/due-date?from=2027-02-03T16:30:00&working_days=5", headers=headers("clerk"))
    assert naive.get_json()["due_at_local"] == "2027-02-17T16:30:00+07:00"  # no offset: Vietnam time
    bad = client.get("/v1/calendar/due-date?from=yesterday&working_days=-1&x=1", headers=headers("clerk"))
    assert bad.status_code == 422 and {"from", "working_days", "x"} <= set(bad.get_json()["errors"]["query"])


def test_only_an_admin_edits_the_calendar_and_the_due_date_follows(client, headers):
    body = {"kind": "off", "note": "Nghỉ bù theo quyết định của UBND tỉnh"}
    assert client.put("/v1/calendar/days/2026-12-07", json=body, headers=headers("clerk")).status_code == 403
    assert client.put("/v1/calendar/days/2026-13-07", json=body, headers=headers("admin")).status_code == 422
    assert client.put("/v1/calendar/days/2026-12-07", json={"kind": "holiday"}, headers=headers("admin")).status_code == 422
    assert client.put("/v1/calendar/days/2026-12-07", json=body, headers=headers("admin")).status_code == 200
    assert client.put("/v1/calendar/days/2026-12-07", json=body, headers=headers("admin")).status_code == 200
    listed = client.get("/v1/calendar/days", headers=headers("clerk")).get_json()["items"]
    assert [(d["day"], d["kind"]) for d in listed] == [("2026-12-07", "off")]
    due = client.get("/v1/calendar/due-date?from=2026-12-04T09:00:00%2B07:00&working_days=2",
                     headers=headers("clerk")).get_json()
    assert due["due_at_local"] == "2026-12-09T09:00:00+07:00"


@hsettings(max_examples=150, deadline=None, database=None)
@given(moments, st.integers(min_value=1, max_value=15),
       st.lists(st.tuples(st.integers(min_value=0, max_value=5 * 24 * HOUR),
                          st.integers(min_value=0, max_value=5 * 24 * HOUR)), max_size=4), swaps)
def test_any_sequence_of_pauses_and_resumes_never_makes_the_due_date_earlier(received, days, pauses, overrides):
    cal = WorkingCalendar(overrides=overrides)
    due = original = cal.due_date(received, days)
    moment, total = received, 0.0
    for gap, length in pauses:
        paused_at = moment + timedelta(seconds=gap)
        resumed_at = paused_at + timedelta(seconds=length)
        paused = cal.working_seconds_between(paused_at, resumed_at)
        due, total, moment = cal.add(due, paused), total + paused, resumed_at
    assert due >= original
    assert abs(cal.working_seconds_between(original, due) - total) < 1e-6  # float sums; the calendar is exact


def test_an_admin_entry_can_be_dropped_to_follow_the_computed_calendar_again(client, headers):
    client.put("/v1/calendar/days/2026-12-07", json={"kind": "off"}, headers=headers("admin"))
    assert client.delete("/v1/calendar/days/2026-12-07", headers=headers("clerk")).status_code == 403
    assert client.delete("/v1/calendar/days/2026-12-07", headers=headers("admin")).status_code == 204
    assert client.delete("/v1/calendar/days/2026-12-07", headers=headers("admin")).status_code == 404
    due = client.get("/v1/calendar/due-date?from=2026-12-04T09:00:00%2B07:00&working_days=2",
                     headers=headers("clerk")).get_json()
    assert due["due_at_local"] == "2026-12-08T09:00:00+07:00"
