"""Event types notify consumes (only the fields it reads) and publishes (with schemas and examples)."""
from marshmallow import fields, validate

from servicekit.events import Catalog, EventSchema

CONSUMES = Catalog("notify")
PUBLISHES = Catalog("notify")


class _Procedure(EventSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class _Agency(EventSchema):
    code = fields.String(required=True)
    name = fields.String(load_default="", allow_none=True)


class _Applicant(EventSchema):
    full_name = fields.String(required=True)
    phone = fields.String(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)


class DossierSubmittedSchema(EventSchema):
    code = fields.String(required=True)
    procedure = fields.Nested(_Procedure, required=True)
    agency = fields.Nested(_Agency, required=True)
    applicant = fields.Nested(_Applicant, required=True)
    # Unknown channel names are kept here and skipped later: a channel intake adds tomorrow must not
    # dead-letter today's event.
    notify_channels = fields.List(fields.String(), load_default=list)
    channel = fields.String(load_default="online")
    submitted_at = fields.AwareDateTime(required=True)


CONSUMES.add(
    "dossier.submitted.v1",
    DossierSubmittedSchema,
    example={
        "code": "000.00.06.H56-261124-0001",
        "procedure": {"code": "1.000948.H38", "name": "Đăng ký khai sinh", "level": "full_online",
                      "processing_days": 3, "fee_vnd": 0, "fee_mode": "none", "result_is_paper": True},
        "agency": {"code": "000.00.06.H56", "name": "UBND phường Phúc Yên"},
        "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "id_number": "001190012345",
                      "phone": "84912345678", "email": "anh@example.vn", "address": "12 Trần Phú, Phúc Yên"},
        "delivery": {"method": "counter", "address": None},
        "notify_channels": ["sms", "email"],
        "channel": "online",
        "submitted_at": "2026-11-24T02:00:00.000Z",
        "fees": {"procedure_vnd": 0, "postal_vnd": 0},
    },
    description="renders and stores one message per channel the applicant chose and can receive",
)


class PaymentRequestedSchema(EventSchema):
    # Sized like the messages' own column, so an over-long code is dead-lettered as malformed rather
    # than failing the insert on every retry.
    dossier_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    reference = fields.String(required=True, validate=validate.Length(min=1, max=25))
    amount_vnd = fields.Integer(required=True, validate=validate.Range(min=1))
    expires_at = fields.AwareDateTime(required=True)
    # qr_payload is not read: the message links to intake's rendering of it (an SMS cannot carry an image).


CONSUMES.add(
    "payment.requested.v1",
    PaymentRequestedSchema,
    example={
        "dossier_code": "000.00.06.H56-261124-0001",
        "reference": "MCK7QX2MZP4A",
        "amount_vnd": 50000,
        "qr_payload": (
            "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA53037045405500005802VN"
            "62740125000.00.06.H56-261124-00010512MCK7QX2MZP4A0825Le phi ho so MCK7QX2MZP4A63047B68"
        ),
        "expires_at": "2026-11-27T02:00:00.000Z",
    },
    description="tells the applicant, on the channels they chose at filing, the fee, the reference, the "
                "deadline and the link to the payment QR",
)

_CHANNEL = validate.OneOf(("sms", "zalo", "email"))


class NotificationSentSchema(EventSchema):
    message_id = fields.String(required=True)
    dossier_code = fields.String(required=True)
    kind = fields.String(required=True)
    channel = fields.String(required=True, validate=_CHANNEL)
    attempts = fields.Integer(required=True)
    sent_at = fields.String(required=True)


class NotificationFailedSchema(EventSchema):
    message_id = fields.String(required=True)
    dossier_code = fields.String(required=True)
    kind = fields.String(required=True)
    channel = fields.String(required=True, validate=_CHANNEL)
    attempts = fields.Integer(required=True)
    reason = fields.String(required=True)
    failed_at = fields.String(required=True)


PUBLISHES.add(
    "notification.sent.v1",
    NotificationSentSchema,
    example={
        "message_id": "5f0c6f3e-2b7a-4d43-9a51-0d3c1f6b2a11",
        "dossier_code": "000.00.06.H56-261124-0001",
        "kind": "dossier.submitted",
        "channel": "sms",
        "attempts": 1,
        "sent_at": "2026-11-24T02:00:00.041Z",
    },
    description="the gateway (or SMTP server) accepted the message; delivery is not yet confirmed",
)
PUBLISHES.add(
    "notification.failed.v1",
    NotificationFailedSchema,
    example={
        "message_id": "5f0c6f3e-2b7a-4d43-9a51-0d3c1f6b2a11",
        "dossier_code": "000.00.06.H56-261124-0001",
        "kind": "dossier.submitted",
        "channel": "sms",
        "attempts": 5,
        "reason": "gave up after 5 attempts: HTTP 503",
        "failed_at": "2026-11-24T02:01:02.500Z",
    },
    description="the message will not reach the citizen: refused (4xx), retries exhausted, or a failed receipt",
)
