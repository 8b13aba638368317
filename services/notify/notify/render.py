"""Templates rendered into message text: Vietnam time, length limits, and ASCII folding for SMS."""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from servicekit.text import fold_ascii

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

# Typographic punctuation that procedure names and addresses pick up from word processors; without this
# map they would fold to nothing (or, with a naive downgrade, to '?').
_PUNCTUATION = str.maketrans({
    "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2026": "...", "\u00a0": " ", "\u00ab": '"', "\u00bb": '"', "\u2022": "-", "\u00b7": "-",
})


def fold_sms(text: str) -> str:
    """SMS text in GSM-7 safe ASCII: 'Đặng Thị Ngọc Ánh' -> 'Dang Thi Ngoc Anh', never a '?' for a letter.

    NFD splits every Vietnamese letter into an ASCII base and combining marks (đ/Đ aside, which the
    kit's fold maps). Whatever is still outside ASCII after that (emoji, other scripts) is dropped
    here rather than left for the kit's encoder to turn into '?'.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_PUNCTUATION))
    kept = "".join(ch for ch in decomposed if ch.isascii() or ch in "đĐ" or unicodedata.combining(ch))
    return fold_ascii(kept)


def local_time(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def vnd(amount: int) -> str:
    """Whole VND the Vietnamese way, with dots between thousands: 1250000 -> '1.250.000'."""
    return f"{amount:,}".replace(",", ".")


def clip(value: str, limit: int | None) -> str:
    if limit is None or len(value) <= limit:
        return value
    return value[: max(limit - 3, 1)].rstrip() + "..."


@dataclass(frozen=True)
class Template:
    kind: str
    channel: str
    body: str
    subject: str | None = None
    zalo_template_id: str | None = None
    params: tuple[str, ...] = ()
    limits: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, item: dict) -> "Template":
        return cls(
            kind=item["kind"], channel=item["channel"], body=item["body"], subject=item.get("subject"),
            zalo_template_id=item.get("zalo_template_id"), params=tuple(item.get("params") or ()),
            limits=dict(item.get("limits") or {}),
        )

    @classmethod
    def from_row(cls, row) -> "Template":
        return cls(
            kind=row.kind, channel=row.channel, body=row.body, subject=row.subject,
            zalo_template_id=row.zalo_template_id, params=tuple(json.loads(row.params or "[]")),
            limits=json.loads(row.limits or "{}"),
        )

    def columns(self) -> dict:
        return {
            "kind": self.kind, "channel": self.channel, "subject": self.subject, "body": self.body,
            "zalo_template_id": self.zalo_template_id,
            "params": json.dumps(list(self.params)) if self.params else None,
            "limits": json.dumps(self.limits, sort_keys=True) if self.limits else None,
        }


@dataclass(frozen=True)
class Rendered:
    text: str
    subject: str | None = None
    zalo_template_id: str | None = None
    params: dict[str, str] | None = None


def render(template: Template, values: dict[str, str]) -> Rendered:
    """A missing placeholder raises KeyError: the seed renders every template once to catch that early."""
    clipped = {name: clip(value, template.limits.get(name)) for name, value in values.items()}
    text = template.body.format_map(clipped)
    subject = template.subject.format_map(clipped) if template.subject else None
    if template.channel == "sms":
        return Rendered(text=fold_sms(text))
    if template.channel == "zalo":
        return Rendered(text=text, zalo_template_id=template.zalo_template_id,
                        params={name: clipped[name] for name in template.params})
    return Rendered(text=text, subject=subject)


def tracking_link(tracking_url: str, code: str) -> str:
    """The dossier's page at intake. It carries the dossier code only: an SMS is no place for the
    citizen's ID number, and intake's lookup asks for it anyway."""
    return tracking_url + quote(code, safe="")


def submitted_values(dossier: dict, tracking_url: str) -> dict[str, str]:
    """Placeholder values for dossier.submitted.v1."""
    code = dossier["code"]
    return {
        "code": code,
        "procedure": dossier["procedure"]["name"],
        "name": dossier["applicant"]["full_name"],
        "agency": dossier["agency"].get("name") or dossier["agency"]["code"],
        "time": local_time(dossier["submitted_at"]),
        "via": "trực tuyến" if dossier.get("channel", "online") == "online" else "tại Bộ phận Một cửa",
        "url": tracking_link(tracking_url, code),
    }


def payment_values(payment: dict, name: str, tracking_url: str) -> dict[str, str]:
    """Placeholder values for payment.requested.v1; `name` comes from the dossier's recipient row.

    The link is intake's image of the order's VietQR under the dossier's page, so the SMS stays short
    and the citizen scans the same code the bank app expects.
    """
    code = payment["dossier_code"]
    return {
        "code": code,
        "name": name,
        "amount": vnd(payment["amount_vnd"]),
        "reference": payment["reference"],
        "deadline": local_time(payment["expires_at"]),
        "url": tracking_link(tracking_url, code) + "/payment-qr.png",
    }


SAMPLE_VALUES = {
    "code": "000.00.06.H56-261124-0001", "procedure": "Đăng ký khai sinh", "name": "Đặng Thị Ngọc Ánh",
    "agency": "UBND phường Phúc Yên", "time": "24/11/2026 09:00", "via": "trực tuyến",
    "url": "http://127.0.0.1:8001/v1/dossiers/000.00.06.H56-261124-0001",
    "amount": "50.000", "reference": "MCK7QX2MZP4A", "deadline": "27/11/2026 09:00",
}
