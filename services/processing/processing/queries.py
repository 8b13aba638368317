"""Every read and write of processing's tables, as plain functions taking a connection."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from .models import audit_entries, calendar_days, cases, dvcqg_sync, result_files
from .workflow import CLOCK_RUNNING


def get_case(conn: Connection, code: str, agency: str | None = None):
    query = sa.select(cases).where(cases.c.code == code)
    if agency is not None:
        query = query.where(cases.c.agency_code == agency)
    return conn.execute(query).first()


def _overdue(now: datetime):
    return sa.and_(cases.c.status.in_(CLOCK_RUNNING), cases.c.due_at.is_not(None), cases.c.due_at < now)


def list_cases(conn: Connection, agency: str, *, now: datetime, status: str | None = None,
               assignee: str | None = None, overdue: bool | None = None, procedure: str | None = None,
               received_from: datetime | None = None, received_to: datetime | None = None,
               page: int = 1, per_page: int = 20):
    """The officer's queue: overdue first, then by due date (undated last), then oldest filing first."""
    where = [cases.c.agency_code == agency]
    if status:
        where.append(cases.c.status == status)
    if assignee:
        where.append(cases.c.assignee == assignee)
    if procedure:
        where.append(cases.c.procedure_code == procedure)
    if received_from is not None:
        where.append(cases.c.received_at >= received_from)
    if received_to is not None:
        where.append(cases.c.received_at < received_to)
    if overdue is True:
        where.append(_overdue(now))
    elif overdue is False:
        where.append(sa.not_(_overdue(now)))
    total = conn.execute(sa.select(sa.func.count()).select_from(cases).where(*where)).scalar_one()
    overdue_first = sa.case((_overdue(now), 0), else_=1)
    undated_last = sa.case((cases.c.due_at.is_(None), 1), else_=0)
    rows = conn.execute(
        sa.select(cases).where(*where)
        .order_by(overdue_first, undated_last, cases.c.due_at, cases.c.submitted_at, cases.c.id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return rows, total


def list_audit(conn: Connection, case_id: int):
    return conn.execute(
        sa.select(audit_entries).where(audit_entries.c.case_id == case_id).order_by(audit_entries.c.id)
    ).all()


def insert_case(conn: Connection, **values) -> int:
    return conn.execute(cases.insert().values(**values)).inserted_primary_key[0]


def insert_audit(conn: Connection, **values) -> None:
    conn.execute(audit_entries.insert().values(**values))


def update_case_if_unchanged(conn: Connection, case_id: int, version: int, **values) -> bool:
    """The write every transition makes: only if nobody changed the case since it was read."""
    result = conn.execute(
        cases.update().where(cases.c.id == case_id, cases.c.version == version).values(version=version + 1, **values)
    )
    return result.rowcount == 1


def find_watch_candidates(conn: Connection, now: datetime, horizon: datetime):
    """Clock-running cases due before `horizon` that may still need a due_soon (not yet due) or an overdue
    notice; a case whose both notices are settled never comes back, so a sweep stays small."""
    return conn.execute(
        sa.select(cases).where(
            cases.c.status.in_(CLOCK_RUNNING), cases.c.due_at.is_not(None), cases.c.due_at < horizon,
            sa.or_(sa.and_(cases.c.due_soon_sent_at.is_(None), cases.c.due_at >= now),
                   cases.c.overdue_sent_at.is_(None)),
        ).order_by(cases.c.due_at)
    ).all()


def find_expired_supplements(conn: Connection, before: date):
    return conn.execute(
        sa.select(cases).where(cases.c.status == "supplement_requested", cases.c.supplement_deadline < before)
    ).all()


def count_overdue_by_agency(conn: Connection, now: datetime) -> dict[str, int]:
    rows = conn.execute(
        sa.select(cases.c.agency_code, sa.func.count()).where(_overdue(now)).group_by(cases.c.agency_code)
    ).all()
    return {agency: n for agency, n in rows}


def list_agencies(conn: Connection) -> list[str]:
    return list(conn.execute(sa.select(cases.c.agency_code).distinct()).scalars())


def list_calendar_days(conn: Connection, *, start: date | None = None, end: date | None = None):
    query = sa.select(calendar_days).order_by(calendar_days.c.day)
    if start is not None:
        query = query.where(calendar_days.c.day >= start)
    if end is not None:
        query = query.where(calendar_days.c.day <= end)
    return conn.execute(query).all()


def upsert_calendar_day(conn: Connection, **values) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(calendar_days).values(**values)
    conn.execute(statement.on_conflict_do_update(
        index_elements=[calendar_days.c.day],
        set_={k: statement.excluded[k] for k in ("kind", "note", "updated_by", "updated_at")},
    ))


def delete_calendar_day(conn: Connection, day: date) -> bool:
    return conn.execute(calendar_days.delete().where(calendar_days.c.day == day)).rowcount == 1


def insert_result_file(conn: Connection, **values) -> None:
    conn.execute(result_files.insert().values(**values))


def get_result_file(conn: Connection, file_id: str, agency: str):
    return conn.execute(
        sa.select(result_files).where(result_files.c.id == file_id, result_files.c.agency_code == agency)
    ).first()


def get_issued_result_file(conn: Connection, file_id: str):
    """The file when it is the issued result of a dossier (cases.result_file_id), else None (drafts stay private)."""
    return conn.execute(
        sa.select(result_files).where(
            result_files.c.id == file_id,
            sa.exists().where(cases.c.result_file_id == result_files.c.id, cases.c.agency_code == result_files.c.agency_code))
    ).first()


def list_cases_for_stats(conn: Connection, agency: str, start: datetime, end: datetime):
    """Cases of `agency` received before `end` and not finished before `start` (the 766 population)."""
    return conn.execute(
        sa.select(cases).where(
            cases.c.agency_code == agency, cases.c.received_at.is_not(None), cases.c.received_at < end,
            sa.or_(cases.c.finished_at.is_(None), cases.c.finished_at >= start),
        )
    ).all()


# ---- the national portal (DVCQG) sync queue ----------------------------------------------------------------
def insert_sync_step(conn: Connection, **values) -> None:
    conn.execute(dvcqg_sync.insert().values(**values))


def due_sync_heads(conn: Connection, now: datetime, limit: int = 100):
    """The oldest unsent step of each dossier, when it is pending and its backoff has passed: a dossier whose
    head waits (backoff) or is parked holds back only its own later steps."""
    heads = (sa.select(sa.func.min(dvcqg_sync.c.id).label("id"))
             .where(dvcqg_sync.c.state != "sent").group_by(dvcqg_sync.c.code).subquery())
    return conn.execute(
        sa.select(dvcqg_sync).join(heads, heads.c.id == dvcqg_sync.c.id)
        .where(dvcqg_sync.c.state == "pending",
               sa.or_(dvcqg_sync.c.next_attempt_at.is_(None), dvcqg_sync.c.next_attempt_at <= now))
        .order_by(dvcqg_sync.c.id).limit(limit)
    ).all()


def next_sync_step(conn: Connection, code: str):
    """The dossier's oldest unsent step (pending or parked), or None."""
    return conn.execute(
        sa.select(dvcqg_sync).where(dvcqg_sync.c.code == code, dvcqg_sync.c.state != "sent")
        .order_by(dvcqg_sync.c.id).limit(1)
    ).first()


def claim_sync_step(conn: Connection, step_id: int, now: datetime, lease_until: datetime) -> bool:
    """Take a due pending step for one send (another worker replica then skips it until the lease ends)."""
    result = conn.execute(
        dvcqg_sync.update().where(
            dvcqg_sync.c.id == step_id, dvcqg_sync.c.state == "pending",
            sa.or_(dvcqg_sync.c.next_attempt_at.is_(None), dvcqg_sync.c.next_attempt_at <= now),
        ).values(next_attempt_at=lease_until)
    )
    return result.rowcount == 1


def dossier_ever_sent(conn: Connection, code: str) -> bool:
    return conn.execute(
        sa.select(dvcqg_sync.c.id).where(dvcqg_sync.c.code == code, dvcqg_sync.c.state == "sent").limit(1)
    ).first() is not None


def update_sync_step(conn: Connection, step_id: int, **values) -> None:
    conn.execute(dvcqg_sync.update().where(dvcqg_sync.c.id == step_id).values(**values))


def list_sync_steps(conn: Connection, agency: str, state: str, limit: int = 200):
    return conn.execute(
        sa.select(dvcqg_sync).where(dvcqg_sync.c.agency_code == agency, dvcqg_sync.c.state == state)
        .order_by(dvcqg_sync.c.id).limit(limit)
    ).all()


def sync_steps_of(conn: Connection, code: str):
    return conn.execute(sa.select(dvcqg_sync).where(dvcqg_sync.c.code == code).order_by(dvcqg_sync.c.id)).all()


def requeue_parked(conn: Connection, code: str) -> int:
    return conn.execute(
        dvcqg_sync.update().where(dvcqg_sync.c.code == code, dvcqg_sync.c.state == "parked")
        .values(state="pending", attempts=0, next_attempt_at=None)
    ).rowcount


def sync_gauges(conn: Connection, after_id: int | None) -> tuple[int, datetime | None, int, int]:
    """(parked steps, created_at of the oldest pending step, highest step id, new steps: those with an id above
    `after_id` (counted: a rolled-back insert can burn an id on PostgreSQL), or every unsent one when None)."""
    parked = conn.execute(sa.select(sa.func.count()).where(dvcqg_sync.c.state == "parked")).scalar_one()
    oldest = conn.execute(sa.select(dvcqg_sync.c.created_at).where(dvcqg_sync.c.state == "pending")
                          .order_by(dvcqg_sync.c.created_at).limit(1)).scalar()
    top = conn.execute(sa.select(sa.func.max(dvcqg_sync.c.id))).scalar_one() or 0
    new = dvcqg_sync.c.state != "sent" if after_id is None else dvcqg_sync.c.id > after_id
    added = conn.execute(sa.select(sa.func.count()).where(new)).scalar_one()
    return parked, oldest, top, added
