"""Quotes: the operator's price from the tariff in force on a day, and what the citizen pays under the policy."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Connection

from . import queries

SERVICES = ("collect", "return")
VIETNAM = timezone(timedelta(hours=7))  # no daylight saving: a fixed offset is exact


class QuoteError(ValueError):
    """A quote that cannot be given; `field` names the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Quote:
    service: str
    zone: str
    weight_g: int
    on: date
    operator_vnd: int
    citizen_vnd: int
    tariff_version: str
    citizen_policy: str | None


def today() -> date:
    """Tariffs change at midnight in Vietnam, not in UTC."""
    return datetime.now(VIETNAM).date()


def operator_price(rates, weight_g: int) -> int:
    """Price of one item from (kind, weight_g, price_vnd) lines: the first band that holds the weight; past the
    heaviest band, its price plus one step for every started step_g (501 g to 1,000 g is one step, 1,001 g two)."""
    bands = sorted((r.weight_g, r.price_vnd) for r in rates if r.kind == "band")
    for up_to, price in bands:
        if weight_g <= up_to:
            return price
    steps = [r for r in rates if r.kind == "step"]
    if not bands or not steps:
        raise QuoteError("weight_g", f"the tariff has no price above {bands[-1][0] if bands else 0} g")
    heaviest, base = bands[-1]
    step_g, step_price = steps[0].weight_g, steps[0].price_vnd
    started_steps = -(-(weight_g - heaviest) // step_g)  # ceiling division
    return base + started_steps * step_price


def quote(conn: Connection, service: str, zone: str, weight_g: int, *, on: date | None = None) -> Quote:
    """One item of `service` over `zone`, priced with the tariff and citizen policy in force on `on` (today)."""
    on = on or today()
    if service not in SERVICES:
        raise QuoteError("service", f"service must be one of {', '.join(SERVICES)}")
    if weight_g < 1:
        raise QuoteError("weight_g", "weight_g must be at least 1 gram")
    version = queries.find_tariff_version(conn, on)
    if version is None:
        raise QuoteError("on", f"no postal tariff in force on {on.isoformat()}")
    rates = queries.list_rates(conn, version.id, service, zone)
    if not rates:
        zones = queries.list_zones(conn, version.id)
        raise QuoteError("zone", f"unknown zone {zone!r}; tariff {version.code} has {', '.join(zones)}")
    operator_vnd = operator_price(rates, weight_g)
    policy = queries.find_citizen_policy(conn, on)
    # Without a provincial policy the applicant pays the operator's price (Decision 45/2016/QĐ-TTg).
    citizen_vnd = policy.price_vnd if policy is not None else operator_vnd
    return Quote(service, zone, weight_g, on, operator_vnd, citizen_vnd, version.code, policy.code if policy else None)
