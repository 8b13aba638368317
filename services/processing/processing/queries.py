"""Every read and write of processing's tables, as plain functions taking a connection."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from .models import audit_entries, cases


def get_case(conn: Connection, code: str, agency: str | None = None):
    query = sa.select(cases).where(cases.c.code == code)
    if agency is not None:
        query = query.where(cases.c.agency_code == agency)
    return conn.execute(query).first()


def list_cases(conn: Connection, agency: str, *, status: str | None, assignee: str | None, page: int, per_page: int):
    where = [cases.c.agency_code == agency]
    if status:
        where.append(cases.c.status == status)
    if assignee:
        where.append(cases.c.assignee == assignee)
    total = conn.execute(sa.select(sa.func.count()).select_from(cases).where(*where)).scalar_one()
    rows = conn.execute(
        sa.select(cases).where(*where).order_by(cases.c.submitted_at.desc(), cases.c.id.desc())
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
