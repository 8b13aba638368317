"""Reading a VietQR (EMVCo) payload back into what a person types into a banking app by hand."""
from __future__ import annotations

BANKS = {  # NAPAS BINs of the banks agencies commonly collect fees with
    "970436": "Vietcombank", "970415": "VietinBank", "970418": "BIDV", "970405": "Agribank",
    "970403": "Sacombank", "970416": "ACB", "970422": "MB Bank", "970407": "Techcombank", "970423": "TPBank",
    "970432": "VPBank", "970441": "VIB", "970443": "SHB", "970448": "OCB", "970437": "HDBank",
}


def _fields(payload: str) -> dict[str, str]:
    out, i = {}, 0
    while i + 4 <= len(payload):
        tag, length = payload[i:i + 2], payload[i + 2:i + 4]
        if not length.isdigit():
            break
        size = int(length)
        out[tag] = payload[i + 4:i + 4 + size]
        i += 4 + size
    return out


def parse(payload: str | None) -> dict | None:
    if not payload:
        return None
    top = _fields(payload)
    merchant = _fields(top.get("38", ""))
    beneficiary = _fields(merchant.get("01", ""))
    extra = _fields(top.get("62", ""))
    bin_ = beneficiary.get("00", "")
    return {
        "bin": bin_,
        "bank": BANKS.get(bin_, f"Ngân hàng mã BIN {bin_}" if bin_ else ""),
        "account": beneficiary.get("01", ""),
        "amount_vnd": int(top["54"]) if top.get("54", "").isdigit() else None,
        "note": extra.get("08") or extra.get("05") or extra.get("01") or "",
    }
