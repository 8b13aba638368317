"""HTTP request and response schemas: the ops message list and the gateway's delivery receipts."""
from marshmallow import EXCLUDE, Schema, fields, validate

from .models import CHANNELS, STATUSES


class MessageQuerySchema(Schema):
    dossier_code = fields.String(required=True, validate=validate.Length(min=1, max=40))


class MessageSchema(Schema):
    message_id = fields.String()
    dossier_code = fields.String()
    kind = fields.String()
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    to = fields.String(metadata={"description": "masked: only the last 3 digits of a phone number are shown"})
    subject = fields.String(allow_none=True)
    text = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)


class MessageListSchema(Schema):
    items = fields.List(fields.Nested(MessageSchema))


class ReceiptSchema(Schema):
    """What the SMS/Zalo gateway POSTs, signed, once it knows a message's fate."""

    class Meta:
        unknown = EXCLUDE

    event_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    message_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    status = fields.String(required=True, validate=validate.OneOf(("delivered", "failed")))
    at = fields.AwareDateTime(required=True)


class ReceiptResultSchema(Schema):
    result = fields.String(validate=validate.OneOf(("applied", "duplicate", "ignored")))
