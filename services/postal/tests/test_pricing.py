"""Quotes from the seeded VNPost tariff (DOMAIN.md, Đà Nẵng 2021), addresses, exemptions and versions by date."""
import json
from datetime import date

import pytest

from servicekit.tables import now

from postal import pricing, queries
from postal.seed import OverlappingVersions, seed_reference_data, tariff_rate_rows

from .conftest import DA_NANG_SENDER

ZONES = ("intra_district", "intra_province", "intra_region", "inter_region")
# DOMAIN.md's table, column by column: ≤100 g, ≤250 g, ≤500 g, each further 500 g.
TABLE = {
    "collect": {"intra_district": (26000, 26000, 26500, 2200), "intra_province": (30000, 30000, 30500, 2900),
                "intra_region": (30500, 31000, 32500, 3600), "inter_region": (31000, 34000, 38000, 6300)},
    "return": {"intra_district": (26000, 27000, 28500, 2200), "intra_province": (30000, 31000, 32500, 2900),
               "intra_region": (30500, 32000, 34500, 3600), "inter_region": (31000, 35000, 40000, 6300)},
}
DAY = date(2026, 11, 24)
# A recipient in each zone from the Đà Nẵng agency (Phường Hải Châu, inner city, Miền Trung).
RECIPIENT_IN = {
    "intra_district": ("Thành phố Đà Nẵng", "Phường Sơn Trà"),  # another inner-city ward
    "intra_province": ("Đà Nẵng", "Phường Hội An"),  # the old Quảng Nam, now in Đà Nẵng
    "intra_region": ("Tỉnh Khánh Hòa", "Phường Nha Trang"),
    "inter_region": ("Hà Nội", "Phường Hoàn Kiếm"),
}


def zone_price(db, service, zone, weight_g, on=DAY):
    with db.transaction(readonly=True) as conn:
        return pricing.operator_price(conn, service, zone, weight_g, on=on)


def quote(db, service="return", zone="inter_region", weight_g=100, on=DAY, **kwargs):
    province, commune = RECIPIENT_IN[zone]
    with db.transaction(readonly=True) as conn:
        return pricing.quote(conn, service=service, province=province, commune=commune, weight_g=weight_g,
                             sender=DA_NANG_SENDER, on=on, **kwargs)


@pytest.mark.parametrize("service", TABLE)
@pytest.mark.parametrize("zone", ZONES)
def test_every_cell_of_the_da_nang_table_is_quoted_at_its_band_edges(seeded_db, service, zone):
    le100, le250, le500, step = TABLE[service][zone]
    expected = {1: le100, 100: le100, 101: le250, 250: le250, 251: le500, 500: le500,
                501: le500 + step, 1000: le500 + step, 1001: le500 + 2 * step, 1200: le500 + 2 * step,
                2600: le500 + 5 * step}
    assert {w: zone_price(seeded_db, service, zone, w).postage_vnd for w in expected} == expected


@pytest.mark.parametrize("service", TABLE)
@pytest.mark.parametrize("zone", ZONES)
def test_each_band_is_reached_from_a_real_address_in_its_zone(seeded_db, service, zone):
    le100, le250, le500, step = TABLE[service][zone]
    for weight_g, expected in ((80, le100), (200, le250), (450, le500), (1200, le500 + 2 * step)):
        result = quote(seeded_db, service, zone, weight_g)
        assert (result.zone, result.operator_vnd) == (zone, expected), (service, zone, weight_g)


def test_a_1_2_kg_result_returned_from_da_nang_to_ha_noi_is_the_500_g_band_and_two_started_steps(seeded_db):
    result = quote(seeded_db, "return", "inter_region", 1200)
    assert (result.zone, result.operator_vnd, result.citizen_vnd, result.subsidy_vnd) == ("inter_region", 52600,
                                                                                          10000, 42600)
    assert result.breakdown["operator"] == [
        {"item": "band", "rule": "return, inter_region, 251–500 g", "vnd": 40000},
        {"item": "steps", "rule": "return, inter_region, 2 × 6,300 VND per started 500 g above 500 g (1200 g)",
         "vnd": 12600},
    ]
    assert result.breakdown["versions"] == {"tariff": "vnpost-2021", "citizen_policy": "ha-tinh-2022",
                                            "zoning": "vn-34-2025-07"}
    assert (result.sender["region"], result.recipient) == ("central", {"province": "Hà Nội",
                                                                       "commune": "Phường Hoàn Kiếm", "region": "north"})


