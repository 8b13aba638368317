"""Every read and write of intake's tables, as plain functions taking a connection."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from .models import (access_tokens, agencies, catalogue_runs, dossier_payments, dossier_sequences, dossier_shipments,
                     dossier_timeline, dossiers, lookup_limits, procedure_code_map, procedures, rate_limits, ratings,
                     supplement_requests, uploads)


def _insert(conn: Connection, table: sa.Table):
    """INSERT with ON CONFLICT support: both backends have it, each under its own dialect module."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


# ---- catalogue ------------------------------------------------------------------------------------
_PROCEDURE_COLUMNS = (
    procedures.c.code, procedures.c.name, procedures.c.level, procedures.c.processing_days,
    procedures.c.fee_vnd, procedures.c.fee_mode, procedures.c.documents, procedures.c.delivery_methods,
    procedures.c.result_is_paper, procedures.c.agency_code, agencies.c.name.label("agency_name"),
    procedures.c.withdrawn_at, procedures.c.field_code, procedures.c.field_name,
)
_WITH_AGENCY = procedures.join(agencies, procedures.c.agency_code == agencies.c.code)


def get_procedure(conn: Connection, code: str):
    return conn.execute(sa.select(*_PROCEDURE_COLUMNS).select_from(_WITH_AGENCY).where(procedures.c.code == code)).first()


def list_all_procedures(conn: Connection):
    return conn.execute(sa.select(*_PROCEDURE_COLUMNS).select_from(_WITH_AGENCY)).all()


def list_procedures(conn: Connection, *, folded_q: str | None, agency: str | None, level: str | None,
                    page: int, per_page: int):
    where = [procedures.c.withdrawn_at.is_(None)]  # a withdrawn procedure is hidden from citizens
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


def seed_procedure(conn: Connection, **values) -> None:
    """The shipped file's upsert: a procedure the national catalogue sync took over (source "dvcqg") is left
    as the sync made it, so a redeploy's `manage migrate` does not undo the national catalogue."""
    stmt = _insert(conn, procedures).values(**values, source="seed")
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[procedures.c.code], set_={k: stmt.excluded[k] for k in values if k != "code"},
        where=procedures.c.source == "seed"))


# ---- the national catalogue sync (catalogue_sync.py) ---------------------------------------------
def list_catalogue_rows(conn: Connection):
    """Every procedure with what the sync compares, withdrawn ones included."""
    return conn.execute(sa.select(procedures).order_by(procedures.c.code)).all()


def list_agency_codes(conn: Connection) -> set[str]:
    return set(conn.execute(sa.select(agencies.c.code)).scalars())


def count_dossiers_by_procedure(conn: Connection, codes: list[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = conn.execute(sa.select(dossiers.c.procedure_code, sa.func.count()).where(
        dossiers.c.procedure_code.in_(codes)).group_by(dossiers.c.procedure_code)).all()
    return {code: count for code, count in rows}


def update_procedure(conn: Connection, code: str, **values) -> None:
    conn.execute(sa.update(procedures).where(procedures.c.code == code).values(**values))


def insert_procedure(conn: Connection, **values) -> None:
    conn.execute(sa.insert(procedures).values(**values))


def list_code_mappings(conn: Connection):
    return conn.execute(sa.select(procedure_code_map).order_by(procedure_code_map.c.national_code)).all()


def get_code_mapping_by_local(conn: Connection, local_code: str):
    return conn.execute(sa.select(procedure_code_map).where(procedure_code_map.c.local_code == local_code)).first()


def upsert_code_mapping(conn: Connection, **values) -> None:
    stmt = _insert(conn, procedure_code_map).values(**values)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[procedure_code_map.c.national_code],
        set_={k: stmt.excluded[k] for k in values if k != "national_code"}))


def delete_code_mapping(conn: Connection, national_code: str) -> bool:
    return conn.execute(sa.delete(procedure_code_map).where(
        procedure_code_map.c.national_code == national_code)).rowcount > 0


def insert_catalogue_run(conn: Connection, **values) -> int:
    return conn.execute(sa.insert(catalogue_runs).values(**values).returning(catalogue_runs.c.id)).scalar_one()


def get_catalogue_run(conn: Connection, run_id: int):
    return conn.execute(sa.select(catalogue_runs).where(catalogue_runs.c.id == run_id)).first()


def find_open_catalogue_run(conn: Connection):
    """The run an admin asked for that has not finished (requested or running), if any."""
    return conn.execute(sa.select(catalogue_runs).where(catalogue_runs.c.state.in_(("requested", "running")))
                        .order_by(catalogue_runs.c.id).limit(1)).first()


