"""Event types intake publishes (schemas and examples) and consumes (only the fields it reads)."""
from marshmallow import fields, validate

from servicekit.events import Catalog, EventSchema

PUBLISHES = Catalog("intake")
CONSUMES = Catalog("intake")

LEVELS = ("full_online", "partial_online")
FEE_MODES = ("before", "after", "none")
APPLICANT_TYPES = ("citizen", "business", "agency", "organisation")
DELIVERY_METHODS = ("counter", "post")
NOTIFY_CHANNELS = ("sms", "zalo", "email")
CHANNELS = ("online", "counter")

_money = validate.Range(min=0)


class SubmittedProcedureSchema(EventSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    processing_days = fields.Integer(required=True, validate=validate.Range(min=0))
    fee_vnd = fields.Integer(required=True, validate=_money)
    fee_mode = fields.String(required=True, validate=validate.OneOf(FEE_MODES))
    result_is_paper = fields.Boolean(required=True)


class SubmittedAgencySchema(EventSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class SubmittedApplicantSchema(EventSchema):
    type = fields.String(required=True, validate=validate.OneOf(APPLICANT_TYPES))
    full_name = fields.String(required=True)
    id_number = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True, validate=validate.Regexp(r"^84\d{9}$"))
    email = fields.String(required=True, allow_none=True)
    address = fields.String(required=True)


class SubmittedAddressSchema(EventSchema):
    street = fields.String(required=True)
    commune = fields.String(required=True)
    province = fields.String(required=True)
    recipient_name = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True, validate=validate.Regexp(r"^84\d{9}$"))


class SubmittedDeliverySchema(EventSchema):
    method = fields.String(required=True, validate=validate.OneOf(DELIVERY_METHODS))
    address = fields.Nested(SubmittedAddressSchema, required=True, allow_none=True)  # null for counter


class SubmittedFeesSchema(EventSchema):
    procedure_vnd = fields.Integer(required=True, validate=_money)
    postal_vnd = fields.Integer(required=True, validate=_money)


class DossierSubmittedSchema(EventSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^.+-\d{6}-\d{4,}$"))
    procedure = fields.Nested(SubmittedProcedureSchema, required=True)
    agency = fields.Nested(SubmittedAgencySchema, required=True)
    applicant = fields.Nested(SubmittedApplicantSchema, required=True)
    delivery = fields.Nested(SubmittedDeliverySchema, required=True)
    notify_channels = fields.List(fields.String(validate=validate.OneOf(NOTIFY_CHANNELS)), required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    submitted_at = fields.AwareDateTime(required=True)
    fees = fields.Nested(SubmittedFeesSchema, required=True)


DOSSIER_SUBMITTED_EXAMPLE = {
    "code": "000.00.06.H56-261124-0001",
    "procedure": {"code": "1.001193.H56", "name": "Đăng ký khai sinh", "level": "full_online",
                  "processing_days": 1, "fee_vnd": 0, "fee_mode": "none", "result_is_paper": True},
    "agency": {"code": "000.00.06.H56", "name": "UBND phường Phúc Yên"},
    "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "id_number": "001190012345",
                  "phone": "84912345678", "email": "anh@example.vn", "address": "12 Trần Phú, phường Phúc Yên, Phú Thọ"},
    "delivery": {"method": "post", "address": {"street": "12 Trần Phú", "commune": "Phường Phúc Yên",
                 "province": "Phú Thọ", "recipient_name": "Đặng Thị Ngọc Ánh", "phone": "84912345678"}},
    "notify_channels": ["sms"],
    "channel": "online",
    "submitted_at": "2026-11-24T02:00:00.000Z",
    "fees": {"procedure_vnd": 0, "postal_vnd": 10000},
}


DOSSIER_SUBMITTED = PUBLISHES.add(
    "dossier.submitted.v1",
    DossierSubmittedSchema,
    DOSSIER_SUBMITTED_EXAMPLE,
    (
        "A citizen, business or clerk filed a dossier (national status 1, 'Mới đăng ký'). Published once per "
        "dossier, in the filing transaction; subject = dossier code. Carries what every consumer needs to act "
        "without calling intake: the procedure as it stood at filing (deadline, fee and fee mode, paper result), "
        "the receiving agency, the applicant (phone in 84… form or null, email or null), delivery (address null "
        "for counter), the chosen notification channels, the channel (online | counter) and the fees quoted at "
        "filing (procedure fee, and the citizen's price for return by post)."
    ),
)


# ---- consumed: other services' news of a dossier, for the citizen's view ----------------------------------
# Lengths are those of intake's columns: a value that cannot be stored is dead-lettered as malformed at
# once, instead of failing the insert on every retry.
_DOSSIER_CODE = validate.Length(min=1, max=40)


class PaymentRequestedSchema(EventSchema):
    dossier_code = fields.String(required=True, validate=_DOSSIER_CODE)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    amount_vnd = fields.Integer(required=True, strict=True, validate=_money)
    qr_payload = fields.String(required=True, validate=validate.Length(min=1))
    expires_at = fields.AwareDateTime(required=True)


class ShipmentCreatedSchema(EventSchema):
    dossier_code = fields.String(required=True, validate=_DOSSIER_CODE)
    tracking_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    # Not an enum: a service intake does not know is stored and kept out of the view, not dead-lettered.
    service = fields.String(required=True, validate=validate.Length(min=1, max=20))
    status = fields.String(required=True, validate=validate.Length(min=1, max=30))


PAYMENT_REQUESTED = CONSUMES.add(
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
    description="shows the citizen the fee to pay and its QR (payment: pending) and notes the request in the timeline",
)

SHIPMENT_CREATED = CONSUMES.add(
    "shipment.created.v1",
    ShipmentCreatedSchema,
    example={
        "dossier_code": "000.00.06.H56-261124-0001",
        "tracking_no": "MC000000014VN",
        "service": "return",
        "status": "awaiting_result",
    },
    description="shows the citizen the tracking number and status of the return of the result by post (delivery)",
)
