"""VietQR (NAPAS, EMVCo merchant-presented mode) payloads: build, parse and CRC-check them."""
from __future__ import annotations

import re
from dataclasses import dataclass

from servicekit.text import fold_ascii

NAPAS_GUID = "A000000727"
TO_ACCOUNT = "QRIBFTTA"
TO_CARD = "QRIBFTTC"
CURRENCY_VND = "704"
ADDITIONAL_MAX = 25  # each sub-field of tag 62 (bill number, reference label, purpose)

_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7E]*$")


class InvalidPayload(ValueError):
    """A string that is not a well-formed VietQR payload (bad TLV, missing field or wrong CRC)."""


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def tlv(tag: str, value: str) -> str:
    """One field: ID (2 digits), length (2 digits), value; lengths count bytes, hence ASCII only."""
    if not _PRINTABLE_ASCII.match(value):
        raise ValueError(f"field {tag}: VietQR values must be printable ASCII, got {value!r}")
    if len(value) > 99:
        raise ValueError(f"field {tag}: value longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def parse_tlv(text: str) -> dict[str, str]:
    """ID(2) LEN(2) VALUE fields in order; InvalidPayload on a truncated, malformed or repeated field."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        tag, length = text[pos:pos + 2], text[pos + 2:pos + 4]
        if not (len(tag) == len(length) == 2 and tag.isdigit() and length.isdigit()):
            raise InvalidPayload(f"malformed field at position {pos}")
        end = pos + 4 + int(length)
        if end > len(text):
            raise InvalidPayload(f"field {tag} runs past the end of the payload")
        if tag in fields:
            raise InvalidPayload(f"field {tag} appears twice")
        fields[tag] = text[pos + 4:end]
        pos = end
    return fields


def fit_text(text: str, limit: int = ADDITIONAL_MAX) -> str:
    """Vietnamese free text as a tag-62 value: ASCII without diacritics, cut at a word within `limit`."""
    folded = " ".join(fold_ascii(text).split())
    if len(folded) <= limit:
        return folded
    cut = folded[:limit + 1].rsplit(" ", 1)[0]
    # One long word (no space to cut at) is truncated rather than dropped.
    return cut if cut and len(cut) <= limit else folded[:limit]


@dataclass(frozen=True)
class VietQR:
    """The fields of one payload; amount None means a static (reusable) code."""

    bin: str
    account: str
    amount_vnd: int | None = None
    service: str = TO_ACCOUNT
    bill_number: str | None = None
    reference: str | None = None
    purpose: str | None = None

    @property
    def dynamic(self) -> bool:
        return self.amount_vnd is not None


def encode(qr: VietQR) -> str:
    """The payload string, fields in the order NAPAS specifies, CRC (tag 63) last."""
    if not re.fullmatch(r"\d{6}", qr.bin):
        raise ValueError(f"bank BIN must be 6 digits, got {qr.bin!r}")
    if not 0 < len(qr.account) <= 19:
        raise ValueError("account number must be 1 to 19 characters")
    if qr.service not in (TO_ACCOUNT, TO_CARD):
        raise ValueError(f"service must be {TO_ACCOUNT} or {TO_CARD}, got {qr.service!r}")
    beneficiary = tlv("00", qr.bin) + tlv("01", qr.account)
    merchant = tlv("00", NAPAS_GUID) + tlv("01", beneficiary) + tlv("02", qr.service)
    out = tlv("00", "01") + tlv("01", "12" if qr.dynamic else "11") + tlv("38", merchant) + tlv("53", CURRENCY_VND)
    if qr.dynamic:
        amount = str(qr.amount_vnd)
        if qr.amount_vnd <= 0 or len(amount) > 13:
            raise ValueError(f"amount must be 1 to 13 digits of whole VND, got {qr.amount_vnd}")
        out += tlv("54", amount)
    out += tlv("58", "VN")
    additional = ""
    for tag, value in (("01", qr.bill_number), ("05", qr.reference), ("08", qr.purpose)):
        if value is not None:
            if len(value) > ADDITIONAL_MAX:
                raise ValueError(f"field 62.{tag} longer than {ADDITIONAL_MAX} characters: {value!r}")
            additional += tlv(tag, value)
    if additional:
        out += tlv("62", additional)
    out += "6304"
    return out + f"{crc16_ccitt_false(out.encode('ascii')):04X}"


def decode(payload: str) -> VietQR:
    """The fields of a payload, after checking its CRC and the tags a bank requires."""
    if len(payload) < 12 or payload[-8:-4] != "6304":
        raise InvalidPayload("the payload must end with the CRC field 63 (6304 and four hex digits)")
    expected = f"{crc16_ccitt_false(payload[:-4].encode('ascii', 'replace')):04X}"
    if payload[-4:].upper() != expected:
        raise InvalidPayload(f"CRC mismatch: payload says {payload[-4:]}, computed {expected}")
    fields = parse_tlv(payload)
    if fields.get("00") != "01":
        raise InvalidPayload("field 00 (payload format) must be 01")
    if fields.get("01") not in ("11", "12"):
        raise InvalidPayload("field 01 (initiation) must be 11 (static) or 12 (dynamic)")
    merchant = parse_tlv(fields.get("38", ""))
    if merchant.get("00") != NAPAS_GUID:
        raise InvalidPayload(f"field 38 must carry the NAPAS GUID {NAPAS_GUID}")
    beneficiary = parse_tlv(merchant.get("01", ""))
    if fields.get("53") != CURRENCY_VND:
        raise InvalidPayload("field 53 (currency) must be 704 (VND)")
    amount = fields.get("54")
    if (fields["01"] == "12") != (amount is not None):
        raise InvalidPayload("a dynamic code (01=12) carries an amount (54) and a static one (01=11) does not")
    if amount is not None and not re.fullmatch(r"\d{1,13}", amount):
        raise InvalidPayload("field 54 (amount) must be whole VND, at most 13 digits")
    additional = parse_tlv(fields.get("62", ""))
    return VietQR(
        bin=beneficiary.get("00", ""),
        account=beneficiary.get("01", ""),
        amount_vnd=int(amount) if amount is not None else None,
        service=merchant.get("02", ""),
        bill_number=additional.get("01"),
        reference=additional.get("05"),
        purpose=additional.get("08"),
    )