def test_half_exemption_halves_the_citizen_price_and_the_agency_pays_the_rest(seeded_db):
    result = quote(seeded_db, "return", "intra_region", 300, exemption="half")
    assert (result.operator_vnd, result.citizen_vnd, result.subsidy_vnd) == (34500, 5000, 29500)
    assert result.breakdown["citizen"][1]["item"] == "exemption" and result.breakdown["citizen"][1]["vnd"] == -5000


def test_free_exemption_leaves_the_citizen_nothing_and_the_operator_price_whole(seeded_db):
    result = quote(seeded_db, "collect", "intra_province", 100, exemption="free")
    assert (result.operator_vnd, result.citizen_vnd, result.subsidy_vnd, result.exemption) == (30000, 0, 30000, "free")


def test_fee_transfer_adds_8000_vnd_to_both_prices_and_is_not_exempted(seeded_db):
    plain = quote(seeded_db, "return", "intra_district", 100)
    transfer = quote(seeded_db, "return", "intra_district", 100, fee_transfer=True)
    both = quote(seeded_db, "return", "intra_district", 100, fee_transfer=True, exemption="half")
    assert (plain.operator_vnd, plain.citizen_vnd) == (26000, 10000)
    assert (transfer.operator_vnd, transfer.citizen_vnd, transfer.subsidy_vnd) == (34000, 18000, 16000)
    assert (both.operator_vnd, both.citizen_vnd) == (34000, 5000 + 8000)
    assert transfer.breakdown["citizen"][-1] == {"item": "fee_transfer", "rule": "the postman collects the procedure fee",
                                                 "vnd": 8000}


def test_before_any_citizen_policy_the_half_exemption_halves_the_operators_price(seeded_db):
    """Without a policy the citizen pays the operator's price (Decision 45/2016); 50% of 30,500 is 15,250."""
    with seeded_db.transaction() as conn:
        conn.execute(queries.citizen_price_policies.update().values(effective_from=date(2026, 12, 1)))
    result = quote(seeded_db, "return", "intra_region", 100, exemption="half", on=DAY)
    assert (result.operator_vnd, result.citizen_vnd, result.citizen_policy) == (30500, 15250, None)


def test_the_citizen_never_pays_more_than_the_operator_charges(seeded_db):
    with seeded_db.transaction() as conn:
        conn.execute(queries.citizen_price_policies.update().values(price_vnd=50000))
    assert quote(seeded_db, "return", "intra_district", 100).citizen_vnd == 26000


def _add_tariff(conn, code, start, end=None, price=45000):
    version = queries.insert_tariff_version(conn, code=code, effective_from=start, effective_to=end,
                                            source="test: a later price list", created_at=now())
    tariff = {"step_g": 500, "services": {"return": {"inter_region": {"bands": {"500": price}, "step": 7000}}}}
    queries.insert_tariff_rates(conn, tariff_rate_rows(version, tariff))


def test_the_tariff_and_policy_in_force_on_the_day_price_the_quote(seeded_db):
    with seeded_db.transaction() as conn:
        conn.execute(queries.tariff_versions.update().values(effective_to=date(2026, 12, 31)))
        _add_tariff(conn, "vnpost-2027", date(2027, 1, 1))
        conn.execute(queries.citizen_price_policies.update().values(effective_to=date(2026, 12, 31)))
        queries.insert_citizen_policy(conn, code="policy-2027", effective_from=date(2027, 1, 1), price_vnd=12000,
                                      source="test", created_at=now())
    old = quote(seeded_db, "return", "inter_region", 600, on=date(2026, 12, 31))
    new = quote(seeded_db, "return", "inter_region", 600, on=date(2027, 1, 1))
    assert (old.operator_vnd, old.citizen_vnd, old.tariff_version, old.citizen_policy) == (46300, 10000, "vnpost-2021",
                                                                                            "ha-tinh-2022")
    assert (new.operator_vnd, new.citizen_vnd, new.tariff_version, new.citizen_policy) == (52000, 12000, "vnpost-2027",
                                                                                            "policy-2027")


