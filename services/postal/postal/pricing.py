"""Quotes: the zone from the agency's address and the citizen's, the operator's price from the tariff in force
on the day, and what the citizen pays under the province's policy and the exemptions of Circular 22/2017.

The operator is always paid its whole price; the citizen pays the policy price (never more than the
operator's), less an exemption; the difference is the agency's subsidy. The fee-transfer service (the
postman collects the procedure fee, 8,000 VND in Khánh Hòa) is added to both prices when asked for: it is
a service the citizen chose, outside the public postal service the exemptions cover.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Connection

from . import queries, zones

SERVICES = ("collect", "return")
EXEMPTIONS = ("none", "free", "half")
MIN_WEIGHT_G, MAX_WEIGHT_G = 1, 30_000
VIETNAM = timezone(timedelta(hours=7))  # no daylight saving: a fixed offset is exact
EXEMPTION_RULES = {
    "none": "no exemption",
    "free": "Circular 22/2017/TT-BTTTT: free (pre-1945 revolutionaries, Heroic Mothers)",
    "half": "Circular 22/2017/TT-BTTTT: 50% off (heroes, war invalids, sick soldiers, Agent Orange victims, former "
            "prisoners, martyrs' families, poor households, especially disadvantaged areas)",
}


class QuoteError(ValueError):
    """A quote that cannot be given; `field` names the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Sender:
    """The agency's own address: where results leave from (and collected dossiers arrive)."""

    name: str
    address: str
    phone: str | None
    province: str
    commune: str


@dataclass(frozen=True)
class OperatorPrice:
    service: str
    zone: str
    weight_g: int
    on: date
    postage_vnd: int
    lines: list
    tariff_version: str
    fee_transfer_vnd: int | None


@dataclass(frozen=True)
class Quote:
    service: str
    weight_g: int
    on: date
    zone: str
    sender: dict
    recipient: dict
    exemption: str
    fee_transfer: bool
    operator_vnd: int
    citizen_vnd: int
    subsidy_vnd: int
    tariff_version: str
    citizen_policy: str | None
    zoning_version: str
    breakdown: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def today() -> date:
    """Tariffs change at midnight in Vietnam, not in UTC."""
    return datetime.now(VIETNAM).date()


def _vnd(amount: int) -> str:
    return f"{amount:,} VND"


