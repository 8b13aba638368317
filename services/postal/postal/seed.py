"""Reference data: the operator tariff and the citizen price policy from postal/data/tariffs.json."""
from __future__ import annotations

import json
import os
from datetime import date

from servicekit.db import Database
from servicekit.tables import now

from . import queries, zones
from .models import citizen_price_policies, tariff_versions

TARIFFS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tariffs.json")


def tariff_rate_rows(version_id: int, tariff: dict) -> list[dict]:
    rows = []
    for service, by_zone in tariff["services"].items():
        for zone, lines in by_zone.items():
            for up_to, price in lines["bands"].items():
                rows.append({"version_id": version_id, "service": service, "zone": zone,
                             "kind": "band", "weight_g": int(up_to), "price_vnd": price})
            rows.append({"version_id": version_id, "service": service, "zone": zone,
                         "kind": "step", "weight_g": tariff["step_g"], "price_vnd": lines["step"]})
    return rows


class OverlappingVersions(ValueError):
    """Two versions of a tariff or a citizen policy would be in force on the same day."""


def _period(entry: dict) -> tuple[str, date, date | None]:
    end = entry.get("effective_to")
    period = (entry["code"], date.fromisoformat(entry["effective_from"]), date.fromisoformat(end) if end else None)
    if period[2] is not None and period[2] < period[1]:
        raise OverlappingVersions(f"version {period[0]} ends before it starts")
    return period


def _check_periods(conn, table, entries: list[dict]) -> None:
    """The file's versions with those already stored (a code keeps its start; its end may be set once)."""
    periods = {code: (code, start, end) for code, start, end in queries.version_periods(conn, table)}
    for entry in entries:
        code, start, end = _period(entry)
        stored = periods.get(code)
        if stored is not None and (stored[1] != start or (stored[2] is not None and stored[2] != end)):
            raise OverlappingVersions(f"version {code} is published; only an open end may be given a date")
        periods[code] = (code, start, end)
    try:
        zones.check_no_overlap(list(periods.values()))
    except ValueError as exc:
        raise OverlappingVersions(f"{table.name}: {exc}") from None


def seed_reference_data(db: Database, path: str = TARIFFS_FILE) -> dict:
    """Load what is missing; idempotent. A published version is never edited in place: a new price list
    ships as a new version with its own code and dates, and the one before it gets its last day, so past
    quotes stay explainable. Versions whose dates overlap are refused, and nothing is loaded."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    counts = {"tariff_versions": 0, "tariff_rates": 0, "citizen_price_policies": 0}
    with db.transaction() as conn:
        _check_periods(conn, tariff_versions, data["operator_tariffs"])
        _check_periods(conn, citizen_price_policies, data["citizen_price_policies"])
        for tariff in data["operator_tariffs"]:
            code, start, end = _period(tariff)
            if queries.get_tariff_version_id(conn, code) is not None:
                if end is not None:
                    queries.close_version(conn, tariff_versions, code, end)
                continue
            version_id = queries.insert_tariff_version(
                conn, code=code, effective_from=start, effective_to=end, source=tariff["source"],
                fee_transfer_vnd=tariff.get("fee_transfer_vnd"), created_at=now(),
            )
            rows = tariff_rate_rows(version_id, tariff)
            queries.insert_tariff_rates(conn, rows)
            counts["tariff_versions"] += 1
            counts["tariff_rates"] += len(rows)
        for policy in data["citizen_price_policies"]:
            code, start, end = _period(policy)
            if queries.citizen_policy_exists(conn, code):
                if end is not None:
                    queries.close_version(conn, citizen_price_policies, code, end)
                continue
            queries.insert_citizen_policy(
                conn, code=code, effective_from=start, effective_to=end, price_vnd=policy["price_vnd"],
                source=policy["source"], created_at=now(),
            )
            counts["citizen_price_policies"] += 1
    return counts