def find_requested_catalogue_run(conn: Connection):
    return conn.execute(sa.select(catalogue_runs).where(catalogue_runs.c.state == "requested")
                        .order_by(catalogue_runs.c.id).limit(1)).first()


def last_catalogue_run_started(conn: Connection):
    """When the latest run that started, started (the schedule counts from it)."""
    return conn.execute(sa.select(sa.func.max(catalogue_runs.c.started_at))).scalar()


def claim_catalogue_run(conn: Connection, run_id: int, now: datetime) -> bool:
    return conn.execute(sa.update(catalogue_runs).where(
        catalogue_runs.c.id == run_id, catalogue_runs.c.state == "requested").values(
        state="running", started_at=now)).rowcount == 1


def finish_catalogue_run(conn: Connection, run_id: int, **values) -> None:
    conn.execute(sa.update(catalogue_runs).where(catalogue_runs.c.id == run_id).values(**values))


def list_catalogue_runs(conn: Connection, *, limit: int, before: int | None = None):
    query = sa.select(catalogue_runs.c.id, catalogue_runs.c.trigger, catalogue_runs.c.requested_by,
                      catalogue_runs.c.full, catalogue_runs.c.state, catalogue_runs.c.requested_at,
                      catalogue_runs.c.started_at, catalogue_runs.c.finished_at, catalogue_runs.c.error,
                      catalogue_runs.c.summary)
    if before is not None:
        query = query.where(catalogue_runs.c.id < before)
    return conn.execute(query.order_by(catalogue_runs.c.id.desc()).limit(limit)).all()


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


def insert_timeline_once(conn: Connection, **values) -> bool:
    """A timeline entry keyed by what made it (`event_key`): a republished event adds no second one."""
    stmt = _insert(conn, dossier_timeline).values(**values).on_conflict_do_nothing(
        index_elements=[dossier_timeline.c.dossier_code, dossier_timeline.c.event_key])
    return conn.execute(stmt).rowcount == 1


def update_dossier(conn: Connection, code: str, *where, **values) -> bool:
    """UPDATE one dossier when every condition in `where` holds; True when it changed."""
    return conn.execute(dossiers.update().where(dossiers.c.code == code, *where).values(**values)).rowcount == 1


def advance_dossier(conn: Connection, code: str, seq: int, **values) -> bool:
    """Apply processing's news when `seq` is newer than the last applied; False for an older (or same) event."""
    return update_dossier(conn, code, dossiers.c.last_seq < seq, last_seq=seq, **values)


def get_dossier(conn: Connection, code: str):
    return conn.execute(sa.select(dossiers).where(dossiers.c.code == code)).first()


def get_dossier_status(conn: Connection, code: str) -> str | None:
    return conn.execute(sa.select(dossiers.c.status).where(dossiers.c.code == code)).scalar_one_or_none()


def list_timeline(conn: Connection, code: str):
    # By the moment each step happened: an event that arrives late still lands in its place.
    return conn.execute(
        sa.select(dossier_timeline.c.at, dossier_timeline.c.status, dossier_timeline.c.note, dossier_timeline.c.event_key)
        .where(dossier_timeline.c.dossier_code == code).order_by(dossier_timeline.c.at, dossier_timeline.c.id)
    ).all()


# ---- access tokens --------------------------------------------------------------------------------
_INSERT_TOKEN = access_tokens.insert()


def insert_access_token(conn: Connection, **values) -> None:
    conn.execute(_INSERT_TOKEN, values)


def find_live_token(conn: Connection, code: str, token_hash: str, moment: datetime):
    """The token row when `token_hash` is a live token of dossier `code` (not revoked, not expired)."""
    return conn.execute(
        sa.select(access_tokens.c.id, access_tokens.c.kind)
        .where(access_tokens.c.token_hash == token_hash, access_tokens.c.dossier_code == code,
               access_tokens.c.revoked_at.is_(None), access_tokens.c.expires_at > moment)
    ).first()


def revoke_surplus_lookup_tokens(conn: Connection, code: str, keep: int, moment: datetime) -> int:
    """Revoke the dossier's live lookup tokens beyond the newest `keep`; the filing token is never touched."""
    live = conn.execute(
        sa.select(access_tokens.c.id).where(access_tokens.c.dossier_code == code, access_tokens.c.kind == "lookup",
                                           access_tokens.c.revoked_at.is_(None), access_tokens.c.expires_at > moment)
        .order_by(access_tokens.c.id.desc())
    ).scalars().all()
    surplus = live[keep:]
    if surplus:
        conn.execute(access_tokens.update().where(access_tokens.c.id.in_(surplus)).values(revoked_at=moment))
    return len(surplus)


