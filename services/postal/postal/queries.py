"""Every read and write of postal's tables, as plain functions taking a connection."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy import Connection

from .models import citizen_price_policies, shipments, tariff_rates, tariff_versions


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


def find_tariff_version(conn: Connection, on: date):
    return conn.execute(
        sa.select(tariff_versions).where(tariff_versions.c.effective_from <= on)
        .order_by(tariff_versions.c.effective_from.desc()).limit(1)
    ).first()


def find_citizen_policy(conn: Connection, on: date):
    return conn.execute(
        sa.select(citizen_price_policies).where(citizen_price_policies.c.effective_from <= on)
        .order_by(citizen_price_policies.c.effective_from.desc()).limit(1)
    ).first()


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
