"""Every read and write of intake's tables, as plain functions taking a connection."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from .models import (agencies, dossier_payments, dossier_sequences, dossier_shipments, dossier_timeline, dossiers,
                     lookup_limits, procedures)


def _insert(conn: Connection, table: sa.Table):
    """INSERT with ON CONFLICT support: both backends have it, each under its own dialect module."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


# ---- catalogue ------------------------------------------------------------------------------------
_PROCEDURE_COLUMNS = (
    procedures.c.code, procedures.c.name, procedures.c.level, procedures.c.processing_days,
    procedures.c.fee_vnd, procedures.c.fee_mode, procedures.c.documents, procedures.c.delivery_methods,
    procedures.c.result_is_paper, procedures.c.agency_code, agencies.c.name.label("agency_name"),
)
_WITH_AGENCY = procedures.join(agencies, procedures.c.agency_code == agencies.c.code)


def get_procedure(conn: Connection, code: str):
    return conn.execute(sa.select(*_PROCEDURE_COLUMNS).select_from(_WITH_AGENCY).where(procedures.c.code == code)).first()


def list_all_procedures(conn: Connection):
    return conn.execute(sa.select(*_PROCEDURE_COLUMNS).select_from(_WITH_AGENCY)).all()


def list_procedures(conn: Connection, *, folded_q: str | None, agency: str | None, level: str | None,
                    page: int, per_page: int):
    where = []
    if folded_q:
        escaped = folded_q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(procedures.c.search_text.like(f"%{escaped}%", escape="\\"))
    if agency:
        where.append(procedures.c.agency_code == agency)
    if level:
        where.append(procedures.c.level == level)
    total = conn.execute(sa.select(sa.func.count()).select_from(procedures).where(*where)).scalar_one()
    rows = conn.execute(
        sa.select(*_PROCEDURE_COLUMNS).select_from(_WITH_AGENCY).where(*where)
        .order_by(procedures.c.agency_code, procedures.c.code).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return rows, total


def upsert_agency(conn: Connection, **values) -> None:
    stmt = _insert(conn, agencies).values(**values)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[agencies.c.code], set_={k: stmt.excluded[k] for k in values if k != "code"}))


def upsert_procedure(conn: Connection, **values) -> None:
    stmt = _insert(conn, procedures).values(**values)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[procedures.c.code], set_={k: stmt.excluded[k] for k in values if k != "code"}))


# ---- dossiers -------------------------------------------------------------------------------------
_NEXT_NUMBER: dict[str, sa.Executable] = {}


def _next_number_statement(conn: Connection) -> sa.Executable:
    stmt = _NEXT_NUMBER.get(conn.dialect.name)
    if stmt is None:
        insert = _insert(conn, dossier_sequences).values(
            agency_code=sa.bindparam("agency_code"), day=sa.bindparam("day"), last_number=1)
        stmt = _NEXT_NUMBER[conn.dialect.name] = insert.on_conflict_do_update(
            index_elements=[dossier_sequences.c.agency_code, dossier_sequences.c.day],
            set_={"last_number": dossier_sequences.c.last_number + 1},
        ).returning(dossier_sequences.c.last_number)
    return stmt


def next_dossier_number(conn: Connection, agency_code: str, day: str) -> int:
    """Bump and return the agency's counter for the day, in the caller's transaction.

    One statement: the first filing of the day inserts 1, later ones update the row. Concurrent filings
    for the same agency queue on that row's lock (PostgreSQL) or on the write lock (SQLite) until the
    earlier transaction ends, so no two commits share a number; a rolled-back filing gives its number back.
    """
    return conn.execute(_next_number_statement(conn), {"agency_code": agency_code, "day": day}).scalar_one()


# Plain insert() with a parameter dict: compiled once and cached, unlike .values(...) built per call
# (statement building was a visible share of the benchmarked filing path).
_INSERT_DOSSIER = dossiers.insert()
_INSERT_TIMELINE = dossier_timeline.insert()


