"""Tracking numbers in the UPU S10 form: 'MC' + 8-digit serial + check digit + 'VN' (13 characters)."""
from __future__ import annotations

import re

PREFIX = "MC"
COUNTRY = "VN"
_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_FORM = re.compile(rf"^{PREFIX}(\d{{8}})(\d){COUNTRY}$")


def check_digit(serial: str) -> int:
    """UPU S10 check digit: weighted sum mod 11, with 10 written as 0 and 11 as 5."""
    value = 11 - sum(int(d) * w for d, w in zip(serial, _WEIGHTS)) % 11
    return {10: 0, 11: 5}.get(value, value)


def tracking_number(serial: int) -> str:
    if not 0 < serial <= 99_999_999:
        raise ValueError(f"tracking serial out of range: {serial}")
    digits = f"{serial:08d}"
    return f"{PREFIX}{digits}{check_digit(digits)}{COUNTRY}"


def is_valid(tracking_no: str) -> bool:
    """Catches a mistyped number (a wrong digit or two swapped) before it is looked up."""
    match = _FORM.match(tracking_no or "")
    return bool(match) and check_digit(match.group(1)) == int(match.group(2))
