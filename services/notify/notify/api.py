"""Notify's HTTP API: officers' notification history, admins' templates, the gateway's signed receipts."""
from __future__ import annotations

import json

from flask import g
from flask_smorest import Blueprint

from servicekit.auth import officer_required
from servicekit.logs import mask_digits
from servicekit.web import NotFound, current_db, current_settings
from servicekit.webhooks import SIGNATURE_DOC, signed_json

from . import queries, use_cases
from .render import Template, render
from .schemas import (MessageListSchema, MessageQuerySchema, ReceiptResultSchema, ReceiptSchema, TemplateDetailSchema,
                      TemplateListSchema, TemplateQuerySchema, TemplateSchema)

notifications_blp = Blueprint("notifications", __name__, url_prefix="/v1/notifications",
                              description="Thông báo đã gửi cho công dân về một hồ sơ (cán bộ)")
templates_blp = Blueprint("templates", __name__, url_prefix="/v1/templates",
                          description="Mẫu thông báo SMS, Zalo, email (quản trị)")
providers_blp = Blueprint("providers", __name__, url_prefix="/v1/providers",
                          description="Callbacks from the SMS/Zalo gateway")


def _kit():
    return current_settings().kit


def mask_address(channel: str, address: str) -> str:
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return mask_digits(address)


@notifications_blp.get("")
@officer_required(_kit)
@notifications_blp.arguments(MessageQuerySchema, location="query")
@notifications_blp.response(200, MessageListSchema)
def list_notifications(args):
    """Every message about one dossier of the officer's own agency, with its send attempts and the
    gateway's receipts; skipped messages say why. Addresses are masked."""
    with current_db().transaction(readonly=True) as conn:
        rows = queries.list_messages(conn, args["dossier_code"], g.officer["agency"])
        ids = [row.id for row in rows]
        attempts, receipts = {}, {}
        for attempt in queries.list_attempts_of(conn, ids):
            attempts.setdefault(attempt.message_id, []).append(attempt._mapping)
        for receipt in queries.list_receipts(conn, ids):
            receipts.setdefault(receipt.message_id, []).append(receipt._mapping)
    return {"items": [
        {**row._mapping, "message_id": row.id, "to": mask_address(row.channel, row.to_address),
         "delivery_attempts": attempts.get(row.id, []), "receipts": receipts.get(row.id, [])}
        for row in rows
    ]}


@templates_blp.get("")
@officer_required(_kit, "admin")
@templates_blp.arguments(TemplateQuerySchema, location="query")
@templates_blp.response(200, TemplateListSchema)
def list_templates(args):
    """The current template of every event kind and channel."""
    with current_db().transaction(readonly=True) as conn:
        rows = queries.list_templates(conn, args.get("kind"), args.get("channel"))
    return {"items": [Template.from_row(row).as_json() | {"updated_at": row.updated_at, "updated_by": row.updated_by}
                      for row in rows]}


def _detail(conn, kind: str, channel: str) -> dict:
    row = queries.get_template_row(conn, kind, channel)
    if row is None:
        use_cases.event_type_of(kind)  # an unknown kind: NotFound naming the known ones
        raise NotFound(f"no {channel} template for {kind}")
    settings = current_settings()
    template = Template.from_row(row)
    values = use_cases.example_values(kind, settings.portal_url)
    rendered = render(template, values, max_segments=settings.sms_max_segments)
    example = {"text": rendered.text, "subject": rendered.subject, "segments": rendered.segments,
               "params": rendered.params if channel == "zalo" else None}
    versions = [{**version._mapping, "params": json.loads(version.params or "[]")}
                for version in queries.list_template_versions(conn, kind, channel)]
    return {**template.as_json(), "updated_at": row.updated_at, "updated_by": row.updated_by,
            "placeholders": sorted(values), "example": example, "versions": versions}


@templates_blp.get("/<kind>/<channel>")
@officer_required(_kit, "admin")
@templates_blp.response(200, TemplateDetailSchema)
@templates_blp.alt_response(404, description="no such event kind or channel")
def get_template(kind, channel):
    """One template: its text, the placeholders its kind supplies, its rendering of the event's example,
    and every earlier version, newest first."""
    with current_db().transaction(readonly=True) as conn:
        return _detail(conn, kind, channel)


@templates_blp.put("/<kind>/<channel>")
@officer_required(_kit, "admin")
@templates_blp.arguments(TemplateSchema)
@templates_blp.response(200, TemplateDetailSchema)
@templates_blp.alt_response(404, description="no such event kind or channel")
@templates_blp.alt_response(422, description="invalid markup, an unknown placeholder, or it does not render "
                                             "against the event's example (SMS over its cap, Zalo over its limits)")
def put_template(fields, kind, channel):
    """Change a template: checked against the event's example, stored as the next version."""
    settings = current_settings()
    with current_db().transaction() as conn:
        use_cases.save_template(conn, kind, channel, fields, by=g.officer["sub"], portal_url=settings.portal_url,
                                max_segments=settings.sms_max_segments)
        return _detail(conn, kind, channel)


@providers_blp.post("/receipts")
@providers_blp.doc(
    requestBody={"required": True, "content": {"application/json": {"schema": ReceiptSchema}}},
    parameters=[SIGNATURE_DOC],
)
@providers_blp.response(200, ReceiptResultSchema)
@providers_blp.alt_response(401, description="missing, wrong or stale signature")
@providers_blp.alt_response(400, description="body is not a JSON object")
@providers_blp.alt_response(422, description="fields missing or invalid")
def receive_receipt():
    """A delivery receipt: the message becomes delivered or failed; a repeated receipt changes nothing;
    a receipt for an unknown message, or one not in flight, is recorded without effect."""
    receipt = signed_json(current_settings().webhook_secrets, ReceiptSchema())
    with current_db().transaction() as conn:
        result = use_cases.apply_receipt(conn, receipt)
    return {"result": result}