def revoke_tokens(conn: Connection, code: str, moment: datetime, *, token_id: int | None = None,
                  kind: str | None = None) -> int:
    where = [access_tokens.c.dossier_code == code, access_tokens.c.revoked_at.is_(None)]
    if token_id is not None:
        where.append(access_tokens.c.id == token_id)
    if kind is not None:
        where.append(access_tokens.c.kind == kind)
    return conn.execute(access_tokens.update().where(*where).values(revoked_at=moment)).rowcount


# ---- uploads ----------------------------------------------------------------------------------------
def insert_upload(conn: Connection, **values) -> None:
    conn.execute(uploads.insert(), values)


# Built once: statement construction costs more than running it on the filing path.
_GET_UPLOADS = sa.select(uploads.c.id, uploads.c.filename, uploads.c.sha256, uploads.c.size,
                         uploads.c.dossier_code).where(uploads.c.id.in_(sa.bindparam("ids", expanding=True)))
_ATTACH_UPLOADS = (uploads.update()
                   .where(uploads.c.id.in_(sa.bindparam("ids", expanding=True)), uploads.c.dossier_code.is_(None))
                   .values(dossier_code=sa.bindparam("code"), attached_at=sa.bindparam("moment")))


def get_uploads(conn: Connection, ids: list[str]) -> dict:
    if not ids:
        return {}
    return {row.id: row for row in conn.execute(_GET_UPLOADS, {"ids": ids})}


def attach_uploads(conn: Connection, code: str, documents: list[dict], moment: datetime) -> int:
    """Attach each upload to the dossier, only if still unattached; returns how many (the dossier's
    `documents` says which document each upload is).

    The `dossier_code IS NULL` condition makes a concurrent filing with the same upload attach fewer rows
    (PostgreSQL re-checks it after the other transaction commits; SQLite serialises writers).
    """
    if not documents:
        return 0
    return conn.execute(_ATTACH_UPLOADS, {"ids": [doc["upload_id"] for doc in documents], "code": code,
                                          "moment": moment}).rowcount


def delete_stale_uploads(conn: Connection, cutoff: datetime, limit: int = 500) -> list[str]:
    """Remove rows of uploads never attached and older than `cutoff`; returns their ids (files go after commit)."""
    ids = conn.execute(
        sa.select(uploads.c.id).where(uploads.c.dossier_code.is_(None), uploads.c.created_at < cutoff).limit(limit)
    ).scalars().all()
    if ids:
        # Re-checked in the DELETE: an upload attached since the SELECT stays.
        conn.execute(uploads.delete().where(uploads.c.id.in_(ids), uploads.c.dossier_code.is_(None)))
        still = set(conn.execute(sa.select(uploads.c.id).where(uploads.c.id.in_(ids))).scalars().all())
        ids = [i for i in ids if i not in still]
    return ids


# ---- supplement requests, ratings ---------------------------------------------------------------------
def insert_supplement_request(conn: Connection, **values) -> bool:
    stmt = _insert(conn, supplement_requests).values(**values).on_conflict_do_nothing(
        index_elements=[supplement_requests.c.dossier_code, supplement_requests.c.request_no])
    return conn.execute(stmt).rowcount == 1


def get_open_supplement_request(conn: Connection, code: str):
    return conn.execute(
        sa.select(supplement_requests).where(supplement_requests.c.dossier_code == code,
                                             supplement_requests.c.closed_at.is_(None))
        .order_by(supplement_requests.c.request_no.desc()).limit(1)
    ).first()


def close_supplement_requests(conn: Connection, code: str, moment: datetime, *, below_no: int | None = None) -> None:
    where = [supplement_requests.c.dossier_code == code, supplement_requests.c.closed_at.is_(None)]
    if below_no is not None:
        where.append(supplement_requests.c.request_no < below_no)
    conn.execute(supplement_requests.update().where(*where).values(closed_at=moment))


def mark_supplement_answered(conn: Connection, request_id: int, moment: datetime) -> bool:
    return conn.execute(
        supplement_requests.update().where(supplement_requests.c.id == request_id,
                                           supplement_requests.c.answered_at.is_(None),
                                           supplement_requests.c.closed_at.is_(None))
        .values(answered_at=moment)
    ).rowcount == 1


