"""Quotes from the seeded VNPost tariff (DOMAIN.md) and the Hà Tĩnh citizen price policy."""
from datetime import date

import pytest

from servicekit.tables import now

from postal import pricing, queries
from postal.seed import tariff_rate_rows

ZONES = ("intra_district", "intra_province", "intra_region", "inter_region")
# DOMAIN.md's table, column by column: ≤100 g, ≤250 g, ≤500 g, each further 500 g.
TABLE = {
    "collect": {"intra_district": (26000, 26000, 26500, 2200), "intra_province": (30000, 30000, 30500, 2900),
                "intra_region": (30500, 31000, 32500, 3600), "inter_region": (31000, 34000, 38000, 6300)},
    "return": {"intra_district": (26000, 27000, 28500, 2200), "intra_province": (30000, 31000, 32500, 2900),
               "intra_region": (30500, 32000, 34500, 3600), "inter_region": (31000, 35000, 40000, 6300)},
}
DAY = date(2026, 11, 24)


def quote(db, service, zone, weight_g, on=DAY):
    with db.transaction(readonly=True) as conn:
        return pricing.quote(conn, service, zone, weight_g, on=on)


@pytest.mark.parametrize("service", TABLE)
@pytest.mark.parametrize("zone", ZONES)
def test_every_cell_of_the_tariff_table_is_quoted_at_its_band_edges(seeded_db, service, zone):
    le100, le250, le500, step = TABLE[service][zone]
    expected = {1: le100, 100: le100, 101: le250, 250: le250, 251: le500, 500: le500,
                501: le500 + step, 1000: le500 + step, 1001: le500 + 2 * step, 2600: le500 + 5 * step}
    assert {w: quote(seeded_db, service, zone, w).operator_vnd for w in expected} == expected


def test_600_g_returned_to_another_region_is_one_started_step_above_500_g(seeded_db):
    assert quote(seeded_db, "return", "inter_region", 600).operator_vnd == 40000 + 6300


def test_citizen_pays_the_provincial_price_per_direction_whatever_the_operator_charges(seeded_db):
    for service in ("collect", "return"):
        result = quote(seeded_db, service, "inter_region", 1500)
        assert (result.citizen_vnd, result.citizen_policy, result.tariff_version) == (10000, "ha-tinh-2022", "vnpost-2021")


def test_before_any_citizen_policy_the_citizen_pays_the_operator_price(seeded_db):
    result = quote(seeded_db, "return", "intra_district", 100, on=date(2021, 6, 1))
    assert (result.operator_vnd, result.citizen_vnd, result.citizen_policy) == (26000, 26000, None)


def test_the_tariff_in_force_on_the_day_prices_the_quote(seeded_db):
    with seeded_db.transaction() as conn:
        later = queries.insert_tariff_version(conn, code="vnpost-2027", effective_from=date(2027, 1, 1),
                                              source="test: a later price list", created_at=now())
        tariff = {"step_g": 500, "services": {"return": {"inter_region": {"bands": {"500": 45000}, "step": 7000}}}}
        queries.insert_tariff_rates(conn, tariff_rate_rows(later, tariff))
    assert quote(seeded_db, "return", "inter_region", 600, on=date(2026, 12, 31)).operator_vnd == 46300
    newer = quote(seeded_db, "return", "inter_region", 600, on=date(2027, 1, 1))
    assert (newer.operator_vnd, newer.tariff_version) == (52000, "vnpost-2027")


@pytest.mark.parametrize("service, zone, weight_g, on, field", [
    ("express", "inter_region", 100, DAY, "service"),
    ("return", "moon", 100, DAY, "zone"),
    ("return", "inter_region", 0, DAY, "weight_g"),
    ("return", "inter_region", 100, date(2020, 12, 31), "on"),
])
def test_a_quote_that_cannot_be_given_names_the_input_at_fault(seeded_db, service, zone, weight_g, on, field):
    with pytest.raises(pricing.QuoteError) as caught:
        quote(seeded_db, service, zone, weight_g, on=on)
    assert caught.value.field == field
