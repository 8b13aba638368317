"""`python -m <service>.manage ...`: migrate and seed, declare the broker topology, replay dead letters, and
decide about outbox rows no queue takes (`unroutable list|requeue|discard`, docs/operations-queues.md)."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Callable

import pika
import sqlalchemy as sa

from .config import KitSettings
from .consumer import Subscription, replay_dead_letters
from .db import Database
from .logs import configure_logging
from .migrate import upgrade
from .outbox import discard_unroutable, requeue_unroutable, unroutable_rows
from .topology import ServiceQueues, connection_parameters, declare_exchanges, declare_marker, declare_service_queues

log = logging.getLogger(__name__)


def declare_topology(kit: KitSettings, subscription: Subscription | None) -> None:
    connection = pika.BlockingConnection(connection_parameters(kit.amqp_url, name=f"{kit.service}-manage"))
    try:
        channel = connection.channel()
        if subscription:
            declare_service_queues(
                channel, ServiceQueues(kit.service, kit.retry_delays_ms), subscription.bindings,
                delivery_limit=kit.delivery_limit,
            )
        else:
            declare_exchanges(channel)
        # Deployments run this for every service before relays start; the marker tells relays that the queues
        # are there (a relay that finds no marker waits for consumers first: outbox.py).
        declare_marker(channel)
    finally:
        connection.close()


def manage_unroutable(kit: KitSettings, args) -> dict:
    db = Database(kit.database_url)
    try:
        outbox = sa.Table("outbox", sa.MetaData(), autoload_with=db.engine)
        if args.action == "list":
            rows = unroutable_rows(db, outbox, older_than_seconds=args.older_than)
            return {"service": kit.service, "unroutable": [
                {"id": r.id, "event_id": r.event_id, "type": r.type, "routing_key": r.routing_key,
                 "created_at": r.created_at.isoformat() if r.created_at else None,
                 "first_returned_at": r.first_returned_at.isoformat() if r.first_returned_at else None,
                 "attempts": r.attempts, "last_error": r.last_error} for r in rows]}
        if args.action == "requeue":
            return {"service": kit.service, "requeued": requeue_unroutable(db, outbox, args.id or None)}
        if not args.id or not args.reason:
            raise SystemExit("discard needs --id (one or more) and --reason")
        return {"service": kit.service, "discarded": discard_unroutable(db, outbox, args.id, reason=args.reason)}
    finally:
        db.dispose()


def run_manage(
    argv: list[str] | None,
    *,
    kit: KitSettings,
    migrations_dir: str,
    seed: Callable[[Database], dict] | None,
    subscription: Subscription | None,
) -> int:
    configure_logging(kit.service, kit.log_level)
    parser = argparse.ArgumentParser(prog=f"python -m {kit.service}.manage")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply migrations, load reference data, declare queues (if the broker is up)")
    sub.add_parser("seed", help="load reference data only")
    sub.add_parser("declare", help="declare exchanges and this service's queues")
    replay = sub.add_parser("replay-dead", help=f"move {kit.service}.events.dead back to {kit.service}.events")
    replay.add_argument("--limit", type=int, default=None)
    unroutable = sub.add_parser("unroutable", help="outbox rows the broker returned: no queue is bound for them")
    unroutable.add_argument("action", choices=("list", "requeue", "discard"))
    unroutable.add_argument("--id", type=int, action="append", help="a row id (repeat for several)")
    unroutable.add_argument("--reason", help="why the rows are discarded (kept on the row)")
    unroutable.add_argument("--older-than", type=float, default=0.0, help="list: first returned at least this many s ago")
    args = parser.parse_args(argv)

    if args.command in ("migrate", "seed"):
        if args.command == "migrate":
            upgrade(migrations_dir, kit.database_url)
        if seed:
            db = Database(kit.database_url)
            print(json.dumps({"service": kit.service, "seeded": seed(db)}, ensure_ascii=False))
            db.dispose()
        if args.command == "migrate":
            try:
                declare_topology(kit, subscription)
            except pika.exceptions.AMQPError as exc:
                # Not fatal: the worker declares the same topology when it connects.
                print(f"{kit.service}: broker not reachable, queues will be declared by the worker ({exc!r})", file=sys.stderr)
        return 0
    if args.command == "declare":
        declare_topology(kit, subscription)
        return 0
    if args.command == "unroutable":
        print(json.dumps(manage_unroutable(kit, args), ensure_ascii=False))
        return 0
    if args.command == "replay-dead":
        moved = replay_dead_letters(kit, limit=args.limit)
        print(json.dumps({"service": kit.service, "replayed": moved}))
        return 0
    return 2
