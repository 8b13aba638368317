"""Every read and write of postal's tables, as plain functions taking a connection."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy import Connection

from .models import citizen_price_policies, shipments, tariff_rates, tariff_versions, tracking_events


def get_shipment(conn: Connection, dossier_code: str, agency: str | None = None):
    query = sa.select(shipments).where(shipments.c.dossier_code == dossier_code)
    if agency is not None:
        query = query.where(shipments.c.agency_code == agency)
    return conn.execute(query).first()


def next_shipment_id(conn: Connection) -> int:
    """The id the next shipment will have, known before the insert because its tracking number is built from it."""
    if conn.dialect.name == "postgresql":
        return conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence('shipments', 'id'))")).scalar_one()
    # SQLite: writers open with BEGIN IMMEDIATE (servicekit.db), so no other writer can take this id meanwhile.
    return conn.execute(sa.select(sa.func.coalesce(sa.func.max(shipments.c.id), 0) + 1)).scalar_one()


def insert_shipment(conn: Connection, **values) -> int:
    return conn.execute(shipments.insert().values(**values)).inserted_primary_key[0]


def _in_force(table: sa.Table, on: date):
    """The version whose dates hold `on` (seeding refuses versions that share a day, so at most one does)."""
    return (
        sa.select(table)
        .where(table.c.effective_from <= on, sa.or_(table.c.effective_to.is_(None), table.c.effective_to >= on))
        .order_by(table.c.effective_from.desc()).limit(1)
    )


def find_tariff_version(conn: Connection, on: date):
    return conn.execute(_in_force(tariff_versions, on)).first()


def find_citizen_policy(conn: Connection, on: date):
    return conn.execute(_in_force(citizen_price_policies, on)).first()


def version_periods(conn: Connection, table: sa.Table) -> list[tuple[str, date, date | None]]:
    rows = conn.execute(sa.select(table.c.code, table.c.effective_from, table.c.effective_to)).all()
    return [(r.code, r.effective_from, r.effective_to) for r in rows]


def close_version(conn: Connection, table: sa.Table, code: str, effective_to: date) -> None:
    """Gives an open-ended version its last day, the one change a published version may get."""
    conn.execute(table.update().where(table.c.code == code, table.c.effective_to.is_(None))
                 .values(effective_to=effective_to))


def get_version(conn: Connection, table: sa.Table, code: str):
    return conn.execute(sa.select(table).where(table.c.code == code)).first()


# ---- shipments -----------------------------------------------------------------------------------

def get_shipment_for_update(conn: Connection, dossier_code: str):
    """The dossier's shipment, locked on PostgreSQL until the transaction ends (SQLite writers are serial)."""
    query = sa.select(shipments).where(shipments.c.dossier_code == dossier_code)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def get_shipment_by_tracking_for_update(conn: Connection, tracking_no: str):
    query = sa.select(shipments).where(shipments.c.tracking_no == tracking_no)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def update_shipment(conn: Connection, shipment_id: int, **values) -> None:
    conn.execute(shipments.update().where(shipments.c.id == shipment_id).values(**values))


def insert_tracking_event(conn: Connection, **values) -> bool:
    """False when a carrier report with this event_id is already recorded (a duplicate)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(tracking_events).values(**values)
    if values.get("event_id") is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["event_id"])
    return conn.execute(statement).rowcount == 1


def list_tracking_events(conn: Connection, shipment_id: int):
    return conn.execute(
        sa.select(tracking_events).where(tracking_events.c.shipment_id == shipment_id)
        .order_by(tracking_events.c.id)
    ).all()


def shipments_dispatched_between(conn: Connection, agency: str, start, end):
    return conn.execute(
        sa.select(shipments).where(
            shipments.c.agency_code == agency, shipments.c.dispatched_at >= start, shipments.c.dispatched_at < end,
        ).order_by(shipments.c.dispatched_at, shipments.c.id)
    ).all()


def count_stuck(conn: Connection, statuses: tuple[str, ...], before) -> dict[str, int]:
    """Open shipments, by status, whose last news is older than `before`."""
    rows = conn.execute(
        sa.select(shipments.c.status, sa.func.count()).where(
            shipments.c.status.in_(statuses), shipments.c.updated_at < before,
        ).group_by(shipments.c.status)
    ).all()
    return {status: count for status, count in rows}


def list_rates(conn: Connection, version_id: int, service: str, zone: str):
    return conn.execute(
        sa.select(tariff_rates.c.kind, tariff_rates.c.weight_g, tariff_rates.c.price_vnd)
        .where(tariff_rates.c.version_id == version_id, tariff_rates.c.service == service, tariff_rates.c.zone == zone)
        .order_by(tariff_rates.c.kind, tariff_rates.c.weight_g)
    ).all()


def list_zones(conn: Connection, version_id: int) -> list[str]:
    return list(conn.execute(
        sa.select(tariff_rates.c.zone).where(tariff_rates.c.version_id == version_id).distinct().order_by(tariff_rates.c.zone)
    ).scalars())


def get_tariff_version_id(conn: Connection, code: str) -> int | None:
    return conn.execute(sa.select(tariff_versions.c.id).where(tariff_versions.c.code == code)).scalar_one_or_none()


def insert_tariff_version(conn: Connection, **values) -> int:
    return conn.execute(tariff_versions.insert().values(**values)).inserted_primary_key[0]


def insert_tariff_rates(conn: Connection, rows: list[dict]) -> None:
    conn.execute(tariff_rates.insert(), rows)


def citizen_policy_exists(conn: Connection, code: str) -> bool:
    found = conn.execute(sa.select(citizen_price_policies.c.id).where(citizen_price_policies.c.code == code)).first()
    return found is not None


def insert_citizen_policy(conn: Connection, **values) -> None:
    conn.execute(citizen_price_policies.insert().values(**values))
