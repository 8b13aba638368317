"""The worker's periodic jobs: the deadline watch (due_soon, overdue, expired supplement requests, the gauge)."""
from __future__ import annotations

import logging
from datetime import datetime

from servicekit.db import Database
from servicekit.tables import now as utcnow

from . import queries, use_cases
from .config import Settings
from . import stats
from .metrics import DOSSIERS_OVERDUE, INDICATOR_766, TARGET_MET_766

log = logging.getLogger(__name__)


def deadline_watch(db: Database, settings: Settings, now: datetime | None = None) -> dict:
    """One sweep. Each case in its own transaction, so one stale case (an officer acting meanwhile) only
    postpones that case to the next sweep; the flags on the case make every notice go out once."""
    now = now or utcnow()
    sent = {"due_soon": 0, "overdue": 0, "supplement_closed": 0}
    with db.transaction(readonly=True) as conn:
        calendar = use_cases.load_calendar(conn, settings.working_hours)
        candidates = queries.find_watch_candidates(conn, now, now + use_cases.WATCH_HORIZON)
        expired = queries.find_expired_supplements(conn, calendar.local_date(now))
    for stale in candidates:
        try:
            with db.transaction() as conn:
                case = queries.get_case(conn, stale.code)
                if case.version == stale.version:
                    for kind in use_cases.watch_case(conn, case, calendar=calendar, now=now):
                        sent[kind] += 1
        except use_cases.StaleCase:
            log.info("case changed during the deadline watch; next sweep", extra={"event": "watch.stale"})
    for stale in expired:
        try:
            with db.transaction() as conn:
                case = queries.get_case(conn, stale.code)
                if case.status == "supplement_requested" and case.version == stale.version:
                    use_cases.close_expired_supplement(conn, case, now=now)
                    sent["supplement_closed"] += 1
        except use_cases.StaleCase:
            log.info("case changed during the deadline watch; next sweep", extra={"event": "watch.stale"})
    with db.transaction(readonly=True) as conn:
        overdue = queries.count_overdue_by_agency(conn, now)
        agencies = queries.list_agencies(conn)
    for agency in agencies:
        DOSSIERS_OVERDUE.labels(agency).set(overdue.get(agency, 0))
    return sent


def refresh_indicators(db: Database, settings: Settings, now: datetime | None = None) -> dict:
    """The 766 gauges for every agency, over the current month (local time) up to today."""
    now = now or utcnow()
    today = now.astimezone(stats.VN_TZ).date()
    period = stats.Period.of_days(today.replace(day=1), today)
    results = {}
    with db.transaction(readonly=True) as conn:
        calendar = use_cases.load_calendar(conn, settings.working_hours)
        for agency in queries.list_agencies(conn):
            rows = queries.list_cases_for_stats(conn, agency, period.start, period.end)
            results[agency] = stats.compute(rows, period, calendar, settings.targets_for(agency))
    for agency, result in results.items():
        for indicator in result["indicators"]:
            if indicator["rate"] is not None:
                INDICATOR_766.labels(agency, indicator["id"]).set(indicator["rate"])
        for target in result["targets"]:
            TARGET_MET_766.labels(agency, target["target"]).set(1 if target["met"] else 0)
    return results
