"""Templates (Jinja2, sandboxed) rendered per channel: SMS folded to GSM-7 ASCII within a segment cap,
Zalo ZNS template parameters typed and within their limits, email with a text and an autoescaped HTML body.

A template is checked when it is saved (seed or admin API): its markup must parse, it may use only the
placeholders its event kind supplies, and it must render against that event's registered example.
"""
from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from servicekit.text import fold_ascii

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
CHANNELS = ("sms", "zalo", "email")

_TEXT_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_HTML_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)

# ---- text helpers ----------------------------------------------------------------------------------
# Typographic punctuation that procedure names and addresses pick up from word processors; without this
# map they would fold to nothing (or, with a naive downgrade, to '?').
_PUNCTUATION = str.maketrans({
    "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2026": "...", "\u00a0": " ", "\u00ab": '"', "\u00bb": '"', "\u2022": "-", "\u00b7": "-", "`": "'",
    "\t": " ",
})


def fold_sms(text: str) -> str:
    """SMS text in GSM-7 safe ASCII: 'Đặng Thị Ngọc Ánh' -> 'Dang Thi Ngoc Anh', never a '?' for a letter.

    NFD splits every Vietnamese letter into an ASCII base and combining marks (đ/Đ aside, which the
    kit's fold maps). Whatever is still outside ASCII after that (emoji, other scripts) is dropped
    here rather than left for the kit's encoder to turn into '?'; so are control characters.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_PUNCTUATION))
    kept = "".join(
        ch for ch in decomposed
        if (ch.isascii() and (ch.isprintable() or ch == "\n")) or ch in "đĐ" or unicodedata.combining(ch)
    )
    return fold_ascii(kept)


# GSM 03.38: these ASCII characters live in the extension table and cost two septets each.
_GSM7_EXTENSION = set("^{}\\[~]|")


def gsm7_septets(text: str) -> int:
    return sum(2 if ch in _GSM7_EXTENSION else 1 for ch in text)


def sms_segments(text: str) -> int:
    """Segments of a GSM-7 text: one of 160 septets, or 153 each when concatenated."""
    septets = gsm7_septets(text)
    return 1 if septets <= 160 else math.ceil(septets / 153)


def sms_budget(max_segments: int) -> int:
    return 160 if max_segments <= 1 else 153 * max_segments


def clean_name(full_name: str, limit: int = 30) -> str:
    """The applicant's name as messages show it: control and format characters stripped, spaces
    collapsed, at most `limit` characters (cut at a word where one is near)."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
                   for ch in unicodedata.normalize("NFC", full_name or ""))
    name = " ".join(kept.split())
    if len(name) <= limit:
        return name
    cut = name[:limit]
    return cut.rsplit(" ", 1)[0] if " " in cut[limit // 2:] else cut


def clip(value: str, limit: int) -> str:
    """At most `limit` characters, marked '...' when cut; nothing at all below 4."""
    if len(value) <= limit:
        return value
    if limit < 4:
        return ""
    return value[: limit - 3].rstrip() + "..."


def local_time(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def local_date(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        moment = moment.astimezone(VIETNAM).date()
    return moment.strftime("%d/%m/%Y")


def vnd(amount: int) -> str:
    """Whole VND the Vietnamese way, with dots between thousands: 1250000 -> '1.250.000'."""
    return f"{amount:,}".replace(",", ".")


# ---- links -----------------------------------------------------------------------------------------
def tracking_link(portal_url: str, code: str) -> str:
    """The portal's page of the dossier. It carries the dossier code only: the page asks for the ID
    number or the access token, so nothing in a message identifies the person."""
    return f"{portal_url.rstrip('/')}/ho-so/{quote(code, safe='')}"


def payment_link(portal_url: str, code: str) -> str:
    return tracking_link(portal_url, code) + "/thanh-toan"


# ---- placeholder values per event kind --------------------------------------------------------------
@dataclass(frozen=True)
class Who:
    """What notify keeps about a dossier from dossier.submitted.v1 (the recipients row)."""

    full_name: str
    procedure_name: str | None = None
    agency_name: str | None = None
    agency_code: str = ""


def _common(code: str, who: Who, portal_url: str) -> dict[str, str]:
    return {
        "code": code,
        "name": clean_name(who.full_name),
        "procedure": who.procedure_name or "",
        "agency": who.agency_name or who.agency_code,
        "url": tracking_link(portal_url, code),
    }


def _next_step(data: dict) -> str:
    if data.get("delivery_method") == "post":
        step = "Kết quả sẽ được gửi đến Ông/Bà qua dịch vụ bưu chính."
    else:
        step = "Mời Ông/Bà mang giấy hẹn đến Bộ phận Một cửa để nhận kết quả."
    if data.get("fee_mode") == "after" and (data.get("fee_vnd") or 0) > 0:
        step += f" Lệ phí cần nộp khi nhận kết quả: {vnd(data['fee_vnd'])} đồng."
    return step


def _kind_values(kind: str, data: dict, portal_url: str) -> dict[str, str]:
    if kind == "dossier.submitted":
        return {"time": local_time(data["submitted_at"]),
                "via": "trực tuyến" if data.get("channel", "online") == "online" else "tại Bộ phận Một cửa"}
    if kind == "payment.requested":
        return {"amount": vnd(data["amount_vnd"]), "reference": data["reference"],
                "deadline": local_time(data["expires_at"]), "url": payment_link(portal_url, data["dossier_code"])}
    if kind == "payment.completed":
        return {"amount": vnd(data["amount_vnd"]), "reference": data["reference"], "time": local_time(data["paid_at"])}
    if kind == "payment.expired":
        return {"amount": vnd(data["amount_vnd"]), "reference": data["reference"],
                "time": local_time(data["expired_at"])}
    if kind == "payment.refunded":
        return {"amount": vnd(data["amount_vnd"]), "reference": data["reference"],
                "time": local_time(data["refunded_at"])}
    if kind == "dossier.received":
        days = data.get("processing_days")
        return {"time": local_time(data["received_at"]), "due": local_date(data["due_at"]),
                "days": str(days) if days is not None else ""}
    if kind in ("dossier.refused", "dossier.stopped", "dossier.rejected"):
        return {"reason": data["reason"], "time": local_time(data["at"])}
    if kind == "dossier.supplement_requested":
        return {"reason": data["reason"], "documents": ", ".join(d["name"] for d in data.get("documents") or []),
                "deadline": local_date(data["deadline"]), "request_no": str(data.get("request_no") or 1)}
    if kind in ("dossier.assigned", "dossier.withdrawn"):
        return {"time": local_time(data["at"])}
    if kind == "dossier.result_ready":
        return {"time": local_time(data["at"]), "next_step": _next_step(data)}
    if kind == "dossier.returned":
        return {"time": local_time(data["returned_at"])}
    if kind == "dossier.apology_issued":
        return {"reason": data["reason"], "old_due": local_date(data["old_due_at"]),
                "new_due": local_date(data["new_due_at"]), "time": local_time(data["at"])}
    if kind == "dossier.overdue":
        return {"due": local_date(data["due_at"])}
    if kind == "shipment.dispatched":
        cod = data.get("cod_amount_vnd") or 0
        return {"tracking_no": data["tracking_no"], "time": local_time(data["dispatched_at"]),
                "cod": vnd(cod) if cod > 0 else ""}
    if kind == "shipment.delivered":
        return {"tracking_no": data["tracking_no"], "time": local_time(data["delivered_at"])}
    if kind == "shipment.failed":
        return {"tracking_no": data["tracking_no"], "reason": data.get("reason") or "", "time": local_time(data["at"])}
    raise KeyError(f"no values for kind {kind}")


def values_for(kind: str, data: dict, who: Who, portal_url: str) -> dict[str, str]:
    """Every placeholder a template of `kind` may use. No applicant free text is among them except the
    short cleaned name: an address, a note or a withdrawal reason never reaches a message."""
    code = data.get("code") or data["dossier_code"]
    return {**_common(code, who, portal_url), **_kind_values(kind, data, portal_url)}


# Values an SMS may shorten, in this order, when it would exceed its segment cap. Everything else (the
# dossier code, the link, dates, amounts, references, tracking numbers) is never cut.
SHORTENABLE = ("reason", "documents", "procedure", "agency", "next_step", "name")

# ---- Zalo ZNS parameter types (a template registered at Zalo declares each parameter's type) ----------
ZALO_PARAM_LIMITS = {"name": 30, "code": 30, "date": 20, "number": 20, "currency": 20, "string": 100, "url": 200}
ZALO_MAX_TEXT = 400


# ---- templates -------------------------------------------------------------------------------------
class TemplateInvalid(ValueError):
    """A template that cannot be saved; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class Unsendable(ValueError):
    """The message cannot go on this channel (a Zalo code over the ZNS limit): recorded as skipped."""


@dataclass(frozen=True)
class Template:
    kind: str
    channel: str
    body: str
    subject: str | None = None
    html: str | None = None
    zalo_template_id: str | None = None
    params: tuple[dict, ...] = ()  # Zalo: ({"name": placeholder, "type": one of ZALO_PARAM_LIMITS}, ...)
    version: int = 1

    @classmethod
    def from_json(cls, item: dict) -> "Template":
        return cls(
            kind=item["kind"], channel=item["channel"], body=item["body"], subject=item.get("subject"),
            html=item.get("html"), zalo_template_id=item.get("zalo_template_id"),
            params=tuple(dict(p) for p in item.get("params") or ()),
        )

    @classmethod
    def from_row(cls, row) -> "Template":
        return cls(
            kind=row.kind, channel=row.channel, body=row.body, subject=row.subject, html=row.html,
            zalo_template_id=row.zalo_template_id, params=tuple(json.loads(row.params or "[]")),
            version=row.version,
        )

    def columns(self) -> dict:
        return {
            "kind": self.kind, "channel": self.channel, "subject": self.subject, "body": self.body,
            "html": self.html, "zalo_template_id": self.zalo_template_id,
            "params": json.dumps(list(self.params), ensure_ascii=False, sort_keys=True) if self.params else None,
            "limits": None,
        }

    def as_json(self) -> dict:
        return {"kind": self.kind, "channel": self.channel, "subject": self.subject, "body": self.body,
                "html": self.html, "zalo_template_id": self.zalo_template_id, "params": list(self.params),
                "version": self.version}


@dataclass(frozen=True)
class Rendered:
    text: str
    subject: str | None = None
    html: str | None = None
    zalo_template_id: str | None = None
    params: dict[str, str] | None = None
    segments: int | None = None


@functools.lru_cache(maxsize=1024)
def _compiled(env, source: str):
    # Compiling costs ~2 ms a template; an admin's change is a new source, so the cache never goes stale.
    return env.from_string(source)


def _render(env, source: str, values: dict) -> str:
    return _compiled(env, source).render(**values)


def _sms(template: Template, values: dict[str, str], max_segments: int) -> Rendered:
    budget = sms_budget(max_segments)
    values = dict(values)
    text = fold_sms(_render(_TEXT_ENV, template.body, values)).strip()
    for name in SHORTENABLE:
        while gsm7_septets(text) > budget and values.get(name):
            over = gsm7_septets(text) - budget
            values[name] = clip(values[name], max(len(values[name]) - over, 0)) if over < len(values[name]) else ""
            text = fold_sms(_render(_TEXT_ENV, template.body, values)).strip()
    return Rendered(text=text, segments=sms_segments(text))


def _zalo(template: Template, values: dict[str, str]) -> Rendered:
    params: dict[str, str] = {}
    for param in template.params:
        name, kind = param["name"], param["type"]
        value = values[name]
        limit = ZALO_PARAM_LIMITS[kind]
        if len(value) > limit:
            if kind in ("code", "url", "date", "number", "currency"):
                raise Unsendable(f"Zalo parameter {name} ({kind}) is {len(value)} characters, over {limit}")
            value = clean_name(value, limit) if kind == "name" else clip(value, limit)
        params[name] = value
    text = _render(_TEXT_ENV, template.body, params).strip()
    for param in template.params:  # the whole ZNS text within 400 characters: shorten free strings first
        if len(text) <= ZALO_MAX_TEXT:
            break
        if param["type"] == "string":
            name = param["name"]
            params[name] = clip(params[name], max(len(params[name]) - (len(text) - ZALO_MAX_TEXT), 0))
            text = _render(_TEXT_ENV, template.body, params).strip()
    if len(text) > ZALO_MAX_TEXT:
        raise Unsendable(f"Zalo text is {len(text)} characters, over {ZALO_MAX_TEXT}")
    return Rendered(text=text, zalo_template_id=template.zalo_template_id, params=params)


_URL = re.compile(r"https?://[^\s<>\"']+")


def _paragraphs_html(text_html: str) -> str:
    """Escaped text as HTML paragraphs, links made clickable (the text was escaped before this)."""
    def link(match):
        url = match.group(0).rstrip(".,;)")
        rest = match.group(0)[len(url):]
        return f'<a href="{url}">{url}</a>{rest}'

    blocks = [block.strip() for block in re.split(r"\n\s*\n", text_html) if block.strip()]
    return "\n".join("<p>" + _URL.sub(link, block).replace("\n", "<br>\n") + "</p>" for block in blocks)


_LAYOUT = """<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; font-size: 15px; color: #1a1a1a; max-width: 640px">
<div style="border-bottom: 3px solid #b71c1c; padding-bottom: 8px; font-weight: bold">Cổng Dịch vụ công - Hệ thống Một cửa</div>
{{ content }}
</body></html>
"""


def _email(template: Template, values: dict[str, str]) -> Rendered:
    subject = " ".join(_render(_TEXT_ENV, template.subject or "", values).split())
    text = _render(_TEXT_ENV, template.body, values)
    if template.html:
        content = Markup(_render(_HTML_ENV, template.html, values))
    else:
        content = Markup(_paragraphs_html(str(_render(_HTML_ENV, template.body, values))))
    html = _render(_HTML_ENV, _LAYOUT, {"subject": subject, "content": content})
    return Rendered(text=text, subject=subject, html=html, params=dict(values))


def render(template: Template, values: dict[str, str], *, max_segments: int = 2) -> Rendered:
    """The message of one channel. Raises jinja2 errors for a template that does not fit its values
    (prevented at save), Unsendable for a value a channel cannot carry."""
    if template.channel == "sms":
        return _sms(template, values, max_segments)
    if template.channel == "zalo":
        return _zalo(template, values)
    return _email(template, values)


def placeholders(source: str | None, env=_TEXT_ENV) -> set[str]:
    if not source:
        return set()
    return meta.find_undeclared_variables(env.parse(source))


def check(template: Template, example_values: dict[str, str], *, max_segments: int) -> Rendered:
    """Raise TemplateInvalid unless the template parses, uses only its kind's placeholders, and renders
    against the event's example (SMS within the cap, Zalo within its limits); else the rendering."""
    errors: dict[str, list[str]] = {}
    allowed = set(example_values)
    sources = {"body": template.body, "subject": template.subject, "html": template.html}
    if template.channel != "email":
        for name in ("subject", "html"):
            if sources[name]:
                errors[name] = [f"only email templates have a {name}"]
    for name, source in sources.items():
        if not source or name in errors:
            continue
        try:
            used = placeholders(source, _HTML_ENV if name == "html" else _TEXT_ENV)
        except TemplateError as exc:
            errors[name] = [f"invalid template markup: {exc}"]
            continue
        unknown = sorted(used - allowed)
        if unknown:
            errors[name] = [f"unknown placeholder(s): {', '.join(unknown)}; {template.kind} supplies "
                            f"{', '.join(sorted(allowed))}"]
    if not (template.body or "").strip():
        errors["body"] = ["must not be empty"]
    if template.channel == "email" and not (template.subject or "").strip():
        errors["subject"] = ["an email needs a subject"]
    if template.channel == "zalo":
        if not template.zalo_template_id:
            errors["zalo_template_id"] = ["a Zalo template needs the id Zalo approved it under"]
        names = []
        for param in template.params:
            if not isinstance(param, dict) or param.get("type") not in ZALO_PARAM_LIMITS or \
                    param.get("name") not in allowed:
                errors.setdefault("params", []).append(
                    f"{param!r}: each parameter is {{name: a placeholder of {template.kind}, type: one of "
                    f"{', '.join(ZALO_PARAM_LIMITS)}}}")
            else:
                names.append(param["name"])
        if "body" not in errors and "params" not in errors:
            missing = sorted(placeholders(template.body) - set(names))
            if missing:
                errors["params"] = [f"the body uses {', '.join(missing)}, which are not parameters"]
    elif template.params:
        errors["params"] = ["only Zalo templates have parameters"]
    if errors:
        raise TemplateInvalid(errors)
    try:
        rendered = render(template, example_values, max_segments=max_segments)
    except (TemplateError, Unsendable, TypeError, ValueError) as exc:
        raise TemplateInvalid({"body": [f"does not render against the event's example: {exc}"]}) from None
    if template.channel == "sms" and rendered.segments > max_segments:
        raise TemplateInvalid({"body": [f"the SMS needs {rendered.segments} segments even with every shortenable "
                                        f"value cut; the cap is {max_segments}"]})
    return rendered

