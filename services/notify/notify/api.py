"""Notify's HTTP API: the ops/admin message list, and the gateway's signed delivery receipts."""
from __future__ import annotations

import json

from flask import g, request
from flask_smorest import Blueprint
from marshmallow import ValidationError

from servicekit.auth import officer_required
from servicekit.logs import mask_digits
from servicekit.signing import BadSignature, verify
from servicekit.web import Invalid, Unauthorized, current_db, current_settings

from . import queries, use_cases
from .schemas import MessageListSchema, MessageQuerySchema, ReceiptResultSchema, ReceiptSchema

SIGNATURE_HEADER = "X-Motcua-Signature"

messages_blp = Blueprint("messages", __name__, url_prefix="/v1/messages",
                         description="Tin nhắn đã gửi cho công dân (ops view)")
providers_blp = Blueprint("providers", __name__, url_prefix="/v1/providers",
                          description="Callbacks from the SMS/Zalo gateway")


def _kit():
    return current_settings().kit


def mask_address(channel: str, address: str) -> str:
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return mask_digits(address)


@messages_blp.get("")
@officer_required(_kit, "admin")
@messages_blp.arguments(MessageQuerySchema, location="query")
@messages_blp.response(200, MessageListSchema)
def list_messages(args):
    """Messages sent about one dossier of the admin's agency, with their status; addresses masked."""
    with current_db().transaction(readonly=True) as conn:
        rows = queries.list_messages(conn, args["dossier_code"], g.officer["agency"])
    return {"items": [
        {**row._mapping, "message_id": row.id, "to": mask_address(row.channel, row.to_address)} for row in rows
    ]}


@providers_blp.post("/receipts")
@providers_blp.doc(
    requestBody={"required": True, "content": {"application/json": {"schema": ReceiptSchema}}},
    parameters=[{"in": "header", "name": SIGNATURE_HEADER, "required": True, "schema": {"type": "string"},
                 "description": "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">"}],
)
@providers_blp.response(200, ReceiptResultSchema)
@providers_blp.alt_response(401, description="missing, wrong or stale signature")
def receive_receipt():
    """A delivery receipt: the message becomes delivered or failed; a repeated receipt changes nothing."""
    # The signature covers the raw bytes, so it is checked before anything parses them.
    body = request.get_data(cache=True)
    try:
        verify(request.headers.get(SIGNATURE_HEADER), body, current_settings().webhook_secrets)
    except BadSignature as exc:
        raise Unauthorized(f"invalid signature: {exc}") from None
    try:
        receipt = ReceiptSchema().load(json.loads(body))
    except (ValueError, TypeError):
        raise Invalid("body is not a JSON object") from None
    except ValidationError as exc:
        raise Invalid("invalid receipt", errors={"json": exc.messages}) from None
    with current_db().transaction() as conn:
        result = use_cases.apply_receipt(conn, receipt)
    return {"result": result}
