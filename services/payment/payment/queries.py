"""Every read and write of payment's tables, as plain functions taking a connection."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from .models import payment_orders


def get_order(conn: Connection, dossier_code: str, agency: str | None = None):
    query = sa.select(payment_orders).where(payment_orders.c.dossier_code == dossier_code)
    if agency is not None:
        query = query.where(payment_orders.c.agency_code == agency)
    return conn.execute(query).first()


def insert_order(conn: Connection, **values) -> int:
    return conn.execute(payment_orders.insert().values(**values)).inserted_primary_key[0]