def _tariffs_file(tmp_path, versions, policies=None):
    from postal.seed import TARIFFS_FILE

    data = json.loads(open(TARIFFS_FILE, encoding="utf-8").read())
    base = data["operator_tariffs"][0]
    data["operator_tariffs"] = [{**base, **v} for v in versions]
    if policies is not None:
        data["citizen_price_policies"] = policies
    path = tmp_path / "tariffs.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_a_tariff_version_overlapping_another_is_refused_and_nothing_is_loaded(db, tmp_path):
    overlapping = _tariffs_file(tmp_path, [{"code": "a", "effective_from": "2021-01-01", "effective_to": "2026-12-31"},
                                           {"code": "b", "effective_from": "2026-12-31"}])
    with pytest.raises(OverlappingVersions, match="b .*overlaps a"):
        seed_reference_data(db, overlapping)
    with db.transaction(readonly=True) as conn:
        assert queries.version_periods(conn, queries.tariff_versions) == []


def test_an_open_ended_version_must_be_closed_before_the_next_one_starts(seeded_db, tmp_path):
    still_open = _tariffs_file(tmp_path, [{"code": "vnpost-2021", "effective_from": "2021-01-01"},
                                          {"code": "vnpost-2027", "effective_from": "2027-01-01"}])
    with pytest.raises(OverlappingVersions, match="open-ended"):
        seed_reference_data(seeded_db, still_open)
    closed = _tariffs_file(tmp_path, [{"code": "vnpost-2021", "effective_from": "2021-01-01",
                                       "effective_to": "2026-12-31"},
                                      {"code": "vnpost-2027", "effective_from": "2027-01-01"}])
    assert seed_reference_data(seeded_db, closed)["tariff_versions"] == 1
    assert zone_price(seeded_db, "return", "inter_region", 100, on=date(2027, 1, 1)).tariff_version == "vnpost-2027"
    assert zone_price(seeded_db, "return", "inter_region", 100, on=date(2026, 12, 31)).tariff_version == "vnpost-2021"


def test_a_published_versions_start_cannot_move(seeded_db, tmp_path):
    moved = _tariffs_file(tmp_path, [{"code": "vnpost-2021", "effective_from": "2020-01-01"}])
    with pytest.raises(OverlappingVersions, match="published"):
        seed_reference_data(seeded_db, moved)


def test_overlapping_citizen_policies_are_refused_too(db, tmp_path):
    policies = [{"code": "p1", "effective_from": "2022-01-01", "price_vnd": 10000, "source": "t"},
                {"code": "p2", "effective_from": "2023-01-01", "price_vnd": 12000, "source": "t"}]
    with pytest.raises(OverlappingVersions, match="citizen_price_policies"):
        seed_reference_data(db, _tariffs_file(tmp_path, [{"code": "a", "effective_from": "2021-01-01"}], policies))


@pytest.mark.parametrize("kwargs, field", [
    ({"service": "express"}, "service"),
    ({"weight_g": 0}, "weight_g"),
    ({"weight_g": 30_001}, "weight_g"),
    ({"exemption": "vip"}, "exemption"),
    ({"province": "Hà Tây"}, "province"),
    ({"province": "Đà Nẵng", "commune": "Phường Phúc Yên"}, "commune"),
    ({"on": date(2025, 6, 30)}, "on"),  # before the two-tier map of 1/7/2025
])
def test_a_quote_that_cannot_be_given_names_the_input_at_fault(seeded_db, kwargs, field):
    args = {"service": "return", "province": "Hà Nội", "commune": "Phường Hoàn Kiếm", "weight_g": 100, "on": DAY,
            **kwargs}
    with seeded_db.transaction(readonly=True) as conn, pytest.raises(pricing.QuoteError) as caught:
        pricing.quote(conn, sender=DA_NANG_SENDER, **args)
    assert caught.value.field == field


def test_a_zone_the_tariff_does_not_have_and_a_day_without_a_tariff_name_their_input(seeded_db):
    with pytest.raises(pricing.QuoteError) as zone:
        zone_price(seeded_db, "return", "moon", 100)
    with pytest.raises(pricing.QuoteError) as day:
        zone_price(seeded_db, "return", "inter_region", 100, on=date(2020, 12, 31))
    assert (zone.value.field, day.value.field) == ("zone", "on")
