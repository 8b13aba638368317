"""Realistic bodies: dossier.submitted.v1 data as intake publishes it (HELPER_BRIEF's example), one per dossier code."""
from __future__ import annotations

import copy

_TEMPLATE = {
    "code": "",
    "procedure": {"code": "1.000948.H38", "name": "Đăng ký khai sinh", "level": "full_online",
                  "processing_days": 3, "fee_vnd": 0, "fee_mode": "none", "result_is_paper": True},
    "agency": {"code": "000.00.06.H56", "name": "UBND phường Phúc Yên"},
    "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "id_number": "001190012345",
                  "phone": "84912345678", "email": "anh@example.vn", "address": "12 Trần Phú, Phúc Yên"},
    "delivery": {"method": "post", "address": {"street": "12 Trần Phú", "commune": "Phường Phúc Yên",
                                               "province": "Phú Thọ", "recipient_name": "Đặng Thị Ngọc Ánh",
                                               "phone": "84912345678"}},
    "notify_channels": ["sms"],
    "channel": "online",
    "submitted_at": "2026-11-24T02:00:00.000Z",
    "fees": {"procedure_vnd": 0, "postal_vnd": 10000},
}


def dossier_code(n: int) -> str:
    """Codes in the national shape (agency-YYMMDD-serial), unique per bench run through `n`."""
    return f"000.00.06.H56-261124-{n:06d}"


def dossier_submitted(n: int) -> dict:
    data = copy.deepcopy(_TEMPLATE)
    data["code"] = dossier_code(n)
    return data