def insert_dossier(conn: Connection, **values) -> None:
    conn.execute(_INSERT_DOSSIER, values)


def insert_timeline(conn: Connection, **values) -> None:
    conn.execute(_INSERT_TIMELINE, values)


def get_dossier(conn: Connection, code: str):
    return conn.execute(sa.select(dossiers).where(dossiers.c.code == code)).first()


def get_dossier_status(conn: Connection, code: str) -> str | None:
    return conn.execute(sa.select(dossiers.c.status).where(dossiers.c.code == code)).scalar_one_or_none()


def list_timeline(conn: Connection, code: str):
    return conn.execute(
        sa.select(dossier_timeline.c.at, dossier_timeline.c.status, dossier_timeline.c.note)
        .where(dossier_timeline.c.dossier_code == code).order_by(dossier_timeline.c.id)
    ).all()


def set_access_token_hash(conn: Connection, code: str, token_hash: str, moment: datetime) -> None:
    conn.execute(dossiers.update().where(dossiers.c.code == code).values(access_token_hash=token_hash, updated_at=moment))


# ---- what other services report: payments and shipments ------------------------------------------------
def insert_payment(conn: Connection, **values) -> bool:
    """Store a payment order once per reference; False when it is already there (a repeated event)."""
    stmt = _insert(conn, dossier_payments).values(**values).on_conflict_do_nothing(
        index_elements=[dossier_payments.c.reference])
    return conn.execute(stmt).rowcount == 1


def get_latest_payment(conn: Connection, code: str):
    return conn.execute(
        sa.select(dossier_payments.c.status, dossier_payments.c.amount_vnd, dossier_payments.c.qr_payload,
                  dossier_payments.c.expires_at)
        .where(dossier_payments.c.dossier_code == code).order_by(dossier_payments.c.id.desc()).limit(1)
    ).first()


def insert_shipment(conn: Connection, **values) -> bool:
    """Store a shipment once per tracking number; False when it is already there (a repeated event)."""
    stmt = _insert(conn, dossier_shipments).values(**values).on_conflict_do_nothing(
        index_elements=[dossier_shipments.c.tracking_no])
    return conn.execute(stmt).rowcount == 1


def get_latest_shipment(conn: Connection, code: str, service: str):
    return conn.execute(
        sa.select(dossier_shipments.c.tracking_no, dossier_shipments.c.status)
        .where(dossier_shipments.c.dossier_code == code, dossier_shipments.c.service == service)
        .order_by(dossier_shipments.c.id.desc()).limit(1)
    ).first()


# ---- lookup limits --------------------------------------------------------------------------------
def get_lookup_limit(conn: Connection, client_ip: str):
    return conn.execute(sa.select(lookup_limits).where(lookup_limits.c.client_ip == client_ip)).first()


def record_lookup_miss(conn: Connection, client_ip: str, moment: datetime, window: timedelta) -> int:
    """Count one miss in the client's window (a new window when the last one has ended); returns the count."""
    cutoff = moment - window
    expired = lookup_limits.c.window_started_at <= cutoff
    stmt = _insert(conn, lookup_limits).values(client_ip=client_ip, window_started_at=moment, misses=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[lookup_limits.c.client_ip],
        # Both SET expressions read the row as it was, so the window test is the same for each.
        set_={
            "misses": sa.case((expired, 1), else_=lookup_limits.c.misses + 1),
            "window_started_at": sa.case((expired, moment), else_=lookup_limits.c.window_started_at),
        },
    ).returning(lookup_limits.c.misses)
    misses = conn.execute(stmt).scalar_one()
    if misses == 1:
        # Windows of other clients that have ended are noise: drop them while we are writing anyway.
        conn.execute(lookup_limits.delete().where(lookup_limits.c.window_started_at <= cutoff))
    return misses
