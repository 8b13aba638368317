"""HTTP request and response schemas: officers' notification history, admins' templates, gateway receipts."""
from marshmallow import EXCLUDE, Schema, fields, validate

from .models import CHANNELS, STATUSES


class MessageQuerySchema(Schema):
    dossier_code = fields.String(required=True, validate=validate.Length(min=1, max=40))


class AttemptSchema(Schema):
    attempt = fields.Integer()
    started_at = fields.DateTime()
    finished_at = fields.DateTime()
    outcome = fields.String(metadata={"description": "sent | retry | failed"})
    status_code = fields.Integer(allow_none=True, metadata={"description": "HTTP status of the gateway, or SMTP code"})
    error = fields.String(allow_none=True)


class ReceiptViewSchema(Schema):
    event_id = fields.String()
    status = fields.String(metadata={"description": "delivered | failed, as the gateway reported it"})
    at = fields.DateTime()
    received_at = fields.DateTime()
    outcome = fields.String(metadata={"description": "applied, or ignored when the message was not in flight"})


class MessageSchema(Schema):
    message_id = fields.String()
    dossier_code = fields.String()
    kind = fields.String(metadata={"description": "the event type without its version, e.g. dossier.received"})
    occurrence = fields.String(metadata={"description": "supplement request number, payment reference, tracking no."})
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    to = fields.String(metadata={"description": "masked: only the last 3 digits of a phone number are shown"})
    subject = fields.String(allow_none=True)
    text = fields.String()
    segments = fields.Integer(allow_none=True, metadata={"description": "SMS: GSM-7 segments"})
    zalo_template_id = fields.String(allow_none=True)
    template_version = fields.Integer(allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    skip_reason = fields.String(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)
    delivery_attempts = fields.List(fields.Nested(AttemptSchema), metadata={"description": "every send, oldest first"})
    receipts = fields.List(fields.Nested(ReceiptViewSchema))


class MessageListSchema(Schema):
    items = fields.List(fields.Nested(MessageSchema))


class ZaloParamSchema(Schema):
    name = fields.String(required=True)
    type = fields.String(required=True)


class TemplateQuerySchema(Schema):
    kind = fields.String()
    channel = fields.String(validate=validate.OneOf(CHANNELS))


class TemplateSchema(Schema):
    kind = fields.String(dump_only=True)
    channel = fields.String(dump_only=True)
    subject = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=300))
    body = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    html = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=50000))
    zalo_template_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=64))
    params = fields.List(fields.Nested(ZaloParamSchema), load_default=list)
    version = fields.Integer(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    updated_by = fields.String(dump_only=True, allow_none=True)


class TemplateVersionSchema(TemplateSchema):
    created_at = fields.DateTime(dump_only=True)
    created_by = fields.String(dump_only=True)


class TemplateDetailSchema(TemplateSchema):
    placeholders = fields.List(fields.String(), dump_only=True,
                               metadata={"description": "what this kind's templates may use"})
    example = fields.Dict(dump_only=True, metadata={"description": "this template rendered against the "
                                                                    "event's example"})
    versions = fields.List(fields.Nested(TemplateVersionSchema), dump_only=True)


class TemplateListSchema(Schema):
    items = fields.List(fields.Nested(TemplateSchema))


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
