"""Vietnamese text helpers: ASCII folding for SMS, Vietnamese phone numbers."""
from __future__ import annotations

import re
import unicodedata

# đ/Đ have no Unicode decomposition, so NFD alone leaves them (and a naive downgrade makes them '?').
_EXPLICIT = str.maketrans({"đ": "d", "Đ": "D"})


def fold_ascii(text: str) -> str:
    """'Đặng Thị Ngọc Ánh' -> 'Dang Thi Ngoc Anh': full NFD, combining marks dropped, đ mapped."""
    decomposed = unicodedata.normalize("NFD", text.translate(_EXPLICIT))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).encode("ascii", "replace").decode("ascii")


# [0-9], not \d: \d also matches fullwidth and other scripts' digits ("０９１..."), which would be stored
# and later never match a lookup typed with ASCII digits.
_PHONE = re.compile(r"^(?:\+?84|0)(3|5|7|8|9)[0-9]{8}$")


def normalize_phone(raw: str) -> str | None:
    """A Vietnamese mobile number in 84… form, or None when it is not one."""
    digits = re.sub(r"[\s.\-()]", "", raw or "")
    if not _PHONE.match(digits):
        return None
    return "84" + digits[-9:]
