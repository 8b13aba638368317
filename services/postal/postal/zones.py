"""Tariff zones from addresses: provinces, regions and communes as data, versioned by effective date.

Since 1/7/2025 local government has two tiers (34 provinces, 3,321 communes and wards); the operator's
tariff is still written per district, so its four zones are re-expressed here:
  intra_district  same commune, or both communes in the province's inner city
  intra_province  same province, another commune
  intra_region    another province of the same region
  inter_region    a province of another region
Names match with or without diacritics, with or without "Tỉnh"/"Thành phố" or "Phường"/"Xã"; a province's
name before the 2025 merger is read as the province it joined (addresses keep the old name for years).
"""
from __future__ import annotations

import functools
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from servicekit.text import fold_ascii

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
PROVINCES_FILE = os.path.join(DATA_DIR, "provinces.json")
ZONES = ("intra_district", "intra_province", "intra_region", "inter_region")

_PROVINCE_PREFIXES = ("thanh pho ", "tinh ", "tp. ", "tp.", "tp ")
_COMMUNE_PREFIXES = ("phuong ", "xa ", "dac khu ", "thi tran ", "p. ", "x. ", "p.", "x.")


class AddressError(ValueError):
    """An address that cannot be placed; `field` names the input at fault (province or commune)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _fold(text: str) -> str:
    folded = fold_ascii(text or "").lower().replace("-", " ").replace("–", " ")
    return re.sub(r"\s+", " ", folded).strip()


def _strip(folded: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if folded.startswith(prefix) and len(folded) > len(prefix):
            return folded[len(prefix):].strip()
    return folded


def province_key(name: str) -> str:
    """'Thành phố Đà Nẵng', 'TP. Đà Nẵng', 'da nang' -> 'da nang'."""
    return _strip(_fold(name), _PROVINCE_PREFIXES).replace(" ", "")


def commune_key(name: str) -> str:
    """'Phường Hải Châu', 'P. Hai Chau', 'hai chau' -> 'haichau'."""
    return _strip(_fold(name), _COMMUNE_PREFIXES).replace(" ", "")


_COMMUNE_PREFIXES_VI = ("phường ", "xã ", "đặc khu ", "thị trấn ", "p. ", "x. ", "p.", "x.")


def _exact(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text or "").lower()).strip()


def commune_exact_key(name: str) -> str:
    """With its diacritics: two communes of a province may differ only by them (Văn Lăng, Vân Lăng)."""
    return _strip(_exact(name), _COMMUNE_PREFIXES_VI).replace(" ", "")


_AMBIGUOUS = object()


@dataclass(frozen=True)
class Place:
    province: str  # the official name, e.g. "Đà Nẵng"
    commune: str  # the official name with its type, e.g. "Phường Hải Châu"
    region: str
    inner_city: bool


@dataclass(frozen=True)
class Zoning:
    """One version of the administrative map used for zones, in force from `effective_from`."""

    code: str
    effective_from: date
    effective_to: date | None
    source: str
    regions: dict  # province name -> region
    _provinces: dict  # province key -> official name (names, merged-away names and aliases)
    _communes: dict  # province name -> {folded commune key -> official commune name, or _AMBIGUOUS}
    _communes_exact: dict  # province name -> {commune key with diacritics -> official commune name}
    _inner_city: dict  # province name -> set of official commune names

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def province(self, name: str) -> str:
        found = self._provinces.get(province_key(name))
        if found is None:
            raise AddressError("province", f"Không tìm thấy tỉnh/thành phố {name!r} (unknown province; the 34 provinces since 1/7/2025)")
        return found

    def place(self, province: str, commune: str) -> Place:
        official = self.province(province)
        communes = self._communes.get(official, {})
        exact, folded = self._communes_exact.get(official, {}), communes
        # "Xa Dung" is a name starting like the prefix "Xã": try the name without a prefix removed, too.
        found = (exact.get(commune_exact_key(commune)) or exact.get(_exact(commune).replace(" ", ""))
                 or folded.get(commune_key(commune)) or folded.get(_fold(commune).replace(" ", "")))
        if found is _AMBIGUOUS:
            same = sorted(c for c in exact.values() if commune_key(c) == commune_key(commune))
            raise AddressError("commune", f"Tên xã/phường {commune!r} ở {official} cần ghi đủ dấu:"
                                          f" {' hoặc '.join(same)} (ambiguous commune without diacritics)")
        if found is None:
            raise AddressError("commune", f"Không tìm thấy xã/phường {commune!r} thuộc {official} (unknown commune)")
        return Place(official, found, self.regions[official], found in self._inner_city.get(official, ()))

    def zone(self, sender: Place, recipient: Place) -> str:
        if sender.province == recipient.province:
            if sender.commune == recipient.commune or (sender.inner_city and recipient.inner_city):
                return "intra_district"
            return "intra_province"
        return "intra_region" if sender.region == recipient.region else "inter_region"

    @property
    def province_names(self) -> list[str]:
        return sorted(self.regions)

    def communes_of(self, province: str) -> list[dict]:
        """The province's communes as the map spells them, with the inner-city flag (for address pickers)."""
        inner = self._inner_city.get(province, set())
        return [{"name": name, "inner_city": name in inner} for name in sorted(self._communes_exact[province].values())]


