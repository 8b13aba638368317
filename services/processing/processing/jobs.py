"""The worker's periodic jobs: the deadline watch (due_soon, overdue, expired supplement requests, the gauge),
the 766 indicators and the national portal (DVCQG) sync."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Callable

from servicekit.db import Database
from servicekit.tables import now as utcnow

from . import dvcqg, queries, stats, use_cases
from .config import Settings
from .metrics import (DOSSIERS_OVERDUE, DVCQG_SYNC_FAILED, DVCQG_SYNC_OLDEST_PENDING, DVCQG_SYNC_PARKED,
                      DVCQG_SYNC_QUEUED, DVCQG_SYNC_SENT, INDICATOR_766, TARGET_MET_766)

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


# ---- the national portal (DVCQG) sync ------------------------------------------------------------------------
RESULT_NAME = "Kết quả giải quyết thủ tục hành chính"


def national_case(case) -> dict:
    """The case as `dvcqg.national_record` reads it (docs/dvcqg.md "The dossier record").

    Documents go as names and file ids without a link: intake's uploads and processing's results are served only
    to the citizen (by the dossier's token) and to officers (by JWT), and the suite publishes no open link to a
    citizen's papers (docs/dvcqg.md "Documents")."""
    fees = []
    if case.fee_vnd > 0:
        fees.append({"code": case.procedure_code, "name": "Phí, lệ phí", "amount_vnd": case.fee_vnd,
                     "method": "online" if case.paid_online else "counter"})
    return {
        "code": case.code,
        "procedure": {"code": case.procedure_code, "name": case.procedure_name,
                      "field_code": case.procedure_field_code, "field_name": case.procedure_field_name},
        "agency": {"code": case.agency_code, "name": case.agency_name or case.agency_code},
        "applicant": {"type": case.applicant_type if case.applicant_type in dvcqg.APPLICANT_TYPES else "organisation",
                      "full_name": case.applicant_name, "id_number": case.applicant_id_number,
                      "phone": case.applicant_phone, "email": case.applicant_email},
        "status": case.status,
        "channel": case.channel if case.channel in dvcqg.CHANNELS else "online",
        "delivery": {"method": case.delivery_method},
        "submitted_at": case.submitted_at,
        "received_at": case.received_at,
        "due_at": case.due_at,
        "completed_at": case.finished_at,
        "returned_at": case.returned_at,
        "refused_at": case.finished_at if case.status == "refused" else None,
        "fees": fees,
        "paid_online": bool(case.paid_online),
        "documents": [{"code": doc.get("code"), "name": doc.get("name"), "upload_id": doc.get("upload_id"),
                       "filename": doc.get("filename")}
                      for doc in json.loads(case.documents or "[]") if doc.get("upload_id")],
        "results": [{"code": "", "name": f"{RESULT_NAME}: {case.procedure_name}", "file_id": case.result_file_id}]
        if case.result_file_id else [],
        "supplements": [_national_supplement(item) for item in json.loads(case.supplements or "[]")],
    }


def _national_supplement(item: dict) -> dict:
    papers = ", ".join(doc.get("name") or doc.get("code") for doc in item.get("documents") or [])
    return {"request_no": item["request_no"], "requested_by": item.get("requested_by"),
            "reason": f"{item['reason']} (giấy tờ cần bổ sung: {papers})" if papers else item["reason"],
            "requested_at": item["requested_at"], "supplemented_at": item.get("supplemented_at"),
            "old_due_at": item.get("old_due_at"), "new_due_at": item.get("new_due_at")}


def national_step(step) -> dict:
    """A queued step as `dvcqg.progress_row` reads it."""
    return {"code": step.code, "status_code": step.status_code, "at": step.at, "actor_name": step.actor_name,
            "actor_title": step.actor_title, "department": step.department, "note": step.content,
            "due_at": step.due_at}


class DvcqgSync:
    """The worker's sync job: the oldest unsent step of each due dossier, then that dossier's next ones.

    For each step: the whole dossier as it is now (`isUpdating` False the first time, True after; "already
    exists" switches to an update), then the step's progress row; the step is marked sent. Unavailable:
    retried with capped exponential backoff, holding back only this dossier. Refused: parked with the portal's
    message (and noted in the audit trail); the dossier's later steps keep queuing behind it until an admin
    re-syncs. One client per worker, so one portal session serves every call until it is due for renewal.
    """

    def __init__(self, db: Database, settings: Settings, client: dvcqg.DvcqgClient | None = None,
                 clock: Callable[[], datetime] = utcnow):
        self.db, self.settings, self.clock = db, settings, clock
        self.client = client or settings.dvcqg.client()
        self.lease = timedelta(seconds=3 * settings.dvcqg.timeout_seconds + 30)
        self._seen_id: int | None = None

    def backoff(self, attempts: int) -> timedelta:
        seconds = self.settings.dvcqg_sync_seconds * 2 ** min(attempts - 1, 30)
        return timedelta(seconds=min(self.settings.dvcqg_max_backoff_seconds, seconds))

    def __call__(self) -> dict:
        return self.run()

    def run(self) -> dict:
        outcome = {"sent": 0, "retry": 0, "parked": 0}
        with self.db.transaction(readonly=True) as conn:
            heads = queries.due_sync_heads(conn, self.clock())
        for head in heads:
            self._drain(head.code, outcome)
        self.refresh_gauges()
        return outcome

    def refresh_gauges(self) -> None:
        with self.db.transaction(readonly=True) as conn:
            parked, oldest, top, added = queries.sync_gauges(conn, self._seen_id)
        if added:  # the queue as this worker first finds it, then the rows added since
            DVCQG_SYNC_QUEUED.inc(added)
        self._seen_id = top
        DVCQG_SYNC_PARKED.set(parked)
        DVCQG_SYNC_OLDEST_PENDING.set(max(0.0, (self.clock() - oldest).total_seconds()) if oldest else 0)

    def _drain(self, code: str, outcome: dict) -> None:
        while True:
            now = self.clock()
            with self.db.transaction() as conn:
                step = queries.next_sync_step(conn, code)
                if step is None or step.state != "pending" or (step.next_attempt_at and step.next_attempt_at > now):
                    return
                if not queries.claim_sync_step(conn, step.id, now, now + self.lease):
                    return  # another worker replica is sending it
                case = queries.get_case(conn, code)
                known = queries.dossier_ever_sent(conn, code)
            try:
                record, cuts = dvcqg.national_record(national_case(case))
                row, row_cuts = dvcqg.progress_row(national_step(step))
            except (KeyError, ValueError, TypeError) as exc:
                self._park(step, f"Không lập được bản ghi gửi Cổng DVCQG: {type(exc).__name__}: {exc}")
                outcome["parked"] += 1
                return
            try:
                how = self.client.upsert_dossier(record, known)
                self.client.push_progress([row])
            except dvcqg.DvcqgRejected as exc:
                self._park(step, exc.message)
                outcome["parked"] += 1
                return
            except dvcqg.DvcqgError as exc:  # unavailable (or an answer that contradicts itself): try later
                self._retry(step, exc.message)
                outcome["retry"] += 1
                return
            with self.db.transaction() as conn:
                queries.update_sync_step(
                    conn, step.id, state="sent", attempts=step.attempts + 1, sent_at=self.clock(),
                    next_attempt_at=None, last_answer=f"Đã gửi ({'tạo mới' if how == 'created' else 'cập nhật'})",
                    cuts=json.dumps(cuts + row_cuts, ensure_ascii=False) if cuts or row_cuts else None)
            DVCQG_SYNC_SENT.inc()
            outcome["sent"] += 1
            log.info("DVCQG step sent", extra={"event": "dvcqg.step_sent", "dossier_code": code, "seq": step.seq,
                                               "status_code": step.status_code})

    def _retry(self, step, answer: str) -> None:
        attempts = step.attempts + 1
        with self.db.transaction() as conn:
            queries.update_sync_step(conn, step.id, attempts=attempts, last_answer=answer[:1000],
                                     next_attempt_at=self.clock() + self.backoff(attempts))
        DVCQG_SYNC_FAILED.labels("retry").inc()
        log.warning("DVCQG step not sent; retrying later", extra={
            "event": "dvcqg.step_retry", "dossier_code": step.code, "seq": step.seq, "attempts": attempts})

    def _park(self, step, answer: str) -> None:
        with self.db.transaction() as conn:
            queries.update_sync_step(conn, step.id, state="parked", attempts=step.attempts + 1,
                                     next_attempt_at=None, last_answer=answer[:1000])
            case = queries.get_case(conn, step.code)
            use_cases.audit_only(conn, case, action="dvcqg_parked", actor="system:dvcqg-sync",
                                 note=f"Cổng DVCQG từ chối bước {step.status_code} (lần gửi {step.seq}): {answer[:500]}")
        DVCQG_SYNC_FAILED.labels("parked").inc()
        log.warning("DVCQG step refused; parked", extra={"event": "dvcqg.step_parked", "dossier_code": step.code,
                                                        "seq": step.seq})
