"""Reference data: the operator tariff and the citizen price policy from postal/data/tariffs.json."""
from __future__ import annotations

import json
import os
from datetime import date

from servicekit.db import Database
from servicekit.tables import now

from . import queries

TARIFFS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tariffs.json")


def tariff_rate_rows(version_id: int, tariff: dict) -> list[dict]:
    rows = []
    for service, zones in tariff["services"].items():
        for zone, lines in zones.items():
            for up_to, price in lines["bands"].items():
                rows.append({"version_id": version_id, "service": service, "zone": zone,
                             "kind": "band", "weight_g": int(up_to), "price_vnd": price})
            rows.append({"version_id": version_id, "service": service, "zone": zone,
                         "kind": "step", "weight_g": tariff["step_g"], "price_vnd": lines["step"]})
    return rows


def seed_reference_data(db: Database, path: str = TARIFFS_FILE) -> dict:
    """Load what is missing; idempotent. A published version is never edited in place: a new price list
    ships as a new version with its own code and effective date, so past quotes stay explainable."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    counts = {"tariff_versions": 0, "tariff_rates": 0, "citizen_price_policies": 0}
    with db.transaction() as conn:
        for tariff in data["operator_tariffs"]:
            if queries.get_tariff_version_id(conn, tariff["code"]) is not None:
                continue
            version_id = queries.insert_tariff_version(
                conn, code=tariff["code"], effective_from=date.fromisoformat(tariff["effective_from"]),
                source=tariff["source"], created_at=now(),
            )
            rows = tariff_rate_rows(version_id, tariff)
            queries.insert_tariff_rates(conn, rows)
            counts["tariff_versions"] += 1
            counts["tariff_rates"] += len(rows)
        for policy in data["citizen_price_policies"]:
            if queries.citizen_policy_exists(conn, policy["code"]):
                continue
            queries.insert_citizen_policy(
                conn, code=policy["code"], effective_from=date.fromisoformat(policy["effective_from"]),
                price_vnd=policy["price_vnd"], source=policy["source"], created_at=now(),
            )
            counts["citizen_price_policies"] += 1
    return counts
