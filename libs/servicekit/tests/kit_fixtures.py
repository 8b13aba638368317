"""A tiny service built on the kit, for the kit's own tests: one table, one event type each way."""
from __future__ import annotations

import sqlalchemy as sa
from marshmallow import Schema, fields

from servicekit.config import KitSettings
from servicekit.consumer import Subscription
from servicekit.events import Catalog
from servicekit.outbox import record_event
from servicekit.tables import add_kit_tables

metadata = sa.MetaData()
outbox, inbox, idempotency = add_kit_tables(metadata)
effects = sa.Table(
    "effects", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(50), nullable=False),
)


class ThingSchema(Schema):
    code = fields.String(required=True)


catalog = Catalog("kittest")
THING_HAPPENED = catalog.add("thing.happened.v1", ThingSchema, {"code": "A-1"}, "a thing happened")


def make_settings(amqp_url: str, db_url: str, **overrides) -> KitSettings:
    base = KitSettings.from_env("kittest")
    values = {**base.__dict__, "amqp_url": amqp_url, "database_url": db_url, "relay_doorbell": None,
              "retry_delays_ms": (100, 200), "reconnect_max_seconds": 1.0,
              "relay_settle_seconds": 0.2}  # a throwaway vhost has no topology marker: do not wait long
    values.update(overrides)
    return KitSettings(**values)


def subscription(handler) -> Subscription:
    return Subscription(catalog, {"thing.happened.v1": handler})


def record_things(db, codes):
    with db.transaction() as conn:
        for code in codes:
            record_event(conn, outbox, THING_HAPPENED, {"code": code}, source="kittest", subject=code)


def count(db, table, *where):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


def write_effect(conn, envelope, data):
    conn.execute(effects.insert().values(code=data["code"]))
