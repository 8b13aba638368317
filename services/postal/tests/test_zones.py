"""Zones from real addresses on the two-tier map in force since 1/7/2025 (34 provinces, 3,321 communes)."""
from datetime import date

import pytest

from postal import zones

MAP = zones.zoning_on(date(2026, 11, 24))
HAI_CHAU = MAP.place("Đà Nẵng", "Phường Hải Châu")


def test_the_map_has_the_34_provinces_in_three_regions_each_with_its_communes():
    assert len(MAP.regions) == 34
    by_region = {region: sorted(p for p, r in MAP.regions.items() if r == region) for region in ("north", "central",
                                                                                                 "south")}
    assert len(by_region["north"]) == 15 and len(by_region["central"]) == 11 and len(by_region["south"]) == 8
    assert {"Thanh Hóa", "Nghệ An", "Hà Tĩnh", "Huế", "Lâm Đồng", "Đắk Lắk", "Gia Lai"} <= set(by_region["central"])
    assert {"Ninh Bình", "Phú Thọ", "Lào Cai", "Điện Biên"} <= set(by_region["north"])
    assert {"Đồng Nai", "Tây Ninh", "An Giang", "Cà Mau"} <= set(by_region["south"])
    assert sum(len(set(v.values()) - {zones._AMBIGUOUS}) for v in MAP._communes_exact.values()) == 3321
    assert all(MAP._communes_exact[p] for p in MAP.regions)


@pytest.mark.parametrize("province, commune, expected", [
    ("Thành phố Đà Nẵng", "Phường Hải Châu", ("Đà Nẵng", "Phường Hải Châu")),
    ("da nang", "hai chau", ("Đà Nẵng", "Phường Hải Châu")),
    ("TP. Hồ Chí Minh", "P. Sài Gòn", ("Hồ Chí Minh", "Phường Sài Gòn")),
    ("TPHCM", "phuong sai gon", ("Hồ Chí Minh", "Phường Sài Gòn")),
    ("Tỉnh Phú Thọ", "Phường Phúc Yên", ("Phú Thọ", "Phường Phúc Yên")),
    ("Vĩnh Phúc", "Phúc Yên", ("Phú Thọ", "Phường Phúc Yên")),  # the pre-merger province name
    ("Quảng Nam", "Hội An", ("Đà Nẵng", "Phường Hội An")),
    ("Thừa Thiên Huế", "Thuận Hóa", ("Huế", "Phường Thuận Hóa")),
    ("Bà Rịa - Vũng Tàu", "Phường Vũng Tàu", ("Hồ Chí Minh", "Phường Vũng Tàu")),
    ("Hà Nội", "xã Minh Châu", ("Hà Nội", "Xã Minh Châu")),
    ("Đà Nẵng", "Đặc khu Hoàng Sa", ("Đà Nẵng", "Đặc khu Hoàng Sa")),
])
def test_names_match_with_or_without_diacritics_and_prefixes(province, commune, expected):
    place = MAP.place(province, commune)
    assert (place.province, place.commune) == expected


@pytest.mark.parametrize("province, commune, zone", [
    ("Đà Nẵng", "Phường Hải Châu", "intra_district"),  # the same ward
    ("Đà Nẵng", "Phường Liên Chiểu", "intra_district"),  # another inner-city ward
    ("Đà Nẵng", "Xã Bà Nà", "intra_province"),  # the old Hòa Vang district, outside the inner city
    ("Đà Nẵng", "Phường Tam Kỳ", "intra_province"),  # the old Quảng Nam, now Đà Nẵng
    ("Huế", "Phường Thuận Hóa", "intra_region"),
    ("Khánh Hòa", "Phường Nha Trang", "intra_region"),
    ("Lâm Đồng", "Phường Xuân Hương - Đà Lạt", "intra_region"),  # Tây Nguyên is Miền Trung
    ("Thanh Hóa", "Phường Hạc Thành", "intra_region"),  # Bắc Trung Bộ is Miền Trung
    ("Hà Nội", "Phường Hoàn Kiếm", "inter_region"),
    ("Cần Thơ", "Phường Ninh Kiều", "inter_region"),
])
def test_zones_from_real_addresses_from_the_da_nang_counter(province, commune, zone):
    assert MAP.zone(HAI_CHAU, MAP.place(province, commune)) == zone


def test_same_commune_outside_an_inner_city_is_the_first_zone_and_a_neighbour_the_second():
    phuc_yen = MAP.place("Phú Thọ", "Phường Phúc Yên")
    assert MAP.zone(phuc_yen, MAP.place("Phú Thọ", "Phúc Yên")) == "intra_district"
    assert MAP.zone(phuc_yen, MAP.place("Phú Thọ", "Phường Xuân Hòa")) == "intra_province"
    assert MAP.zone(phuc_yen, MAP.place("Hà Nội", "Phường Hoàn Kiếm")) == "intra_region"


@pytest.mark.parametrize("province, commune, field, words", [
    ("Hà Tây", "Phường Hà Đông", "province", "Hà Tây"),  # merged into Hà Nội in 2008: not a name we read
    ("", "Hải Châu", "province", "''"),
    ("Đà Nẵng", "Phường Phúc Yên", "commune", "Phúc Yên"),
    ("Đà Nẵng", "Quận Hải Châu", "commune", "Quận Hải Châu"),  # districts are gone since 1/7/2025
    ("Thái Nguyên", "Van Lang", "commune", "Xã Văn Lang hoặc Xã Văn Lăng"),  # two communes without diacritics
])
def test_an_address_off_the_map_names_the_field(province, commune, field, words):
    with pytest.raises(zones.AddressError) as caught:
        MAP.place(province, commune)
    assert caught.value.field == field and words in caught.value.message


def test_with_its_diacritics_a_commune_that_folds_like_another_is_found():
    assert MAP.place("Thái Nguyên", "Xã Văn Lăng").commune == "Xã Văn Lăng"
    assert MAP.place("Thái Nguyên", "văn lang").commune == "Xã Văn Lang"


def test_the_map_is_versioned_by_date_and_versions_may_not_overlap():
    assert MAP.code == "vn-34-2025-07" and MAP.effective_from == date(2025, 7, 1)
    with pytest.raises(zones.AddressError) as before:
        zones.zoning_on(date(2025, 6, 30))
    assert before.value.field == "on"
    zones.check_no_overlap([("a", date(2025, 7, 1), date(2026, 12, 31)), ("b", date(2027, 1, 1), None)])
    with pytest.raises(ValueError, match="b .*overlaps a"):
        zones.check_no_overlap([("a", date(2025, 7, 1), None), ("b", date(2027, 1, 1), None)])