def _build(version: dict) -> Zoning:
    with open(os.path.join(DATA_DIR, version["communes_file"]), encoding="utf-8") as handle:
        communes_data = json.load(handle)["provinces"]
    regions, keys = {}, {}
    for entry in version["provinces"]:
        name = entry["name"]
        regions[name] = entry["region"]
        for alias in [name, *entry.get("merged_from", []), *entry.get("aliases", [])]:
            key = province_key(alias)
            if keys.get(key, name) != name:
                raise ValueError(f"province name {alias!r} is ambiguous in {version['code']}")
            keys[key] = name
    communes, exact = {}, {}
    for name in regions:
        by_key, by_exact = {}, {}
        for commune in communes_data.get(name, []):
            key = commune_key(commune)
            by_key[key] = _AMBIGUOUS if key in by_key else commune
            if commune_exact_key(commune) in by_exact:
                raise ValueError(f"commune {commune!r} of {name} is listed twice in {version['code']}")
            by_exact[commune_exact_key(commune)] = commune
        communes[name], exact[name] = by_key, by_exact
    inner = {province: set(names) for province, names in version.get("inner_city", {}).items()}
    for province, names in inner.items():
        unknown = names - set(exact.get(province, {}).values())
        if unknown:
            raise ValueError(f"inner-city communes not in {province}'s list: {sorted(unknown)}")
    return Zoning(
        code=version["code"],
        effective_from=date.fromisoformat(version["effective_from"]),
        effective_to=date.fromisoformat(version["effective_to"]) if version.get("effective_to") else None,
        source=version["source"], regions=regions, _provinces=keys, _communes=communes, _communes_exact=exact,
        _inner_city=inner,
    )


def check_no_overlap(periods: list[tuple[str, date, date | None]]) -> None:
    """Versions of one kind may not share a day: ValueError naming both (tariffs, policies and zonings)."""
    ordered = sorted(periods, key=lambda p: p[1])
    for (code_a, _from_a, to_a), (code_b, from_b, _to_b) in zip(ordered, ordered[1:]):
        if to_a is None or to_a >= from_b:
            raise ValueError(f"version {code_b} (from {from_b.isoformat()}) overlaps {code_a}"
                             f" ({'open-ended' if to_a is None else 'to ' + to_a.isoformat()})")


@functools.lru_cache(maxsize=4)
def load_zonings(path: str = PROVINCES_FILE) -> tuple[Zoning, ...]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    zonings = tuple(_build(version) for version in data["versions"])
    check_no_overlap([(z.code, z.effective_from, z.effective_to) for z in zonings])
    return zonings


def zoning_on(on: date, path: str = PROVINCES_FILE) -> Zoning:
    for zoning in load_zonings(path):
        if zoning.in_force(on):
            return zoning
    raise AddressError("on", f"Chưa có bản đồ hành chính áp dụng ngày {on.strftime('%d/%m/%Y')} (no map for zones in force;"
                             " zones from addresses start with the two-tier map of 1/7/2025)")