def postage(rates, weight_g: int) -> tuple[int, list[dict]]:
    """Price of one item from (kind, weight_g, price_vnd) lines: the first band that holds the weight; past the
    heaviest band, its price plus one step for every started step_g (501 g to 1,000 g is one step, 1,001 g two)."""
    bands = sorted((r.weight_g, r.price_vnd) for r in rates if r.kind == "band")
    lower = 0
    for up_to, price in bands:
        if weight_g <= up_to:
            return price, [{"item": "band", "rule": f"{lower + 1}–{up_to} g", "vnd": price}]
        lower = up_to
    steps = [r for r in rates if r.kind == "step"]
    if not bands or not steps:
        raise QuoteError("weight_g", f"Biểu giá không có mức cho khối lượng này (the tariff has no price above {bands[-1][0] if bands else 0} g)")
    heaviest, base = bands[-1]
    step_g, step_price = steps[0].weight_g, steps[0].price_vnd
    started_steps = -(-(weight_g - heaviest) // step_g)  # ceiling division
    return base + started_steps * step_price, [
        {"item": "band", "rule": f"{bands[-2][0] + 1 if len(bands) > 1 else 1}–{heaviest} g", "vnd": base},
        {"item": "steps", "rule": f"{started_steps} × {_vnd(step_price)} per started {step_g} g above {heaviest} g"
                                  f" ({weight_g} g)", "vnd": started_steps * step_price},
    ]


def _check(service: str, weight_g: int, exemption: str = "none") -> None:
    if service not in SERVICES:
        raise QuoteError("service", f"Dịch vụ không hợp lệ: {service!r} (unknown service; one of {', '.join(SERVICES)})")
    if not MIN_WEIGHT_G <= weight_g <= MAX_WEIGHT_G:
        raise QuoteError("weight_g", f"Khối lượng {weight_g} g ngoài phạm vi {MIN_WEIGHT_G}–{MAX_WEIGHT_G:,} g (weight out of range)")
    if exemption not in EXEMPTIONS:
        raise QuoteError("exemption", f"Đối tượng miễn giảm không hợp lệ: {exemption!r} (unknown exemption; one of {', '.join(EXEMPTIONS)})")


def operator_price(conn: Connection, service: str, zone: str, weight_g: int, *, on: date | None = None) -> OperatorPrice:
    """One item of `service` over `zone`, from the operator tariff in force on `on` (today in Vietnam)."""
    on = on or today()
    _check(service, weight_g)
    version = queries.find_tariff_version(conn, on)
    if version is None:
        raise QuoteError("on", f"Chưa có biểu giá bưu chính áp dụng ngày {on.strftime('%d/%m/%Y')} (no postal tariff in force on {on.isoformat()})")
    rates = queries.list_rates(conn, version.id, service, zone)
    if not rates:
        known = queries.list_zones(conn, version.id)
        raise QuoteError("zone", f"unknown zone {zone!r}; tariff {version.code} has {', '.join(known)}")
    price, lines = postage(rates, weight_g)
    return OperatorPrice(service, zone, weight_g, on, price, lines, version.code, version.fee_transfer_vnd)


def quote(conn: Connection, *, service: str, province: str, commune: str, weight_g: int, sender: Sender,
          exemption: str = "none", fee_transfer: bool = False, on: date | None = None) -> Quote:
    """Zone from the sender's and the recipient's addresses, then both prices with every version used."""
    on = on or today()
    _check(service, weight_g, exemption)
    try:
        zoning = zones.zoning_on(on)
        recipient = zoning.place(province, commune)
        origin = zoning.place(sender.province, sender.commune)
    except zones.AddressError as exc:
        raise QuoteError(exc.field, exc.message) from None
    zone = zoning.zone(origin, recipient)
    price = operator_price(conn, service, zone, weight_g, on=on)
    if fee_transfer and price.fee_transfer_vnd is None:
        raise QuoteError("fee_transfer", f"Biểu giá {price.tariff_version} không có dịch vụ thu hộ phí (no fee-transfer service)")
    transfer_vnd = price.fee_transfer_vnd if fee_transfer else 0

    policy = queries.find_citizen_policy(conn, on)
    if policy is None:
        # Without a provincial policy the applicant pays the operator's price (Decision 45/2016/QĐ-TTg).
        citizen_postage, policy_rule = price.postage_vnd, "no citizen price policy: the operator's price"
    else:
        citizen_postage = min(policy.price_vnd, price.postage_vnd)
        policy_rule = f"{policy.code}: {_vnd(policy.price_vnd)} per dossier per direction (at most the operator's price)"
    # 50% off: the citizen pays the larger half of an odd amount, so the agency never pays a fraction.
    exempted = {"none": 0, "free": citizen_postage, "half": citizen_postage // 2}[exemption]
    citizen_vnd = citizen_postage - exempted + transfer_vnd
    operator_vnd = price.postage_vnd + transfer_vnd

    operator_lines = [{**line, "rule": f"{service}, {zone}, {line['rule']}"} for line in price.lines]
    citizen_lines = [{"item": "postage", "rule": policy_rule, "vnd": citizen_postage}]
    if exemption != "none":
        citizen_lines.append({"item": "exemption", "rule": EXEMPTION_RULES[exemption], "vnd": -exempted})
    if fee_transfer:
        line = {"item": "fee_transfer", "rule": "the postman collects the procedure fee", "vnd": transfer_vnd}
        operator_lines.append(line)
        citizen_lines.append(line)
    breakdown = {
        "zone_rule": f"{origin.commune}, {origin.province} ({origin.region}) -> {recipient.commune},"
                     f" {recipient.province} ({recipient.region}): {zone}",
        "operator": operator_lines,
        "citizen": citizen_lines,
        "subsidy": {"rule": "operator price − citizen price, paid by the agency", "vnd": operator_vnd - citizen_vnd},
        "versions": {"tariff": price.tariff_version, "citizen_policy": policy.code if policy else None,
                     "zoning": zoning.code},
    }
    return Quote(
        service=service, weight_g=weight_g, on=on, zone=zone,
        sender={"province": origin.province, "commune": origin.commune, "region": origin.region},
        recipient={"province": recipient.province, "commune": recipient.commune, "region": recipient.region},
        exemption=exemption, fee_transfer=fee_transfer, operator_vnd=operator_vnd, citizen_vnd=citizen_vnd,
        subsidy_vnd=operator_vnd - citizen_vnd, tariff_version=price.tariff_version,
        citizen_policy=policy.code if policy else None, zoning_version=zoning.code, breakdown=breakdown,
    )