def insert_rating(conn: Connection, **values) -> bool:
    stmt = _insert(conn, ratings).values(**values).on_conflict_do_nothing(index_elements=[ratings.c.dossier_code])
    return conn.execute(stmt).rowcount == 1


def get_rating(conn: Connection, code: str):
    return conn.execute(sa.select(ratings.c.score, ratings.c.comment, ratings.c.rated_at)
                        .where(ratings.c.dossier_code == code)).first()


# ---- rate limits ------------------------------------------------------------------------------------
def hit_rate_limits(conn: Connection, buckets: list[str], moment: datetime, window: timedelta) -> dict:
    """Count one hit in each bucket's window (a new window when the last has ended), in one statement.

    Returns {bucket: (hits, window_started_at)}. The caller's transaction rolls back a refused request,
    so a refusal does not add to the count.
    """
    if not buckets:
        return {}
    cutoff = moment - window
    expired = rate_limits.c.window_started_at <= cutoff
    stmt = _insert(conn, rate_limits).values([{"bucket": b, "window_started_at": moment, "hits": 1} for b in buckets])
    stmt = stmt.on_conflict_do_update(
        index_elements=[rate_limits.c.bucket],
        set_={"hits": sa.case((expired, 1), else_=rate_limits.c.hits + 1),
              "window_started_at": sa.case((expired, moment), else_=rate_limits.c.window_started_at)},
    ).returning(rate_limits.c.bucket, rate_limits.c.hits, rate_limits.c.window_started_at)
    return {row.bucket: (row.hits, row.window_started_at) for row in conn.execute(stmt)}


def delete_ended_rate_limits(conn: Connection, cutoff: datetime) -> int:
    return conn.execute(rate_limits.delete().where(rate_limits.c.window_started_at <= cutoff)).rowcount


# ---- what other services report: payments and shipments ------------------------------------------------
def insert_payment(conn: Connection, **values) -> bool:
    """Store a payment order once per reference; False when it is already there (a repeated event)."""
    stmt = _insert(conn, dossier_payments).values(**values).on_conflict_do_nothing(
        index_elements=[dossier_payments.c.reference])
    return conn.execute(stmt).rowcount == 1


def update_payment(conn: Connection, reference: str, from_statuses: tuple[str, ...], **values) -> bool:
    """Move the order named by `reference` on, only from one of `from_statuses` (never back)."""
    return conn.execute(
        dossier_payments.update().where(dossier_payments.c.reference == reference,
                                        dossier_payments.c.status.in_(from_statuses)).values(**values)
    ).rowcount == 1


def get_payment(conn: Connection, reference: str):
    return conn.execute(sa.select(dossier_payments).where(dossier_payments.c.reference == reference)).first()


def get_shipment(conn: Connection, tracking_no: str):
    return conn.execute(sa.select(dossier_shipments).where(dossier_shipments.c.tracking_no == tracking_no)).first()


def update_shipment(conn: Connection, tracking_no: str, status: str, at: datetime, terminal: tuple[str, ...],
                    moment: datetime) -> bool:
    """Apply a carrier report unless the shipment already reached an end state or a later report was applied."""
    return conn.execute(
        dossier_shipments.update().where(
            dossier_shipments.c.tracking_no == tracking_no,
            dossier_shipments.c.status.not_in(terminal),
            sa.or_(dossier_shipments.c.last_event_at.is_(None), dossier_shipments.c.last_event_at <= at),
        ).values(status=status, last_event_at=at, updated_at=moment)
    ).rowcount == 1


def get_latest_payment(conn: Connection, code: str):
    return conn.execute(
        sa.select(dossier_payments.c.status, dossier_payments.c.amount_vnd, dossier_payments.c.qr_payload,
                  dossier_payments.c.expires_at, dossier_payments.c.paid_at, dossier_payments.c.refunded_at)
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


def list_agencies(conn: Connection):
    return conn.execute(sa.select(agencies.c.code, agencies.c.name).order_by(agencies.c.code)).all()


def fail_stale_catalogue_runs(conn: Connection, started_before: datetime, now: datetime) -> int:
    """A run still "running" long after it started died with its worker: it applied nothing (one transaction)."""
    return conn.execute(sa.update(catalogue_runs).where(
        catalogue_runs.c.state == "running", catalogue_runs.c.started_at < started_before).values(
        state="failed", finished_at=now, error="interrupted: the worker stopped during the run; nothing applied")
    ).rowcount
